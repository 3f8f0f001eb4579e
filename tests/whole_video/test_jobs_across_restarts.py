"""A whole-video job survives the service: real gunicorn (lite) killed mid-job, SIGKILL or
SIGTERM, then started again on the same state directory; the job answers every frame, and no
input the service wrote is left anywhere (its uploads directory, its temporary directory)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
import requests

from tests.support.frames import write_runner_cut
from tests.support.server import RunningService, launch

pytestmark = pytest.mark.slow
CLIP_FRAMES = 180  # the whole real clip, at the backend's 640 px
KILL_AFTER_FRAMES = 30


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "runner.mp4"
    return write_runner_cut(path, frames=CLIP_FRAMES)


def _env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return {
        "POSE_SERVICE_ESTIMATOR": "lite",
        "POSE_SERVICE_STATE_DIR": str(tmp_path / "state"),
        "TMPDIR": str(tmp_path / "tmp"),  # werkzeug's spooled bodies, PHALP's outputs
    }


def _status(service: RunningService, path: str) -> dict:
    response = requests.get(service.url + path, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def _wait(service: RunningService, path: str, until, timeout_s: float = 240.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        body = _status(service, path)
        if until(body):
            return body
        assert time.monotonic() < deadline, f"timed out: {body}"
        time.sleep(0.2)


def _events(service: RunningService, event: str) -> list[dict]:
    found = []
    for line in service.log_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("event") == event:
            found.append(record)
    return found


def _kill(service: RunningService, how: str) -> None:
    if how == "sigkill":  # master and worker: no goodbye
        os.killpg(service.process.pid, signal.SIGKILL)
        service.process.wait()
    else:
        assert service.stop() == 0  # SIGTERM: gunicorn's graceful stop


# (route that submits, its fields, status route, the status words of running and done)
ROUTES = {
    "pose_video": ("/pose/video", "video", {}, "/jobs/{}", ("queued", "running"), "done"),
    "legacy": ("/process_video_async", "video", {"max_frames": str(CLIP_FRAMES)},
               "/job_status/{}", ("queued", "processing"), "complete"),
}  # fmt: skip


@pytest.mark.parametrize(("how", "route"), [("sigkill", "pose_video"), ("sigterm", "legacy")])
def test_a_job_cut_short_by_the_service_completes_with_every_frame_after_a_restart(
    tmp_path, clip, how, route
):
    submit, field, form, status_path, running, done = ROUTES[route]
    env = _env(tmp_path)
    first = launch(tmp_path, env)
    with clip.open("rb") as video:
        response = requests.post(first.url + submit, files={field: ("runner.mp4", video)},
                                 data=form, timeout=60)  # fmt: skip
    assert response.status_code in (200, 202), response.text
    job_id = response.json()["job_id"]
    path = status_path.format(job_id)
    _wait(first, path, lambda b: b["frames_done"] >= KILL_AFTER_FRAMES)
    uploads = tmp_path / "state" / "uploads"
    assert len(list(uploads.iterdir())) == 1  # the input waits in the state directory
    _kill(first, how)
    if how == "sigterm":
        interrupted = _events(first, "job_interrupted")
        assert [e["job"] for e in interrupted] == [job_id]
        assert interrupted[0]["resumes"] == "on the next start"
    assert len(list(uploads.iterdir())) == 1  # kept for the restart

    second = launch(tmp_path, env)
    try:
        seen = _status(second, path)  # known at once: never a 404 while the store has it
        assert seen["status"] in (*running, done)
        body = _wait(second, path, lambda b: b["status"] not in running)
        assert body["status"] == done, body
        result = body["result"]
        assert result["frame_count"] == CLIP_FRAMES and not result.get("truncated")
        assert [f["frame_number"] for f in result["frames"]] == list(range(CLIP_FRAMES))
        assert sum(f["has_3d"] for f in result["frames"]) >= 0.9 * CLIP_FRAMES  # the runner
        assert [e["job"] for e in _events(second, "job_resumed")] == [job_id]
        # No input survives its job: not in the state directory, not in the temporary one.
        assert list(uploads.iterdir()) == []
        assert list((tmp_path / "tmp").iterdir()) == []
        assert _status(second, "/health")["uploads"]["used_bytes"] == 0
    finally:
        second.stop()
