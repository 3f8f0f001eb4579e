"""Each domain error is answered once, by its Flask error handler, in the one error shape."""

from __future__ import annotations

import pytest

from pose_service.api import create_app
from pose_service.config import Settings
from pose_service.estimators import TransientInferenceError
from pose_service.imaging import ImageError
from pose_service.model.scheduling import QueueFull, QueueTimeout, ShuttingDown
from pose_service.pipeline import NotReady, PosePipeline
from pose_service.sessions.router import SessionsFull
from pose_service.whole_video.errors import (
    FrameOutOfRange,
    JobFailed,
    JobNotComplete,
    JobTooLarge,
    NoRenderedOutput,
    NotReadyForJobs,
    StillProcessing,
    UnknownJob,
)
from pose_service.whole_video.jobs import JobsFull

CASES = [  # raised, status, code, extra fields, Retry-After
    (NotReady("warming_up", "loading"), 503, "warming_up", {"status": "warming_up"}, True),
    (NotReady("not_ready", "no weights"), 503, "model_unavailable", {"status": "not_ready"}, True),
    (NotReadyForJobs("not_ready", "loading"), 503, "warming_up", {"status": "not_ready"}, True),
    (QueueFull("9 waiting"), 503, "queue_full", {"status": "busy"}, True),
    (QueueTimeout("waited"), 503, "queue_timeout", {"status": "busy"}, True),
    (SessionsFull("full"), 503, "sessions_full", {"status": "busy"}, True),
    (ShuttingDown("bye"), 503, "shutting_down", {"status": "not_ready"}, True),
    (TransientInferenceError("oom"), 503, "inference_retryable", {"status": "ready"}, True),
    (JobsFull("8 jobs"), 503, "jobs_full", {}, True),
    (
        StillProcessing("j-1", "still"),
        503,
        "still_processing",
        {"status": "processing", "job_id": "j-1"},
        True,
    ),
    (ImageError("image_too_large", "big", 413), 413, "image_too_large", {}, False),
    (JobTooLarge("too many pixels"), 413, "job_too_large", {}, False),
    (UnknownJob("no job"), 404, "unknown_job", {}, False),
    (NoRenderedOutput("pruned"), 404, "no_output", {}, False),
    (JobNotComplete("running"), 400, "job_not_complete", {}, False),
    (FrameOutOfRange("frame 9"), 400, "frame_out_of_range", {}, False),
    (JobFailed("boom"), 500, "job_failed", {"status": "error"}, False),
]


@pytest.fixture()
def app():
    settings = Settings(estimator="replay", retry_after_s=7)
    return create_app(settings, PosePipeline(settings), start_loading=False)


@pytest.mark.parametrize(("raised", "status", "code", "extra", "retry"), CASES)
def test_a_domain_error_is_its_answer(app, raised, status, code, extra, retry):
    @app.get("/raise")
    def _raise():
        raise raised

    response = app.test_client().get("/raise")
    body = response.get_json()
    assert response.status_code == status and body["code"] == code
    assert {k: v for k, v in body.items() if k not in {"error", "code"}} == extra
    assert response.headers.get("Retry-After") == ("7" if retry else None)


def test_the_message_is_the_errors_own(app):
    @app.get("/raise")
    def _raise():
        raise JobsFull("8 jobs are queued or running")

    body = app.test_client().get("/raise").get_json()
    assert body["error"] == "8 jobs are queued or running; try again later"


def test_a_job_while_the_model_loads_is_503_warming_up(replay_path):
    settings = Settings(estimator="replay", replay_path=str(replay_path))
    client = create_app(settings, PosePipeline(settings), start_loading=False).test_client()
    response = client.post("/pose/video", json={"frames": ["x"]})
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert response.get_json() == {
        "error": "models are still loading",
        "code": "warming_up",
        "status": "warming_up",
    }
