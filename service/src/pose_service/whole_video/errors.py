"""Why a whole-video request is refused; ``api/`` maps each to its HTTP answer, once."""

from __future__ import annotations

from ..model.host import NotReady


class NotReadyForJobs(NotReady):
    """A job is refused until the model is ready. Answered as ``warming_up`` whatever keeps the
    model away (the contract's answer for ``POST /pose/video``; a frame says which)."""


class UnknownTracker(ValueError):
    """The upload asks for a tracker the service does not have."""


class PhalpUnavailable(RuntimeError):
    """``tracker=phalp`` on a host that cannot run PHALP (the message says why)."""


class BadVideo(ValueError):
    """The upload is not a video OpenCV can read."""


class JobTooLarge(ValueError):
    """The job's frames hold more pixels than ``max_job_pixels`` allows."""


class UnknownSession(LookupError):
    """No live session has this id (never seen, or expired)."""


class UnknownJob(LookupError):
    """No job has this id (never submitted, or its result expired)."""


class JobFailed(RuntimeError):
    """A job waited for (``POST /process_video``) ended in failure (the message says why)."""


class NoRenderedOutput(LookupError):
    """The job has no rendered frames: it was not asked to render, or they were pruned."""


class JobNotComplete(RuntimeError):
    """The job's rendered frames are asked for before it is done."""


class FrameOutOfRange(IndexError):
    """A rendered frame asked for beyond the frames the job rendered."""


class StillProcessing(RuntimeError):
    """A job waited for is still going after the wait allowed; it goes on (poll its id)."""

    def __init__(self, job_id: str, message: str) -> None:
        super().__init__(message)
        self.job_id = job_id
