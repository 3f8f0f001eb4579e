"""Whole-video endpoints on the Flask test client with the replay estimator."""

from __future__ import annotations

import io
import time

import pytest

from pose_service.api import create_app
from pose_service.config import Settings
from pose_service.pipeline import PosePipeline
from pose_service.skeleton import SMPL_JOINT_NAMES
from tests.conftest import REPLAY_DETECTED
from tests.support.frames import b64, png_bytes
from tests.support.motion import HEIGHT, WIDTH

FRAME_PNG = b64(png_bytes(WIDTH, HEIGHT))
RUNNING = {"queued", "running"}
FRAMES = 30  # the replay recording misses 0-1 and 10-13 within these


@pytest.fixture()
def client(replay_path):
    settings = Settings(estimator="replay", replay_path=str(replay_path))
    pipeline = PosePipeline(settings)
    pipeline.load()
    return create_app(settings, pipeline, start_loading=False).test_client()


def _stream(client, video_id: str) -> list[dict]:
    return [
        client.post(
            "/pose/hybrid",
            json={"image_base64": FRAME_PNG, "frame_number": n, "video_id": video_id},
        ).get_json()
        for n in range(FRAMES)
    ]


def _check_whole_video(frames: list[dict]) -> None:
    assert [f["frame_number"] for f in frames] == list(range(FRAMES))
    assert all(f["has_3d"] for f in frames)  # 100% coverage, the first two frames back-filled
    assert [k["name"] for k in frames[0]["keypoints"]] == list(SMPL_JOINT_NAMES)
    sources = [f["temporal"]["source"] for f in frames]
    assert sources[0] == "predicted" and "back_filled" in frames[0]["temporal"]["flags"]
    assert all(sources[n] == "interpolated" for n in range(10, 14))
    assert all(sources[n] == "detected" for n in range(FRAMES) if REPLAY_DETECTED[n])
    assert frames[12]["tracking_confidence"] < frames[9]["tracking_confidence"]


def test_session_returns_every_frame_filled(client):
    streamed = _stream(client, "video-a")
    assert not streamed[0]["has_3d"]  # streaming cannot answer before the first detection
    response = client.get("/sessions/video-a")
    assert response.status_code == 200
    body = response.get_json()
    assert body["session_id"] == "video-a" and body["frame_count"] == FRAMES
    _check_whole_video(body["frames"])


def test_unknown_session_and_job_are_404(client):
    assert client.get("/sessions/nope").status_code == 404
    assert client.get("/jobs/nope").status_code == 404


def test_video_job_from_frames(client):
    response = client.post("/pose/video", json={"frames": [FRAME_PNG] * FRAMES})
    assert response.status_code == 202
    job_id = response.get_json()["job_id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body = client.get(f"/jobs/{job_id}").get_json()
        if body["status"] in {"done", "failed"}:
            break
        time.sleep(0.05)
    assert body["status"] == "done", body
    assert body["frames_done"] == FRAMES and body["progress"] == 1.0
    _check_whole_video(body["result"]["frames"])


def test_video_job_rejects_garbage(client):
    assert client.post("/pose/video", json={"frames": []}).status_code == 400
    assert client.post("/pose/video", json={"frames": ["not base64!"]}).status_code == 400


@pytest.mark.parametrize("filename", ["clip\x00.mp4", "clip." + "x" * 300, "a/../../b.avi", ""])
def test_any_upload_filename_is_accepted_safely(client, tmp_path, filename):
    """The name is the client's: a NUL byte or a 300-character extension was a 500."""
    data = {"video": (io.BytesIO(_tiny_video(tmp_path / "clip.avi")), filename)}
    response = client.post("/pose/video", data=data, content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()


def _tiny_video(path, frames: int = 20) -> bytes:
    import cv2
    import numpy as np

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 36))
    for n in range(frames):
        writer.write(np.full((36, 64, 3), 10 * n % 255, dtype=np.uint8))
    writer.release()
    return path.read_bytes()


def test_tracker_phalp_is_refused_clearly_where_it_cannot_run(client, tmp_path):
    video = _tiny_video(tmp_path / "clip.avi")
    for tracker, code, says in (
        ("phalp", "phalp_unavailable", "needs the hmr2 estimator"),
        ("deepsort", "bad_request", '"tracker" must be one of'),
    ):
        response = client.post(
            "/pose/video",
            data={"video": (io.BytesIO(video), "clip.avi"), "tracker": tracker},
            content_type="multipart/form-data",
        )
        assert response.status_code == 400
        assert response.get_json()["code"] == code and says in response.get_json()["error"]


def test_tracker_phalp_job_maps_phalps_output(client, tmp_path, monkeypatch):
    """The job's wiring, with PHALP's run standing in (it needs the GPU host): the upload is
    handed to run_phalp, its results are mapped with the model's SMPL joints, ghost frames are
    filled, every frame comes back in the /pose/hybrid format."""
    from pose_service.whole_video import phalp_tracker
    from tests.whole_video.test_phalp_tracker import FRAMES, fake_smpl_joints, phalp_results

    handed: list[str] = []

    def fake_run(video, fourd_humans_dir, output_dir, timeout_s):
        handed.append(video.read_bytes()[:4].hex())
        return phalp_results()

    monkeypatch.setattr(phalp_tracker, "unavailable_reason", lambda *args: None)
    monkeypatch.setattr(phalp_tracker, "run_phalp", fake_run)
    client.application.extensions["pose_pipeline"].estimator.smpl_joints = fake_smpl_joints
    video = _tiny_video(tmp_path / "clip.avi", FRAMES)
    response = client.post(
        "/pose/video",
        data={"video": (io.BytesIO(video), "clip.avi"), "tracker": "phalp"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 202
    job_id = response.get_json()["job_id"]
    deadline = time.monotonic() + 30
    while (body := client.get(f"/jobs/{job_id}").get_json())["status"] in {"queued", "running"}:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert body["status"] == "done", body
    assert handed == [video[:4].hex()]
    result = body["result"]
    assert result["tracker"] == "phalp" and result["phalp_track_id"] == 3
    frames = result["frames"]
    assert [f["frame_number"] for f in frames] == list(range(FRAMES))
    assert all(f["has_3d"] for f in frames)
    sources = [f["temporal"]["source"] for f in frames]
    assert sources[8:12] == ["interpolated"] * 4 and sources[5] == "detected"


def test_video_job_batches_frames_through_a_batching_estimator(replay_path):
    """With POSE_SERVICE_BATCH_FRAMES=4 an estimator that batches (hmr2 does) gets the job's
    frames four per pass; the answer is the one the unbatched job gives."""
    from pose_service.estimators.replay import ReplayEstimator

    class RecordingReplay(ReplayEstimator):  # replay batches too (as hmr2): record the passes
        def __init__(self, settings: Settings) -> None:
            super().__init__(settings)
            self.batches: list[list[int]] = []

        def estimate_batch(self, frames):  # type: ignore[no-untyped-def]
            self.batches.append([f.frame_number for f in frames])
            return super().estimate_batch(frames)

    results = []
    for batch_frames in (1, 4):
        settings = Settings(
            estimator="replay", replay_path=str(replay_path), batch_frames=batch_frames
        )
        estimator = RecordingReplay(settings)
        pipeline = PosePipeline(settings, estimator)
        pipeline.load()
        client = create_app(settings, pipeline, start_loading=False).test_client()
        job_id = client.post("/pose/video", json={"frames": [FRAME_PNG] * 10}).get_json()["job_id"]
        deadline = time.monotonic() + 30
        while (body := client.get(f"/jobs/{job_id}").get_json())["status"] in RUNNING:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert body["status"] == "done", body
        results.append(body["result"]["frames"])
        if batch_frames == 4:
            assert estimator.batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
        else:
            assert estimator.batches == [[n] for n in range(10)]  # one frame per pass
    assert [f["keypoints"] for f in results[0]] == [f["keypoints"] for f in results[1]]


def _app_with(replay_path, **settings):
    settings = Settings(estimator="replay", replay_path=str(replay_path), **settings)
    pipeline = PosePipeline(settings)
    pipeline.load()
    return pipeline, create_app(settings, pipeline, start_loading=False).test_client()


def test_a_full_job_queue_is_a_503_and_an_accepted_job_still_finishes(replay_path):
    """Before: 50 jobs were all 202, then most were evicted (404) or failed with QueueFull."""
    pipeline, client = _app_with(replay_path, max_jobs=1, queue_size=0)
    frames = {"frames": [FRAME_PNG] * 5}
    with pipeline.gate.turn():  # streaming traffic holds the model, the queue is full
        first = client.post("/pose/video", json=frames)
        refused = client.post("/pose/video", json=frames)
        time.sleep(0.3)
        assert client.get(first.headers["Location"]).get_json()["status"] == "running"
    assert first.status_code == 202
    assert refused.status_code == 503 and refused.get_json()["code"] == "jobs_full"
    assert refused.headers["Retry-After"] == "1"
    deadline = time.time() + 10
    while (body := client.get(first.headers["Location"]).get_json())["status"] in RUNNING:
        assert time.time() < deadline
        time.sleep(0.05)
    assert body["status"] == "done" and body["result"]["frame_count"] == 5


def test_a_job_beyond_the_pixel_limit_is_a_413_naming_it(replay_path):
    _, client = _app_with(replay_path, max_job_pixels=3 * WIDTH * HEIGHT)
    response = client.post("/pose/video", json={"frames": [FRAME_PNG] * 4})
    assert response.status_code == 413
    body = response.get_json()
    assert body["code"] == "job_too_large" and "POSE_SERVICE_MAX_JOB_PIXELS" in body["error"]
    assert client.post("/pose/video", json={"frames": [FRAME_PNG] * 3}).status_code == 202


def test_a_job_longer_than_the_track_records_is_a_413_and_a_finished_one_says_it_is_whole(
    replay_path,
):
    """Issue 24: a video past TRACK_RECORD_MAX_FRAMES was answered done with only its first
    frames and no word of it; now it is refused up front, and every result says ``truncated``."""
    _, client = _app_with(replay_path, track_record_max_frames=3)
    response = client.post("/pose/video", json={"frames": [FRAME_PNG] * 4})
    assert response.status_code == 413
    body = response.get_json()
    assert body["code"] == "job_too_large"
    assert "4 frames" in body["error"] and "POSE_SERVICE_TRACK_RECORD_MAX_FRAMES" in body["error"]
    accepted = client.post("/pose/video", json={"frames": [FRAME_PNG] * 3})
    assert accepted.status_code == 202
    deadline = time.time() + 10
    while (body := client.get(accepted.headers["Location"]).get_json())["status"] in RUNNING:
        assert time.time() < deadline
        time.sleep(0.05)
    assert body["status"] == "done"
    assert body["result"]["frame_count"] == 3 and body["result"]["truncated"] is False


def test_uploads_beyond_their_space_are_refused_naming_the_limit_and_health_counts_them(
    replay_path, tmp_path
):
    video = _tiny_video(tmp_path / "clip.avi")
    room = len(video) + 1024  # one upload's body (multipart adds a few hundred bytes)
    pipeline, client = _app_with(replay_path, upload_max_bytes=room, state_dir=str(tmp_path))
    with pipeline.gate.turn():  # the first job waits for the model, holding its input
        first = client.post("/pose/video", data={"video": (io.BytesIO(video), "a.avi")},
                            content_type="multipart/form-data")  # fmt: skip
        full = client.post("/pose/video", data={"video": (io.BytesIO(video), "b.avi")},
                           content_type="multipart/form-data")  # fmt: skip
        uploads = client.get("/health").get_json()["uploads"]
    assert first.status_code == 202
    assert full.status_code == 503 and full.headers["Retry-After"] == "1"
    assert full.get_json()["code"] == "uploads_full"
    assert "POSE_SERVICE_UPLOAD_MAX_BYTES" in full.get_json()["error"]
    assert uploads["files"] == 1 and uploads["max_bytes"] == room
    assert 0 < uploads["used_bytes"] <= room
    too_large = client.post("/pose/video", json={"frames": [FRAME_PNG] * 100})
    assert too_large.status_code == 413 and too_large.get_json()["code"] == "upload_too_large"
    deadline = time.time() + 10
    while client.get(first.headers["Location"]).get_json()["status"] in RUNNING:
        assert time.time() < deadline
        time.sleep(0.05)
    assert client.get("/health").get_json()["uploads"]["used_bytes"] == 0
    assert list((tmp_path / "uploads").iterdir()) == []
