"""Which domain error is which HTTP answer: the one table, registered as Flask error handlers.

Views and the application layer raise what went wrong (the model is loading, the queue is full,
a frame is not an image, a job is too large...) and never build an error answer; each error
type is turned into the one error shape (``errors.error_response``) here. Busy and not-ready
answers are 503s with ``Retry-After`` and the service's ``status``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g

from ..estimators import TransientInferenceError
from ..imaging import ImageError
from ..model.host import NotReady
from ..model.scheduling import QueueFull, QueueTimeout, ShuttingDown
from ..observability import get_logger, memory_report
from ..sessions.router import SessionsFull
from ..whole_video.errors import (
    BadVideo,
    FrameOutOfRange,
    JobFailed,
    JobNotComplete,
    JobTooLarge,
    NoRenderedOutput,
    NotReadyForJobs,
    PhalpUnavailable,
    StillProcessing,
    UnknownJob,
    UnknownSession,
    UnknownTracker,
)
from ..whole_video.jobs import JobsFull
from ..whole_video.uploads import UploadsFull, UploadsUnavailable, UploadTooLarge
from .errors import error_response

log = get_logger("pose_service.api")
Answer = tuple[int, str, str, dict[str, Any] | None]  # status, code, message, extra fields


def _not_ready(exc: NotReady) -> Answer:
    code = "warming_up" if exc.status == "warming_up" else "model_unavailable"
    return 503, code, str(exc), {"status": exc.status}


def _transient(exc: TransientInferenceError) -> Answer:
    log.warning("inference_transient_error", frame_number=g.get("frame_number"),
                error=str(exc), **memory_report())  # fmt: skip
    return 503, "inference_retryable", str(exc), {"status": "ready"}


# Answered with Retry-After: the same request may succeed later.
RETRYABLE: dict[type[Exception], Callable[[Any], Answer]] = {
    NotReady: _not_ready,
    NotReadyForJobs: lambda e: (503, "warming_up", str(e), {"status": e.status}),
    QueueFull: lambda e: (503, "queue_full", f"service busy: {e}", {"status": "busy"}),
    QueueTimeout: lambda e: (503, "queue_timeout", str(e), {"status": "busy"}),
    SessionsFull: lambda e: (503, "sessions_full", str(e), {"status": "busy"}),
    ShuttingDown: lambda e: (503, "shutting_down", str(e), {"status": "not_ready"}),
    TransientInferenceError: _transient,
    JobsFull: lambda e: (503, "jobs_full", f"{e}; try again later", None),
    UploadsFull: lambda e: (503, "uploads_full", str(e), None),
    UploadsUnavailable: lambda e: (503, "uploads_unavailable", str(e), None),
    StillProcessing: lambda e: (
        503,
        "still_processing",
        str(e),
        {"status": "processing", "job_id": e.job_id},
    ),  # fmt: skip
}
# Answered as they are: the request itself must change.
FINAL: dict[type[Exception], Callable[[Any], Answer]] = {
    ImageError: lambda e: (e.status, e.code, str(e), None),
    UnknownTracker: lambda e: (400, "bad_request", str(e), None),
    PhalpUnavailable: lambda e: (400, "phalp_unavailable", str(e), None),
    BadVideo: lambda e: (400, "bad_video", str(e), None),
    JobTooLarge: lambda e: (413, "job_too_large", str(e), None),
    UploadTooLarge: lambda e: (413, "upload_too_large", str(e), None),
    UnknownSession: lambda e: (404, "unknown_session", str(e), None),
    UnknownJob: lambda e: (404, "unknown_job", str(e), None),
    NoRenderedOutput: lambda e: (404, "no_output", str(e), None),
    JobNotComplete: lambda e: (400, "job_not_complete", str(e), None),
    FrameOutOfRange: lambda e: (400, "frame_out_of_range", str(e), None),
    JobFailed: lambda e: (500, "job_failed", str(e), {"status": "error"}),
}


def register_domain_errors(app: Flask, retry_after_s: int) -> None:
    """One Flask error handler per domain error (the most specific type wins); the retryable
    ones answer ``Retry-After: retry_after_s``."""
    for kind, answer in RETRYABLE.items():
        app.register_error_handler(kind, _handler(answer, retry_after_s))
    for kind, answer in FINAL.items():
        app.register_error_handler(kind, _handler(answer, None))


def _handler(
    answer: Callable[[Any], Answer], retry_after_s: int | None
) -> Callable[[Exception], Response]:
    def handle(exc: Exception) -> Response:
        status, code, message, extra = answer(exc)
        headers = None if retry_after_s is None else {"Retry-After": str(retry_after_s)}
        return error_response(status, code, message, extra, headers)

    return handle
