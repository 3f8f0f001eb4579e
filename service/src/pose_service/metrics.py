"""Prometheus metrics (``GET /metrics``), counted where the service's work happens.

Two kinds of figures, one implementation of each:

- **Events** (requests, refusals, frames by source, queue waits, model passes) are counted here,
  by the module-level metrics below, fed from the pipeline and the API's request hooks.
- **State** that the service already keeps for ``/health`` (live sessions, the FIFO gate's
  queue and its served/refused counters, jobs, readiness) is *read* at scrape time by
  :class:`StateCollector` through a ``read`` callable: no second counter of the same thing.

One gunicorn worker process serves the service (``server.gunicorn_conf.workers = 1``: one model
instance per GPU), so every figure lives in that process and prometheus_client's multiprocess
mode is not needed (``PROMETHEUS_MULTIPROC_DIR`` must stay unset: it would switch the client to
files in a directory this process never cleans).

A scrape reads plain attributes and takes only short-held locks (the job table's); it never
waits for the model's gate or the session router's lock, so it answers while the model loads
or runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from .observability import cuda_memory_bytes

PREFIX = "pose_service"
# No ``*_created`` series (a timestamp per label set, twice the lines for little use); this is
# the client library's process-wide switch, and this process is the service's.
disable_created_metrics()

# Where a streamed frame's pose came from (the tracker decides; see ``frame_source``).
FRAME_SOURCES = ("detected", "rescued", "predicted", "interpolated", "none")

# Buckets in seconds: a frame's request is ~10 ms (lite, replay) to ~0.3 s (hmr2 on a GPU) and
# up to the 120 s the backend waits; a queue wait is 0 when the model is free.
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)
_PASS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_WAIT_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# Not registered anywhere at import: each app's registry (``registry_for``) collects them, so
# tests that build many apps in one process never register a name twice.
REQUESTS = Counter(
    f"{PREFIX}_http_requests",
    "HTTP requests answered, by route (the URL rule), method and status code.",
    ["route", "method", "status"],
    registry=None,
)
REQUEST_SECONDS = Histogram(
    f"{PREFIX}_http_request_duration_seconds",
    "Time from a request's arrival in the app to its answer, by route, method and status code.",
    ["route", "method", "status"],
    buckets=_REQUEST_BUCKETS,
    registry=None,
)
REFUSALS = Counter(
    f"{PREFIX}_refusals",
    "Error answers (4xx/5xx), by the machine code of the error body.",
    ["code"],
    registry=None,
)
FRAMES = Counter(
    f"{PREFIX}_frames",
    "Streamed frames answered (POST /pose/hybrid), by where the pose came from: detected, "
    "rescued (found by a second look where the track predicted the person), predicted or "
    "interpolated by the track, or none.",
    ["source"],
    registry=None,
)
QUEUE_WAIT_SECONDS = Histogram(
    f"{PREFIX}_queue_wait_seconds",
    "Time a streamed frame waited in the FIFO queue for its turn with the model.",
    buckets=_WAIT_BUCKETS,
    registry=None,
)
MODEL_PASS_SECONDS = Histogram(
    f"{PREFIX}_model_pass_seconds",
    "Time of one model pass (one turn's frames: streamed or a whole-video job's), by kind.",
    ["kind"],
    buckets=_PASS_BUCKETS,
    registry=None,
)
_EVENTS = (REQUESTS, REQUEST_SECONDS, REFUSALS, FRAMES, QUEUE_WAIT_SECONDS, MODEL_PASS_SECONDS)

for _source in FRAME_SOURCES:  # every source shows from the first scrape, at 0
    FRAMES.labels(source=_source)
for _kind in ("stream", "job"):
    MODEL_PASS_SECONDS.labels(kind=_kind)


def frame_source(source: str | None, flags: list[str]) -> str:
    """The ``source`` label of a tracked frame: the tracker's source, ``rescued`` for a
    detection found by a second look, ``none`` for a frame without a pose."""
    if source is None:
        return "none"
    if source == "detected" and "rescued" in flags:
        return "rescued"
    return source


def count_frame(source: str | None, flags: list[str]) -> None:
    FRAMES.labels(source=frame_source(source, flags)).inc()


def observe_queue_wait(seconds: float) -> None:
    QUEUE_WAIT_SECONDS.observe(seconds)


def observe_model_pass(seconds: float, kind: str = "stream") -> None:
    MODEL_PASS_SECONDS.labels(kind=kind).observe(seconds)


def count_refusal(code: str) -> None:
    REFUSALS.labels(code=code).inc()


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    labels = {"route": route, "method": method, "status": str(status)}
    REQUESTS.labels(**labels).inc()
    REQUEST_SECONDS.labels(**labels).observe(seconds)


@dataclass(frozen=True)
class ServiceState:
    """What the service already keeps, as a scrape reads it (see :class:`StateCollector`)."""

    version: str
    estimator: str
    status: str  # the pipeline's: warming_up | ready | not_ready
    ready: bool  # what /readyz answers 200 for
    draining: bool
    sessions: int
    queue_waiting: int
    queue_busy: bool
    queue_capacity: int
    model_turns: int  # the gate's served counter
    queue_refused: int  # the gate's refused counter
    jobs: Mapping[str, int] = field(default_factory=dict)  # status -> jobs still known


JOB_STATUSES = ("queued", "running", "done", "failed")
PIPELINE_STATUSES = ("warming_up", "ready", "not_ready")


class StateCollector(Collector):
    """Gauges and counters read, at scrape time, from the state ``read`` returns."""

    def __init__(self, read: Callable[[], ServiceState]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        state = self._read()
        info = GaugeMetricFamily(
            f"{PREFIX}_build_info",
            "Always 1; the service's version and estimator as labels.",
            labels=["version", "estimator"],
        )
        info.add_metric([state.version, state.estimator], 1)
        yield info
        status = GaugeMetricFamily(
            f"{PREFIX}_model_status",
            "1 for the model's current status (warming_up, ready, not_ready), 0 for the others.",
            labels=["status"],
        )
        for name in PIPELINE_STATUSES:
            status.add_metric([name], 1 if state.status == name else 0)
        yield status
        yield GaugeMetricFamily(
            f"{PREFIX}_ready", "1 when /readyz answers 200.", value=1 if state.ready else 0
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_draining", "1 once the service is shutting down.", value=int(state.draining)
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_sessions", "Live streaming sessions (tracked videos).", value=state.sessions
        )
        jobs = GaugeMetricFamily(
            f"{PREFIX}_jobs", "Whole-video jobs the service still knows, by status.",
            labels=["status"],
        )  # fmt: skip
        for name in JOB_STATUSES:
            jobs.add_metric([name], state.jobs.get(name, 0))
        yield jobs
        yield GaugeMetricFamily(
            f"{PREFIX}_queue_waiting", "Requests waiting for the model.", value=state.queue_waiting
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_queue_capacity",
            "Requests that may wait for the model before new ones are refused.",
            value=state.queue_capacity,
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_model_busy", "1 while a turn holds the model.", value=int(state.queue_busy)
        )
        yield CounterMetricFamily(
            f"{PREFIX}_model_turns",
            "Turns the model's FIFO gate has served (streamed frames' turns, job passes, saves).",
            value=state.model_turns,
        )
        yield CounterMetricFamily(
            f"{PREFIX}_queue_refused",
            "Turns the FIFO gate refused (queue full or waited too long).",
            value=state.queue_refused,
        )
        memory = cuda_memory_bytes()
        if memory is not None:
            yield GaugeMetricFamily(
                f"{PREFIX}_gpu_memory_allocated_bytes",
                "GPU memory held by torch's tensors in this process.",
                value=memory["allocated"],
            )
            yield GaugeMetricFamily(
                f"{PREFIX}_gpu_memory_reserved_bytes",
                "GPU memory torch's caching allocator reserved in this process.",
                value=memory["reserved"],
            )


def registry_for(read: Callable[[], ServiceState]) -> CollectorRegistry:
    """One app's registry: the process's event metrics, its state, the process's figures."""
    registry = CollectorRegistry()
    for metric in _EVENTS:
        registry.register(metric)
    registry.register(StateCollector(read))
    ProcessCollector(registry=registry)  # process_cpu_seconds_total, process_resident_memory_bytes
    return registry


def exposition(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """The registry in the format the scraper's ``Accept`` header asks for (Prometheus' text
    format unless it asks for OpenMetrics), and that format's content type."""
    encode, content_type = choose_encoder(accept or "")
    return encode(registry), content_type
