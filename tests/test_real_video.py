"""The real clip through the real MediaPipe estimator under real gunicorn, sent like the backend.

Frames hidden from the estimator (``X-Simulate-Miss``) stand for HMR2's misses; the undropped
run of the same frames is the reference the predicted keypoints are measured against.
"""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
import requests

from pose_service.devtools.demo import burst_miss_mask, keypoint_pixel_error, stream_video
from tests.support.frames import b64, runner_pngs

pytestmark = pytest.mark.service  # real programs (gunicorn, nginx, MediaPipe): the service tier

MISS_SHARE = 0.36
BURST = (1, 8)
MAX_MEAN_PIXEL_ERROR = 15.0  # 640x360 frames; the runner is ~150 px tall


@pytest.fixture(scope="module")
def frames() -> tuple[bytes, ...]:
    return runner_pngs(640)


@pytest.fixture(scope="module")
def reference(lite_service, frames):
    """Every frame, nothing hidden: what the estimator itself gives."""
    return stream_video(lite_service.url, list(frames), None, spacing_ms=0, progress=False)


def test_real_clip_with_a_third_of_frames_missed_is_fully_covered(lite_service, frames, reference):
    dropped = burst_miss_mask(len(frames), MISS_SHARE, BURST, seed=7)
    result = stream_video(lite_service.url, list(frames), dropped, spacing_ms=0, progress=False)
    summary = result.summary(dropped)
    error = keypoint_pixel_error(result.answers, reference.answers, dropped)
    print(
        f"\nreal clip, {int(dropped.sum())}/{len(frames)} frames hidden in bursts {BURST}: "
        f"{summary}\nmean pixel error of predicted keypoints vs undropped: {error} px"
    )
    assert result.statuses == [200] * len(frames)
    assert [a["frame_number"] for a in result.answers] == list(range(len(frames)))
    first = next(i for i, a in enumerate(result.answers) if a["has_3d"])
    assert all(a["has_3d"] for a in result.answers[first:])
    predicted = [a for a, d in zip(result.answers, dropped, strict=True) if d and a["has_3d"]]
    assert predicted and all(a["temporal"]["source"] == "predicted" for a in predicted)
    assert reference.summary()["coverage"] >= 0.95  # MediaPipe finds the runner nearly always
    assert error is not None and error < MAX_MEAN_PIXEL_ERROR


def test_two_interleaved_streams_without_ids_are_tracked_apart(lite_service, frames):
    """The backend's pattern: two concurrent sequential streams, 50 ms spacing, no video id;
    the second starts mid-video. Every frame is answered, in order, and every frame after a
    stream's first detection carries a pose."""
    starts = {"a": 0, "b": 100}
    length = 50
    results: dict[str, object] = {}

    def run(name: str) -> None:
        first = starts[name]
        chunk = list(frames[first : first + length])
        dropped = burst_miss_mask(length, MISS_SHARE, BURST, seed=len(name) + first)
        results[name] = (
            stream_video(lite_service.url, chunk, dropped, spacing_ms=50, progress=False,
                         session=requests.Session(), first_frame_number=first),
            dropped,
        )  # fmt: skip

    threads = [threading.Thread(target=run, args=(n,)) for n in starts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    sessions = {}
    for name, (result, dropped) in results.items():
        assert result.statuses == [200] * length
        numbers = [a["frame_number"] for a in result.answers]
        assert numbers == list(range(starts[name], starts[name] + length))
        first = next(i for i, a in enumerate(result.answers) if a["has_3d"])
        assert all(a["has_3d"] for a in result.answers[first:]), name
        assert any(a["temporal"]["source"] == "predicted" for a in result.answers), name
        ids = {a["session_id"] for a in result.answers}
        assert len(ids) == 1, f"stream {name} was split over sessions {ids}"
        sessions[name] = ids.pop()
        assert int(np.sum(dropped)) > 0
    assert sessions["a"] != sessions["b"]


def test_every_log_line_is_json_without_image_data(lite_service, reference):
    """journald gets one JSON object per line: the service's events, gunicorn's own lines and
    MediaPipe's native stderr lines (captured in the worker) alike; no image data in any."""
    lines = [line for line in lite_service.log_text().splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]  # raises on the first plain-text line
    loggers = {e.get("logger") for e in events}
    assert {"gunicorn.error", "pose_service.api", "native"} <= loggers, loggers
    assert any(e["event"].startswith("Booting worker") for e in events)
    assert sum(e["event"] == "frame" for e in events) >= len(reference.answers)
    assert max(len(line) for line in lines) < 2000  # a 640x360 PNG as base64 is ~300 KB


def test_a_whole_video_job_does_not_hold_up_streaming_clients(lite_service, frames):
    """POST /pose/video takes one FIFO turn per frame: a client streaming meanwhile waits for
    at most a job frame, never for the whole job (real gunicorn, real MediaPipe)."""
    job_frames = 60
    payload = {"frames": [b64(png) for png in frames[:job_frames]]}
    response = requests.post(f"{lite_service.url}/pose/video", json=payload, timeout=60)
    assert response.status_code == 202
    job_url = f"{lite_service.url}/jobs/{response.json()['job_id']}"
    streamed = stream_video(lite_service.url, list(frames[100:105]), None, spacing_ms=0,
                            progress=False, first_frame_number=100)  # fmt: skip
    assert streamed.statuses == [200] * 5
    during = requests.get(job_url, timeout=10).json()
    assert during["status"] in {"queued", "running"} and during["frames_done"] < job_frames, during
    deadline = time.monotonic() + 240
    while (body := requests.get(job_url, timeout=10).json())["status"] in {"queued", "running"}:
        assert time.monotonic() < deadline, body
        time.sleep(0.2)
    assert body["status"] == "done", body
    result = body["result"]["frames"]
    assert [f["frame_number"] for f in result] == list(range(job_frames))
    assert all(f["has_3d"] for f in result)  # whole-video mode: every frame covered
