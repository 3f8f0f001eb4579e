"""Whole-video work behind ``POST /pose/video``, ``GET /jobs/<id>`` and ``GET /sessions/<id>``,
and the old service's video routes (``/process_video``, ``/process_video_async``,
``/job_status/<id>``, ``/frame/<id>/<i>``).

:class:`WholeVideoService` is what the API calls: it admits or refuses a job (raising the errors of
``whole_video.errors``, ``jobs.JobsFull`` or ``imaging.ImageError``), queues it on the job
runner and answers for a streamed session's whole track (a :class:`~.outcomes.WholeVideo`, which
the API renders). A job's result, a domain value too, is encoded by the
:class:`~.results.JobResultEncoder` the API gives, once, in the job's worker: a finished job
keeps (and the job store persists) only that.

Every job runs from a :class:`~.durable.JobSpec` (its kind, its input in ``STATE_DIR/uploads``,
parameters) recorded with it, so a job accepted by an earlier process is run the same way
(held from the start, run by ``resume_jobs`` once the model is ready) and a graceful stop
interrupts it (``stop_jobs``).
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from ..config import Settings
from ..model.host import ModelHost
from ..observability import get_logger
from ..sessions.router import Session
from ..streaming.stepper import FrameStepper
from ..types import Frame
from . import phalp_tracker
from .durable import DurableJobs, JobSpec
from .errors import (
    BadVideo,
    FrameOutOfRange,
    JobFailed,
    JobNotComplete,
    NoRenderedOutput,
    NotReadyForJobs,
    PhalpUnavailable,
    StillProcessing,
    UnknownJob,
    UnknownSession,
    UnknownTracker,
)
from .inputs import (
    check_job_frames,
    check_job_pixels,
    checked_images,
    decoded_frames,
    upload_frames,
    upload_shape,
    upload_suffix,
)
from .job_store import open_job_store
from .jobs import Job, JobRunner, JobsFull, Work
from .outcomes import WholeVideo, filled_tracks
from .overlay import MIN_SIDE, OutputStore, RenderedOutput
from .results import JobResultEncoder
from .runs import run_phalp, run_rendered, run_service_tracker
from .uploads import UPLOADS_DIR, UploadSpace, images_bytes, read_images, write_images

log = get_logger("pose_service.jobs")
TRACKERS = ("service", "phalp")  # who tracks a whole-video job
OUTPUTS_DIR = "outputs"  # under STATE_DIR: rendered jobs' frames and overlay videos
# How a job runs (``JobSpec.kind``), each from its input file in STATE_DIR/uploads: an uploaded
# video through our tracker or PHALP's, one tracked and drawn (the legacy routes), base64 images.
JOB_KINDS = ("video", "phalp", "rendered", "images")


@functools.lru_cache(maxsize=4)
def host_trackers(settings: Settings) -> tuple[str, ...]:
    """The trackers a job may ask for on this host (fixed for the process: worked out once)."""
    missing = phalp_tracker.unavailable_reason(settings.fourd_humans_dir, settings.estimator)
    return ("service",) if missing else TRACKERS


class WholeVideoService:
    """Whole-video jobs and sessions, over the model host (``model``), the frame stepper the
    jobs' frames go through (``stepper``) and the live sessions (``live_session``: a streamed
    session by its id); ``results`` encodes a finished job's result."""

    def __init__(
        self,
        settings: Settings,
        model: ModelHost,
        stepper: FrameStepper,
        live_session: Callable[[str], Session | None],
        results: JobResultEncoder,
    ) -> None:
        self.settings = settings
        self.model = model
        self.stepper = stepper
        self._live_session = live_session
        self.results = results
        self._runner: JobRunner | None = None
        self._outputs: OutputStore | None = None
        self._runner_lock = threading.Lock()
        # Requests that wait for their job hold a server thread all along: at most half of
        # them, so frames always find a thread.
        self._waiters = threading.BoundedSemaphore(max(1, settings.threads // 2))
        self.uploads = UploadSpace(
            Path(settings.state_dir) / UPLOADS_DIR, settings.upload_max_bytes
        )
        self._durable: DurableJobs | None = None
        self._held: list[Job] = []  # an earlier process's jobs, queued until the model is ready
        self._restore_jobs()  # every job the store has answers at once, even while loading
        model.when_ready(self.resume_jobs)  # jobs need the model: run once it is ready
        model.on_shutdown(self.stop_jobs)

    def trackers(self) -> tuple[str, ...]:
        return host_trackers(self.settings)

    def admit(self, tracker: str = "service") -> None:
        """Refuse a job before anything is read: the model not ready, an unknown tracker, PHALP
        unavailable here, or as many jobs as allowed queued or running (in that order)."""
        if self.model.status != "ready":
            raise NotReadyForJobs(self.model.status, "models are still loading")
        if tracker not in TRACKERS:
            raise UnknownTracker(f'"tracker" must be one of {list(TRACKERS)}')
        if tracker == "phalp":
            settings = self.settings
            reason = phalp_tracker.unavailable_reason(settings.fourd_humans_dir, settings.estimator)
            if reason is not None:
                raise PhalpUnavailable(reason)
        if self._jobs().active() >= self.settings.max_jobs:
            raise JobsFull(f"{self.settings.max_jobs} jobs are queued or running")

    def job_counts(self) -> dict[str, int]:
        """Jobs by status; none before the first job (the runner is not started for this)."""
        runner = self._runner
        return {} if runner is None else runner.counts()

    def submit_upload(
        self, save: Callable[[BinaryIO], None], filename: str | None, tracker: str = "service",
        at_most: int | None = None,
    ) -> Job:  # fmt: skip
        """Queue a job for an uploaded video file (``save`` writes it into an open file, at
        most ``at_most`` bytes: what the request says it carries)."""
        settings = self.settings
        with self._input_until_queued(save, upload_suffix(filename), at_most) as path:
            total, width, height = upload_shape(path)
            check_job_pixels(total * width * height, total, settings.max_job_pixels)
            if tracker == "phalp":  # PHALP keeps its own record of the video
                return self._submit(JobSpec("phalp", path), total)
            check_job_frames(total, settings.track_record_max_frames)
            return self._submit(JobSpec("video", path), total)

    def submit_rendered(
        self, save: Callable[[BinaryIO], None], filename: str | None, max_frames: int,
        at_most: int | None = None,
    ) -> Job:  # fmt: skip
        """Queue a job for the first ``max_frames`` frames of an uploaded video (at most
        ``legacy_max_frames``): tracked as a whole video, then drawn into an overlay video and
        per-frame images (``overlay``), answered by ``render_overlay``."""
        settings = self.settings
        with self._input_until_queued(save, upload_suffix(filename), at_most) as path:
            total, width, height = upload_shape(path)
            if min(width, height) < MIN_SIDE:
                raise BadVideo(
                    f"the video's {width}x{height} frames are too small to draw into an overlay "
                    f"video (at least {MIN_SIDE}x{MIN_SIDE})"
                )
            count = max(1, min(max_frames, settings.legacy_max_frames, total))
            check_job_frames(count, settings.track_record_max_frames)
            check_job_pixels(count * width * height, count, settings.max_job_pixels)
            return self._submit(JobSpec("rendered", path, {"count": count, "total": total}), count)

    def process_rendered(
        self, save: Callable[[BinaryIO], None], filename: str | None, max_frames: int,
        at_most: int | None = None,
    ) -> Job:  # fmt: skip
        """:meth:`submit_rendered`, then wait for the job to end, at most
        ``process_video_timeout_s`` (then :class:`StillProcessing`; the job goes on); the done
        job, or :class:`JobFailed`. Refused (:class:`JobsFull`) while half the server's threads
        already wait so."""
        if not self._waiters.acquire(blocking=False):
            raise JobsFull(
                f"{max(1, self.settings.threads // 2)} requests already wait for their video "
                "(half of POSE_SERVICE_THREADS); POST /process_video_async does not wait"
            )
        try:
            job = self.submit_rendered(save, filename, max_frames, at_most)
            ended = job.wait(self.settings.process_video_timeout_s)
        finally:
            self._waiters.release()
        if not ended:
            raise StillProcessing(
                job.job_id,
                f"job {job.job_id} is still processing after "
                f"{self.settings.process_video_timeout_s:g} s "
                f"(POSE_SERVICE_PROCESS_VIDEO_TIMEOUT_S); it goes on: poll GET /job_status/"
                f"{job.job_id}",
            )
        if isinstance(job.exception, BadVideo):  # found while decoding: the upload's fault
            raise job.exception
        if job.status != "done":
            raise JobFailed(f"processing failed: {job.error}")
        return job

    def rendered_frame(self, job_id: str, index: int) -> bytes:
        """Frame ``index`` of a rendered job as drawn (JPEG bytes)."""
        job = self.job(job_id)
        if job.status in ("queued", "running"):
            raise JobNotComplete(f"job {job_id!r} is {job.status}; its frames come when done")
        output = job.output
        if not isinstance(output, RenderedOutput):
            raise NoRenderedOutput(f"job {job_id!r} has no rendered frames ({job.status})")
        if not 0 <= index < output.frame_count:
            raise FrameOutOfRange(
                f"frame {index} is out of range: job {job_id!r} rendered frames "
                f"0..{output.frame_count - 1}"
            )
        try:
            return output.frame_path(index).read_bytes()
        except FileNotFoundError as exc:
            raise NoRenderedOutput(
                f"job {job_id!r}'s rendered frames were deleted to keep the outputs within "
                "POSE_SERVICE_LEGACY_OUTPUT_MAX_BYTES"
            ) from exc

    def first_rendered_frames(self, job: Job, count: int) -> list[bytes]:
        """The first ``count`` rendered frames of a done job (fewer, or none, if another job's
        output pushed its files out meanwhile)."""
        frames: list[bytes] = []
        output = job.output
        if isinstance(output, RenderedOutput):
            for index in range(min(count, output.frame_count)):
                try:
                    frames.append(output.frame_path(index).read_bytes())
                except FileNotFoundError:
                    break
        return frames

    def submit_images(self, images: list[str]) -> Job:
        """Queue a job for base64 images (headers checked now, kept in the uploads directory,
        pixels decoded by the job)."""
        settings = self.settings
        encoded, pixels = checked_images(images, settings.max_image_pixels)
        check_job_frames(len(encoded), settings.track_record_max_frames)
        check_job_pixels(pixels, len(encoded), settings.max_job_pixels)
        save = write_images(encoded)
        with self._input_until_queued(save, ".frames", images_bytes(encoded)) as path:
            return self._submit(JobSpec("images", path), len(encoded))

    def job(self, job_id: str) -> Job:
        job = self._jobs().get(job_id)
        if job is None:
            raise UnknownJob(f"no job {job_id!r} (finished jobs are kept a while)")
        return job

    def session(self, session_id: str) -> WholeVideo:
        """Every frame a live session has streamed so far, gaps filled, smoothed."""
        session = self._live_session(session_id)
        if session is None:
            raise UnknownSession(f"no live session {session_id!r}")
        return filled_tracks(
            session.segments.tracks(), session.frame_size, session_id,
            self.model.name,
        )  # fmt: skip

    def uploads_state(self) -> dict[str, object]:
        """The job inputs' space, for ``/health``."""
        return self.uploads.describe()

    def _restore_jobs(self) -> None:
        """At start, before the model is loaded: the jobs an earlier process finished answer
        for themselves, the ones it did not finish are held as queued (or failed, saying why),
        and the inputs no job claims are deleted. So a job id the store has is never unknown,
        and ``/health`` counts the held inputs from the start."""
        s = self.settings
        recovered = self._durable_jobs().recover(s.job_result_ttl_s, s.max_job_results, JOB_KINDS)
        if not recovered.resume and not recovered.finished:
            return
        runner = self._jobs()
        for job in recovered.finished:
            runner.restore(job)
        for job in recovered.resume:
            runner.hold(job)
        self._held = recovered.resume

    def resume_jobs(self) -> None:
        """Once the model is ready: run the held jobs again, from their first frame."""
        held, self._held = self._held, []
        for job in held:
            frames, work = self._work_for(job.spec)
            log.info("job_resumed", job=job.job_id, kind=job.spec.kind, frames_total=job.total,
                     from_frame=0)  # fmt: skip
            self._jobs().resume(job, frames, work)

    def stop_jobs(self) -> None:
        """A graceful stop: the jobs not finished resume on the next start."""
        runner = self._runner
        if runner is not None:
            runner.stop()

    @contextlib.contextmanager
    def _input_until_queued(
        self, save: Callable[[BinaryIO], None], suffix: str, at_most: int | None
    ) -> Iterator[str]:
        """The job's input written to the uploads directory (refused when the space has no
        room for ``at_most`` bytes: the body's size, else the largest body), removed again
        when the job is refused before it is queued (from then on its end removes it)."""
        limit = self.settings.max_body_bytes if at_most is None else at_most
        path = self.uploads.write(save, suffix, limit)
        try:
            yield path
        except BaseException:
            self.uploads.remove(path)
            raise

    def _submit(self, spec: JobSpec, total: int) -> Job:
        frames, work = self._work_for(spec)
        return self._jobs().submit(frames, total, work, spec)

    def _work_for(self, spec: JobSpec) -> tuple[Iterable[Frame], Work]:
        """A job's frames and body from its spec: the one way both a new job and one resumed
        after a restart are run."""
        s, path = self.settings, spec.input_path
        if spec.kind == "video":
            return upload_frames(path, s.max_image_pixels), self._run_service_tracker
        if spec.kind == "images":
            frames = decoded_frames(read_images(path), s.max_image_pixels, s.fast_jpeg_decode)
            return frames, self._run_service_tracker
        if spec.kind == "phalp":
            return (), functools.partial(self._run_phalp, path)
        if spec.kind == "rendered":
            count, total = spec.params["count"], spec.params["total"]
            return (), functools.partial(self._run_rendered, path, count, total)
        raise ValueError(f"unknown job kind {spec.kind!r}")

    def _run_service_tracker(self, job: Job, frames: Iterable[Frame]) -> Any:
        return self.results.video(
            run_service_tracker(self.model, self.stepper, self.settings, job, frames)
        )

    def _run_phalp(self, path: str, job: Job, _frames: object) -> Any:
        return self.results.video(run_phalp(self.model, self.settings, job, path))

    def _run_rendered(self, path: str, count: int, total: int, job: Job, _frames: object) -> Any:
        store = self._output_store()
        rendered = run_rendered(
            self.model, self.stepper, self.settings, job, path, count, total, store
        )
        return self.results.rendered(rendered)

    def _output_store(self) -> OutputStore:
        """The rendered outputs' store, started (and an earlier process's outputs cleared) on
        first use."""
        with self._runner_lock:
            if self._outputs is None:
                s = self.settings
                self._outputs = OutputStore(
                    Path(s.state_dir) / OUTPUTS_DIR, s.legacy_output_max_bytes, s.max_job_results
                )
            return self._outputs

    def _durable_jobs(self) -> DurableJobs:
        """The job table (opened on first use) and the inputs, as the runner's events."""
        with self._runner_lock:
            if self._durable is None:
                s = self.settings
                self._durable = DurableJobs(
                    open_job_store(s.state_dir), self.uploads, s.job_max_starts
                )
            return self._durable

    def _jobs(self) -> JobRunner:
        """The job runner, started on first use (its worker threads with it)."""
        events = self._durable_jobs()
        with self._runner_lock:
            if self._runner is None:
                s = self.settings
                self._runner = JobRunner(
                    s.max_jobs, s.job_workers, s.job_result_ttl_s, s.max_job_results, events
                )
            return self._runner
