"""Background jobs for whole videos (``POST /pose/video``): a bounded queue, fixed workers.

A job estimates its frames a few at a time through the pipeline's FIFO gate (so a long video
never holds the model for more than one pass), tracks the main person, then fills and smooths
the whole track (``tracking.offline``). At most ``max_jobs`` jobs are queued or running: one
more is refused (:class:`JobsFull`, a 503 with Retry-After), never accepted and then dropped.
``workers`` threads run them in order. A finished job's result is kept ``result_ttl_s`` seconds,
and at most ``max_results`` of them (the oldest finished go first); a job still queued or
running is never evicted.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..observability import get_logger
from ..types import Frame

log = get_logger("pose_service.jobs")
ACTIVE = ("queued", "running")


class JobsFull(RuntimeError):
    """As many jobs as allowed are queued or running: try again later."""


@dataclass
class Job:
    """One whole-video job and where it stands."""

    job_id: str
    total: int | None  # frames, when known up front
    status: str = "queued"  # queued | running | done | failed
    done: int = 0
    error: str | None = None
    exception: Exception | None = None  # what made it fail (without its tracebacks)
    result: Any = None
    output: Any = None  # where a job that renders its frames put them (``overlay``)
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    _settled: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait until the job is done or failed (True), or ``timeout_s`` passed (False)."""
        return self._settled.wait(timeout_s)

    def describe(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "job_id": self.job_id,
            "status": self.status,
            "frames_done": self.done,
            "frames_total": self.total,
            "progress": round(self.done / self.total, 4) if self.total else None,
        }
        if self.error:
            body["error"] = self.error
        if self.status == "done":
            body["result"] = self.result
        return body


Work = Callable[[Job, Iterable[Frame]], Any]


class JobRunner:
    """A queue of at most ``max_jobs`` waiting or running jobs, run by ``workers`` threads."""

    def __init__(
        self, max_jobs: int = 8, workers: int = 1, result_ttl_s: float = 600.0,
        max_results: int = 32,
    ) -> None:  # fmt: skip
        self.max_jobs = max_jobs
        self.result_ttl_s = result_ttl_s
        self.max_results = max_results
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[Job, Iterable[Frame], Work]] = queue.SimpleQueue()
        self._counter = itertools.count(1)
        self._prefix = uuid.uuid4().hex[:6]
        self._workers = [
            threading.Thread(target=self._work, name=f"job-worker-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._workers:
            thread.start()

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            self._expire(time.time())
            return self._jobs.get(job_id)

    def active(self) -> int:
        """Jobs queued or running."""
        with self._lock:
            return sum(job.status in ACTIVE for job in self._jobs.values())

    def counts(self) -> dict[str, int]:
        """Jobs still known, by status (finished ones until they expire)."""
        with self._lock:
            return dict(Counter(job.status for job in self._jobs.values()))

    def submit(self, frames: Iterable[Frame], total: int | None, work: Work) -> Job:
        """Queue ``work(job, frames)``; raises :class:`JobsFull` when ``max_jobs`` are active."""
        with self._lock:
            self._expire(time.time())
            active = sum(job.status in ACTIVE for job in self._jobs.values())
            if active >= self.max_jobs:
                raise JobsFull(f"{active} jobs are queued or running (limit {self.max_jobs})")
            job = Job(f"j-{self._prefix}-{next(self._counter)}", total)
            self._jobs[job.job_id] = job
        self._queue.put((job, frames, work))
        return job

    def _expire(self, now: float) -> None:
        """Forget finished jobs past their time, and the oldest beyond ``max_results``."""
        finished = [job for job in self._jobs.values() if job.finished is not None]
        finished.sort(key=lambda job: job.finished or 0.0)
        surplus = len(finished) - self.max_results
        for index, job in enumerate(finished):
            if index < surplus or now - (job.finished or now) > self.result_ttl_s:
                del self._jobs[job.job_id]

    def _work(self) -> None:
        while True:
            job, frames, work = self._queue.get()
            self._run(job, frames, work)

    def _run(self, job: Job, frames: Iterable[Frame], work: Work) -> None:
        job.status, job.started = "running", time.time()
        start = time.perf_counter()
        try:
            job.result = work(job, frames)
            job.status = "done"
        except Exception as exc:  # noqa: BLE001 - reported on GET /jobs/<id>
            job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"
            job.exception = _without_tracebacks(exc)
            log.error("job_failed", job=job.job_id, error=job.error)
        job.finished = time.time()
        job._settled.set()
        log.info(
            "job_finished",
            job=job.job_id,
            status=job.status,
            frames=job.done,
            seconds=round(time.perf_counter() - start, 2),
        )


def _without_tracebacks(exc: Exception) -> Exception:
    """The exception with its tracebacks, and its causes', dropped: a failed job is kept a
    while, and a traceback keeps every frame's locals alive (a video's decoded pixels)."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        link.__traceback__ = None
        link = link.__cause__ or link.__context__
    return exc
