"""Background jobs for whole videos (``POST /pose/video``): one thread per job, bounded memory.

A job estimates its frames one by one through the pipeline's FIFO gate (so a long video never
holds the model for more than one frame at a time), tracks the main person, then fills and
smooths the whole track (``tracking.offline``). Finished jobs are kept, newest ``max_jobs``.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .observability import get_logger
from .types import Frame

log = get_logger("pose_service.jobs")


@dataclass
class Job:
    """One whole-video job and where it stands."""

    job_id: str
    total: int | None  # frames, when known up front
    status: str = "queued"  # queued | running | done | failed
    done: int = 0
    error: str | None = None
    result: Any = None
    created: float = field(default_factory=time.time)
    finished: float | None = None

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


class JobRunner:
    """Starts jobs in daemon threads and keeps the newest ``max_jobs`` of them."""

    def __init__(self, max_jobs: int = 8) -> None:
        self.max_jobs = max_jobs
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self._prefix = uuid.uuid4().hex[:6]

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def submit(
        self,
        frames: Iterable[Frame],
        total: int | None,
        work: Callable[[Job, Iterable[Frame]], Any],
    ) -> Job:
        """Register a job and run ``work(job, frames)`` in the background."""
        job = Job(f"j-{self._prefix}-{next(self._counter)}", total)
        with self._lock:
            self._jobs[job.job_id] = job
            while len(self._jobs) > self.max_jobs:
                self._jobs.popitem(last=False)
        thread = threading.Thread(
            target=self._run, args=(job, frames, work), name=job.job_id, daemon=True
        )
        thread.start()
        return job

    def _run(self, job: Job, frames: Iterable[Frame], work: Callable[..., Any]) -> None:
        job.status = "running"
        start = time.perf_counter()
        try:
            job.result = work(job, frames)
            job.status = "done"
        except Exception as exc:  # noqa: BLE001 - reported on GET /jobs/<id>
            job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"
            log.error("job_failed", job=job.job_id, error=job.error)
        job.finished = time.time()
        log.info(
            "job_finished",
            job=job.job_id,
            status=job.status,
            frames=job.done,
            seconds=round(time.perf_counter() - start, 2),
        )
