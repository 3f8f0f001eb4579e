"""App-level behaviour that needs a pipeline in a given state (Flask test client)."""

from __future__ import annotations

import numpy as np

from pose_service.api import create_app
from pose_service.config import Settings
from pose_service.estimators import Estimator, TransientInferenceError
from pose_service.pipeline import PosePipeline
from pose_service.types import Estimate, Frame
from tests.support.frames import b64, png_bytes

FRAME = {"image_base64": b64(png_bytes(32, 18)), "frame_number": 0}


class ExplodingEstimator(Estimator):
    """Stands for a model whose forward pass hits a bug."""

    name = "exploding"

    def load(self) -> None: ...
    def estimate(self, frame: Frame) -> Estimate:
        raise RuntimeError("kaboom")

    def verify_install(self) -> dict[str, str]:
        return {}

    def model_status(self) -> dict[str, str]:
        return {"hmr2": "loaded", "vitdet": "loaded"}

    def describe(self) -> dict[str, object]:
        return {"device": "cpu"}

    def faces(self) -> np.ndarray | None:
        return None


def test_frames_during_warm_up_get_503_warming_up():
    settings = Settings(estimator="lite")
    app = create_app(settings, PosePipeline(settings, ExplodingEstimator()), start_loading=False)
    client = app.test_client()
    health = client.get("/health").get_json()
    assert health["status"] == "warming_up" and health["ready"] is False
    response = client.post("/pose/hybrid", json=FRAME)
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "warming_up" and body["code"] == "warming_up"
    assert response.headers["Retry-After"] == "1"


def test_an_internal_fault_is_a_500_with_detail_and_the_service_keeps_answering():
    settings = Settings(estimator="lite")
    pipeline = PosePipeline(settings, ExplodingEstimator())
    pipeline.load()
    client = create_app(settings, pipeline, start_loading=False).test_client()
    response = client.post("/pose/hybrid", json=FRAME)
    assert response.status_code == 500
    assert response.get_json()["code"] == "internal_error"
    assert "kaboom" in response.get_json()["error"]
    assert not pipeline.gate.busy  # the gate was released
    assert client.get("/health").get_json()["status"] == "ready"


def test_token_auth_when_configured():
    settings = Settings(estimator="lite", auth_token="s3cret")
    pipeline = PosePipeline(settings, ExplodingEstimator())
    client = create_app(settings, pipeline, start_loading=False).test_client()
    assert client.post("/pose/hybrid", json=FRAME).status_code == 401
    assert client.get("/health").status_code == 200
    response = client.post("/pose/hybrid", json=FRAME, headers={"X-Pose-Service-Token": "s3cret"})
    assert response.status_code == 503  # past auth; the model is not loaded


def test_simulated_misses_are_refused_unless_enabled():
    settings = Settings(estimator="lite")
    pipeline = PosePipeline(settings, ExplodingEstimator())
    pipeline.load()
    client = create_app(settings, pipeline, start_loading=False).test_client()
    response = client.post("/pose/hybrid", json=FRAME, headers={"X-Simulate-Miss": "true"})
    assert response.status_code == 400
    assert response.get_json()["code"] == "simulated_misses_disabled"


class OutOfMemoryEstimator(ExplodingEstimator):
    """Stands for the hmr2 path after it caught torch.cuda.OutOfMemoryError (see test_hmr2)."""

    def __init__(self) -> None:
        self.calls = 0

    def estimate(self, frame: Frame) -> Estimate:
        self.calls += 1
        if self.calls == 1:
            raise TransientInferenceError("CUDA out of memory; cache emptied")
        return Estimate([], "fake", {})


def test_a_retryable_inference_error_is_a_503_and_the_next_frame_is_served():
    settings = Settings(estimator="lite")
    pipeline = PosePipeline(settings, OutOfMemoryEstimator())
    pipeline.load()
    client = create_app(settings, pipeline, start_loading=False).test_client()
    first = client.post("/pose/hybrid", json=FRAME)
    assert first.status_code == 503 and first.get_json()["code"] == "inference_retryable"
    assert first.headers["Retry-After"] == "1"
    second = client.post("/pose/hybrid", json={**FRAME, "frame_number": 1})
    assert second.status_code == 200


def test_a_new_video_beyond_max_sessions_is_a_503_while_every_stream_is_live(replay_path):
    settings = Settings(estimator="replay", replay_path=str(replay_path), max_sessions=1)
    pipeline = PosePipeline(settings)
    pipeline.load()
    client = create_app(settings, pipeline, start_loading=False).test_client()
    assert client.post("/pose/hybrid", json=FRAME).status_code == 200  # a live stream
    refused = client.post("/pose/hybrid", json={**FRAME, "video_id": "another"})
    assert refused.status_code == 503 and refused.get_json()["code"] == "sessions_full"
    assert refused.headers["Retry-After"] == str(settings.retry_after_s)
    assert client.post("/pose/hybrid", json={**FRAME, "frame_number": 1}).status_code == 200
