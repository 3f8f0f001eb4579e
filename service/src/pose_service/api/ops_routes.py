"""The operator's routes: ``GET /livez``, ``GET /readyz``, ``GET /metrics``; and the hooks that
hand every request's route, status and time to ``metrics`` (the counting lives there).

None of them waits for the model: ``/readyz`` reads the pipeline's status and draining flag
(what ``/health``'s ``ready`` is made of), ``/metrics`` reads counters and short-held state.
``/health`` keeps its own contract (``docs/contract.md``) and is unchanged.
"""

from __future__ import annotations

import time

import orjson
from flask import Blueprint, Flask, Response, current_app, g, request

from .. import __version__, metrics
from ..pipeline import PosePipeline
from ..whole_video import WholeVideoService
from . import context

bp = Blueprint("ops", __name__)
PROBE_PATHS = frozenset({"/livez", "/readyz", "/metrics"})
UNMATCHED_ROUTE = "unmatched"  # the route label of a request no URL rule matched (a 404)


@bp.get("/livez")
def livez() -> Response:
    """200 whenever the process answers (whatever the model's state)."""
    return current_app.json.response({"status": "alive"})


@bp.get("/readyz")
def readyz() -> Response:
    """200 once the model is loaded and its warm-up pass ran, 503 with the reason before that,
    after a failed load, and from SIGTERM on (draining)."""
    ready, status, reason = context.pipeline().readiness()
    body: dict[str, object] = {"ready": ready, "status": status}
    if reason is not None:
        body["reason"] = reason
    response = current_app.json.response(body)
    response.status_code = 200 if ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    """Prometheus' text exposition format (OpenMetrics when the scraper asks for it)."""
    registry = current_app.extensions["pose_metrics"]
    body, content_type = metrics.exposition(registry, request.headers.get("Accept"))
    return current_app.response_class(body, content_type=content_type)


def service_state(pipeline: PosePipeline, videos: WholeVideoService) -> metrics.ServiceState:
    """What a scrape reports of the service's own state (plain attributes; the job table's
    short-held lock only)."""
    gate = pipeline.gate
    ready, _, _ = pipeline.readiness()
    return metrics.ServiceState(
        version=__version__,
        estimator=pipeline.estimator.name,
        status=pipeline.status,
        ready=ready,
        draining=pipeline.draining or gate.closed,
        sessions=len(pipeline.router),
        queue_waiting=gate.waiting,
        queue_busy=gate.busy,
        queue_capacity=gate.capacity,
        model_turns=gate.served,
        queue_refused=gate.refused,
        jobs=videos.job_counts(),
    )


def install_metrics(app: Flask) -> None:
    """Give ``app`` its metrics registry (``/metrics`` serves it)."""
    pipeline = app.extensions[context.PIPELINE_KEY]
    videos = app.extensions[context.VIDEOS_KEY]
    app.extensions["pose_metrics"] = metrics.registry_for(lambda: service_state(pipeline, videos))


@bp.before_app_request
def _start_clock() -> None:
    g.metrics_start = time.perf_counter()


@bp.after_app_request
def _count_request(response: Response) -> Response:
    start = g.get("metrics_start")
    seconds = time.perf_counter() - start if start is not None else 0.0
    rule = request.url_rule
    route = rule.rule if rule is not None else UNMATCHED_ROUTE
    metrics.observe_request(route, request.method, response.status_code, seconds)
    if response.status_code >= 400:
        code = _error_code(response)
        if code is not None:
            metrics.count_refusal(code)
    return response


def _error_code(response: Response) -> str | None:
    """The ``code`` of an error answer's JSON body (every error answer has one; a ``/readyz``
    503 is a probe's answer, not a refusal, and has none)."""
    if response.mimetype != "application/json" or response.is_streamed:
        return None
    try:
        body = orjson.loads(response.get_data())
    except orjson.JSONDecodeError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None
