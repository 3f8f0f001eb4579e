"""SIGTERM during a stream: the in-flight frame completes, later frames are refused cleanly."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.support.frames import b64, png_bytes
from tests.support.server import launch

pytestmark = pytest.mark.service  # real programs (gunicorn, nginx, MediaPipe): the service tier

FRAME = b64(png_bytes(64, 36))


def test_sigterm_lets_the_in_flight_frame_finish(replay_path, tmp_path):
    service = launch(
        tmp_path,
        {
            "POSE_SERVICE_ESTIMATOR": "replay",
            "POSE_SERVICE_REPLAY_PATH": str(replay_path),
            "POSE_SERVICE_REPLAY_DELAY_MS": "1500",
        },
    )
    answer: dict[str, object] = {}

    def in_flight() -> None:
        response = requests.post(
            service.url + "/pose/hybrid",
            timeout=30,
            json={"image_base64": FRAME, "frame_number": 4},
        )
        answer["status"] = response.status_code
        answer["body"] = response.json()

    thread = threading.Thread(target=in_flight)
    thread.start()
    time.sleep(0.5)  # the frame is inside the model now
    started = time.monotonic()
    exit_code = service.stop()  # SIGTERM, waits for the exit
    thread.join()
    assert answer["status"] == 200 and answer["body"]["has_3d"] is True
    assert exit_code == 0
    assert time.monotonic() - started >= 0.5  # it waited for the frame
    try:
        requests.post(
            service.url + "/pose/hybrid", timeout=5, json={"image_base64": FRAME, "frame_number": 5}
        )
    except requests.ConnectionError:
        pass  # refused: the backend records a per-frame error, nothing hangs
    else:
        raise AssertionError("a frame after shutdown was accepted")
    assert "Handling signal: term" in service.log_text()
