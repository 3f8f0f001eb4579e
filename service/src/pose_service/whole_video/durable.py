"""A job's life on disk: recorded when accepted, its input removed when it ends, resumed or
failed with the reason after a restart (the runner's :class:`~.jobs.JobEvents`).

The job table is ``job_store``'s, the inputs ``uploads``'; this is where the two meet the job
runner, so each of them keeps one job. Without a store (a state directory that cannot be
written) jobs run in memory only, and their inputs are still removed when they end.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..observability import get_logger
from .job_store import JobRecord, JobStore
from .jobs import Job
from .uploads import UploadSpace

log = get_logger("pose_service.jobs")
LIMIT = "POSE_SERVICE_JOB_MAX_STARTS"


@dataclass(frozen=True)
class JobSpec:
    """What a job runs from, enough to run it again in another process: how (``kind``, one of
    ``videos.JOB_KINDS``), its input file and the kind's parameters."""

    kind: str
    input_path: str | None
    params: dict[str, Any] = field(default_factory=dict)


class StartedTooOften(RuntimeError):
    """The job was cut short by a stop or a crash as many times as allowed: it fails."""


@dataclass
class Recovered:
    """What the store held at start: jobs to run again, and finished ones still answered."""

    resume: list[Job]
    finished: list[Job]


class DurableJobs:
    """The job runner's events, kept in ``store`` (None: memory only) and ``uploads``."""

    def __init__(self, store: JobStore | None, uploads: UploadSpace, max_starts: int) -> None:
        self.store = store
        self.uploads = uploads
        self.max_starts = max_starts

    def queued(self, job: Job) -> None:
        spec: JobSpec = job.spec
        if self.store is not None:
            record = JobRecord(job.job_id, spec.kind, spec.input_path, spec.params, job.total,
                               created=job.created)  # fmt: skip
            self._write("queued", job, lambda: self.store.add(record))

    def started(self, job: Job) -> None:
        if self.store is None:
            return
        starts = self._write("started", job, lambda: self.store.started(job.job_id))
        if starts is not None and starts > self.max_starts:
            raise StartedTooOften(
                f"the service stopped or crashed during this job {starts - 1} times; it is not "
                f"started again ({LIMIT}={self.max_starts})"
            )

    def ended(self, job: Job, status: str, error: str | None) -> None:
        spec: JobSpec | None = job.spec
        try:
            if self.store is not None:
                self._write("ended", job, lambda: self.store.finished(
                    job.job_id, status, error, job.result, job.finished or time.time()
                ))  # fmt: skip
        finally:
            self.uploads.remove(spec.input_path if spec else None)

    def interrupted(self, job: Job) -> None:
        if self.store is not None:
            self._write("interrupted", job, lambda: self.store.requeued(job.job_id))

    def forgotten(self, job: Job) -> None:
        if self.store is not None:
            self._write("forgotten", job, lambda: self.store.forget(job.job_id))

    @staticmethod
    def _write(step: str, job: Job, write: Callable[[], Any]) -> Any:
        """One write to the job table. A failure (a full or broken disk) is logged and the job
        goes on in memory: never the job's failure, nor the request's, nor the stop's."""
        try:
            return write()
        except sqlite3.Error as exc:
            log.error("job_not_recorded", job=job.job_id, step=step,
                      error=f"{type(exc).__name__}: {exc}",
                      job_kept="in memory only: a restart may lose or repeat it")  # fmt: skip
            return None

    def recover(self, result_ttl_s: float, max_results: int, kinds: tuple[str, ...]) -> Recovered:
        """The store's jobs at start: each active one with its input to resume, one without
        (or of a kind this service does not run) failed with the reason; every file in the
        uploads directory no resumed job claims is deleted."""
        records = [] if self.store is None else self.store.load(
            result_ttl_s, max_results, time.time()
        )  # fmt: skip
        recovered = Recovered([], [])
        for record in records:
            job = _job(record)
            if record.finished is not None:
                recovered.finished.append(job)
                continue
            problem = _why_not_resumable(record, kinds)
            if problem is None:
                recovered.resume.append(job)
                continue
            job.status, job.error, job.finished = "failed", problem, time.time()
            log.error("job_failed", job=job.job_id, error=problem, after="a restart")
            self.ended(job, job.status, job.error)
            recovered.finished.append(job)
        self.uploads.keep_only(j.spec.input_path for j in recovered.resume if j.spec.input_path)
        return recovered


def _job(record: JobRecord) -> Job:
    job = Job(record.job_id, record.total, status=record.status, error=record.error,
              result=record.result, created=record.created, finished=record.finished,
              spec=JobSpec(record.kind, record.input_path, record.params))  # fmt: skip
    if record.status == "done" and record.total is not None:
        job.done = record.total
    return job


def _why_not_resumable(record: JobRecord, kinds: tuple[str, ...]) -> str | None:
    if record.kind not in kinds:
        return f"the job's kind {record.kind!r} is not one this service runs ({list(kinds)})"
    if record.input_path is None or not os.path.isfile(record.input_path):
        return (
            "the service restarted during this job and its input is gone "
            f"({record.input_path}); send the video again"
        )
    return None
