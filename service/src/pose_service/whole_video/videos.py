"""Whole-video work behind ``POST /pose/video``, ``GET /jobs/<id>`` and ``GET /sessions/<id>``.

:class:`WholeVideos` is what the API calls: it admits or refuses a job (raising the errors of
``whole_video.errors``, ``jobs.JobsFull`` or ``imaging.ImageError``), queues it on the job
runner and answers for a streamed session's whole track. A job's result is turned into its
answer by the ``render`` the API gives, in the job's worker, so a finished job keeps only that.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO

from ..config import Settings
from ..pipeline import PosePipeline
from ..types import Frame
from . import phalp_tracker
from .errors import NotReadyForJobs, PhalpUnavailable, UnknownJob, UnknownSession, UnknownTracker
from .inputs import (
    check_job_pixels,
    checked_images,
    decoded_frames,
    save_upload,
    upload_frames,
    upload_shape,
)
from .jobs import Job, JobRunner, JobsFull
from .outcomes import WholeVideo, filled_track
from .runs import run_phalp, run_service_tracker

TRACKERS = ("service", "phalp")  # who tracks a whole-video job
Render = Callable[[WholeVideo], Any]


@functools.lru_cache(maxsize=4)
def host_trackers(settings: Settings) -> tuple[str, ...]:
    """The trackers a job may ask for on this host (fixed for the process: worked out once)."""
    missing = phalp_tracker.unavailable_reason(settings.fourd_humans_dir, settings.estimator)
    return ("service",) if missing else TRACKERS


class WholeVideos:
    """Whole-video jobs and sessions, over one pipeline."""

    def __init__(self, pipeline: PosePipeline, render: Render) -> None:
        self.pipeline = pipeline
        self.render = render
        self._runner: JobRunner | None = None
        self._runner_lock = threading.Lock()

    @property
    def settings(self) -> Settings:
        return self.pipeline.settings

    def trackers(self) -> tuple[str, ...]:
        return host_trackers(self.settings)

    def admit(self, tracker: str = "service") -> None:
        """Refuse a job before anything is read: the model not ready, an unknown tracker, PHALP
        unavailable here, or as many jobs as allowed queued or running (in that order)."""
        if self.pipeline.status != "ready":
            raise NotReadyForJobs(self.pipeline.status, "models are still loading")
        if tracker not in TRACKERS:
            raise UnknownTracker(f'"tracker" must be one of {list(TRACKERS)}')
        if tracker == "phalp":
            settings = self.settings
            reason = phalp_tracker.unavailable_reason(settings.fourd_humans_dir, settings.estimator)
            if reason is not None:
                raise PhalpUnavailable(reason)
        if self._jobs().active() >= self.settings.max_jobs:
            raise JobsFull(f"{self.settings.max_jobs} jobs are queued or running")

    def submit_upload(
        self, save: Callable[[BinaryIO], None], filename: str | None, tracker: str = "service"
    ) -> Job:
        """Queue a job for an uploaded video file (``save`` writes it into an open file)."""
        settings = self.settings
        path = save_upload(save, filename)
        try:
            total, width, height = upload_shape(path)
            check_job_pixels(total * width * height, total, settings.max_job_pixels)
            if tracker == "phalp":
                work = functools.partial(self._run_phalp, path)
                return self._jobs().submit((), total, work)
            frames = upload_frames(path, settings.max_image_pixels)
            return self._jobs().submit(frames, total, self._run_service_tracker)
        except Exception:
            os.unlink(path)
            raise

    def submit_images(self, images: list[str]) -> Job:
        """Queue a job for base64 images (headers checked now, pixels decoded by the job)."""
        settings = self.settings
        encoded, pixels = checked_images(images, settings.max_image_pixels)
        check_job_pixels(pixels, len(encoded), settings.max_job_pixels)
        frames = decoded_frames(encoded, settings.max_image_pixels, settings.fast_jpeg_decode)
        return self._jobs().submit(frames, len(encoded), self._run_service_tracker)

    def job(self, job_id: str) -> Job:
        job = self._jobs().get(job_id)
        if job is None:
            raise UnknownJob(f"no job {job_id!r} (finished jobs are kept a while)")
        return job

    def session(self, session_id: str) -> WholeVideo:
        """Every frame a live session has streamed so far, gaps filled, smoothed."""
        session = self.pipeline.live_session(session_id)
        if session is None:
            raise UnknownSession(f"no live session {session_id!r}")
        return filled_track(
            session.track, session.frame_size, session_id, self.pipeline.estimator.name
        )

    def _run_service_tracker(self, job: Job, frames: Iterable[Frame]) -> Any:
        return self.render(run_service_tracker(self.pipeline, job, frames))

    def _run_phalp(self, path: str, job: Job, _frames: object) -> Any:
        return self.render(run_phalp(self.pipeline, job, path))

    def _jobs(self) -> JobRunner:
        """The job runner, started on first use (its worker threads with it)."""
        with self._runner_lock:
            if self._runner is None:
                s = self.settings
                self._runner = JobRunner(
                    s.max_jobs, s.job_workers, s.job_result_ttl_s, s.max_job_results
                )
            return self._runner
