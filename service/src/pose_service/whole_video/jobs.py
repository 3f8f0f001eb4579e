"""Background jobs for whole videos (``POST /pose/video``): a bounded queue, fixed workers.

A job estimates its frames a few at a time through the pipeline's FIFO gate (so a long video
never holds the model for more than one pass), tracks the main person, then fills and smooths
the whole track (``tracking.offline``). At most ``max_jobs`` jobs are queued or running: one
more is refused (:class:`JobsFull`, a 503 with Retry-After), never accepted and then dropped.
``workers`` threads run them in order. A finished job's result is kept ``result_ttl_s`` seconds,
and at most ``max_results`` of them (the oldest finished go first); a job still queued or
running is never evicted.

What else a job's life means (kept on disk, its input removed) is told to the runner's
:class:`JobEvents` (``videos.DurableJobs``); the runner only schedules. Ids are random
(``new_job_id``), so they stay unique across restarts. After :meth:`JobRunner.stop` (a graceful
stop) a job that then fails, and every job not yet started, is *interrupted*: logged
``job_interrupted``, told to the events, neither failed nor removed: it resumes on the next start.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..observability import get_logger
from ..types import Frame

log = get_logger("pose_service.jobs")
ACTIVE = ("queued", "running")


def new_job_id() -> str:
    """A job id no other job of this state directory has had, restarts included."""
    return f"j-{uuid.uuid4().hex[:16]}"


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
    spec: Any = None  # what the job runs again from after a restart (``videos.JobSpec``)
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


class JobEvents(Protocol):
    """What a job's life means beyond scheduling (kept on disk, its input removed)."""

    def queued(self, job: Job) -> None: ...  # accepted; raising refuses the job
    def started(self, job: Job) -> None: ...  # a worker took it; raising fails it
    def ended(self, job: Job, status: str, error: str | None) -> None: ...  # done or failed,
    # told before clients see it: a job seen ended has released what it held (its input)
    def interrupted(self, job: Job) -> None: ...  # a graceful stop caught it: it resumes
    def forgotten(self, job: Job) -> None: ...  # its result expired


class NoEvents:
    """Scheduling only (tests, a service whose state directory cannot be written)."""

    def queued(self, job: Job) -> None:
        pass

    def started(self, job: Job) -> None:
        pass

    def ended(self, job: Job, status: str, error: str | None) -> None:
        pass

    def interrupted(self, job: Job) -> None:
        pass

    def forgotten(self, job: Job) -> None:
        pass


class JobRunner:
    """A queue of at most ``max_jobs`` waiting or running jobs, run by ``workers`` threads."""

    def __init__(
        self, max_jobs: int = 8, workers: int = 1, result_ttl_s: float = 600.0,
        max_results: int = 32, events: JobEvents | None = None,
    ) -> None:  # fmt: skip
        self.max_jobs = max_jobs
        self.events: JobEvents = events or NoEvents()
        self._stopping = threading.Event()
        self.result_ttl_s = result_ttl_s
        self.max_results = max_results
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[Job, Iterable[Frame], Work]] = queue.SimpleQueue()
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

    def submit(
        self, frames: Iterable[Frame], total: int | None, work: Work, spec: Any = None
    ) -> Job:
        """Queue ``work(job, frames)``; raises :class:`JobsFull` when ``max_jobs`` are active
        (and whatever ``events.queued`` raises: the job is then not accepted)."""
        with self._lock:
            self._expire(time.time())
            active = sum(job.status in ACTIVE for job in self._jobs.values())
            if active >= self.max_jobs:
                raise JobsFull(f"{active} jobs are queued or running (limit {self.max_jobs})")
            job = Job(new_job_id(), total, spec=spec)
            self.events.queued(job)
            self._jobs[job.job_id] = job
        self._queue.put((job, frames, work))
        return job

    def hold(self, job: Job) -> None:
        """Answer for a job an earlier process accepted and did not finish, as queued, until
        :meth:`resume` runs it (never refused: it was accepted once)."""
        job.status = "queued"
        with self._lock:
            self._jobs[job.job_id] = job

    def resume(self, job: Job, frames: Iterable[Frame], work: Work) -> None:
        """Queue a held job for the workers."""
        self.hold(job)
        self._queue.put((job, frames, work))

    def restore(self, job: Job) -> None:
        """Answer for a job an earlier process finished, until its result expires."""
        job._settled.set()
        with self._lock:
            self._jobs[job.job_id] = job

    def stop(self) -> None:
        """A graceful stop: the jobs not finished are interrupted (logged, told to the events)
        and resume on the next start; a worker takes no new job from now on."""
        self._stopping.set()
        with self._lock:
            active = [job for job in self._jobs.values() if job.status in ACTIVE]
        for job in active:
            self._interrupt(job)

    def _interrupt(self, job: Job) -> None:
        log.warning("job_interrupted", job=job.job_id, status=job.status, frames=job.done,
                    resumes="on the next start")  # fmt: skip
        self.events.interrupted(job)

    def _expire(self, now: float) -> None:
        """Forget finished jobs past their time, and the oldest beyond ``max_results``."""
        finished = [job for job in self._jobs.values() if job.finished is not None]
        finished.sort(key=lambda job: job.finished or 0.0)
        surplus = len(finished) - self.max_results
        for index, job in enumerate(finished):
            if index < surplus or now - (job.finished or now) > self.result_ttl_s:
                del self._jobs[job.job_id]
                self.events.forgotten(job)

    def _work(self) -> None:
        while True:
            job, frames, work = self._queue.get()
            if self._stopping.is_set():
                continue  # interrupted by stop(): it stays queued on disk
            self._run(job, frames, work)

    def _run(self, job: Job, frames: Iterable[Frame], work: Work) -> None:
        job.status, job.started = "running", time.time()
        start = time.perf_counter()
        status, error = "done", None
        try:
            self.events.started(job)
            job.result = work(job, frames)  # shown once the status says done
        except Exception as exc:  # noqa: BLE001 - reported on GET /jobs/<id>
            if self._stopping.is_set():  # the stop cut it short (stop() logged it)
                return
            status, error = "failed", f"{type(exc).__name__}: {exc}"
            job.exception = _without_tracebacks(exc)
            log.error("job_failed", job=job.job_id, error=error)
        job.finished = time.time()
        self._ended(job, status, error)
        job.status, job.error = status, error  # published after its end was told
        job._settled.set()
        log.info(
            "job_finished",
            job=job.job_id,
            status=job.status,
            frames=job.done,
            seconds=round(time.perf_counter() - start, 2),
        )

    def _ended(self, job: Job, status: str, error: str | None) -> None:
        try:
            self.events.ended(job, status, error)
        except Exception as exc:  # noqa: BLE001 - the job's answer stands in memory
            log.error("job_end_not_recorded", job=job.job_id,
                      error=f"{type(exc).__name__}: {exc}")  # fmt: skip


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
