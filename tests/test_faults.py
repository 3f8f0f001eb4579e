"""Faults injected into real gunicorn: a killed worker comes back, and no frame goes unanswered."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest
import requests

from pose_service.devtools.local_service import wait_until_ready
from tests.support.frames import b64, png_bytes
from tests.support.server import launch

pytestmark = pytest.mark.service  # real programs (gunicorn, nginx, MediaPipe): the service tier

FRAME = b64(png_bytes(64, 36))
MAX_RECOVERY_S = 30.0


def test_a_worker_killed_mid_stream_is_replaced_and_ready_again(replay_path, tmp_path):
    service = launch(tmp_path, {"POSE_SERVICE_ESTIMATOR": "replay",
                                "POSE_SERVICE_REPLAY_PATH": str(replay_path)})  # fmt: skip
    try:
        for n in range(5):
            post = requests.post(service.url + "/pose/hybrid", timeout=10,
                                 json={"image_base64": FRAME, "frame_number": n})  # fmt: skip
            assert post.status_code == 200
        master = psutil.Process(service.process.pid)
        (worker,) = master.children()
        os.kill(worker.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        recovery = wait_until_ready(service.url, MAX_RECOVERY_S, service.process)
        print(f"\nworker SIGKILL -> /health ready again in {time.monotonic() - killed_at:.2f} s")
        assert recovery < MAX_RECOVERY_S
        (replacement,) = master.children()
        assert replacement.pid != worker.pid
        after = requests.post(service.url + "/pose/hybrid", timeout=10,
                              json={"image_base64": FRAME, "frame_number": 5})  # fmt: skip
        assert after.status_code == 200 and after.json()["frame_number"] == 5
    finally:
        service.stop()
