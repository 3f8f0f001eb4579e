"""A restart mid-video keeps the track: sessions are saved in the state directory."""

from __future__ import annotations

import time

import pytest
import requests

from tests.support.frames import b64, png_bytes
from tests.support.motion import HEIGHT, WIDTH
from tests.support.server import launch, replay_env

pytestmark = pytest.mark.service  # real programs (gunicorn, nginx, MediaPipe): the service tier

FRAME = b64(png_bytes(WIDTH, HEIGHT))


def send(url: str, n: int) -> dict:
    response = requests.post(url + "/pose/hybrid", timeout=10,
                             json={"image_base64": FRAME, "frame_number": n})  # fmt: skip
    assert response.status_code == 200
    return response.json()


def test_a_restart_in_the_middle_of_a_video_keeps_its_track(replay_path, tmp_path):
    env = replay_env(replay_path, tmp_path / "state")
    first = launch(tmp_path, env)
    answers = [send(first.url, n) for n in range(10)]  # the recording detects frames 2..9
    session_id = answers[-1]["session_id"]
    assert first.stop() == 0  # graceful: systemctl restart
    assert (tmp_path / "state" / "sessions.sqlite3").is_file()

    second = launch(tmp_path, env)
    try:
        # Frame 10 is a miss in the recording: without the saved track it would be "no_track_yet".
        resumed = send(second.url, 10)
        assert resumed["session_id"] == session_id
        assert resumed["has_3d"] is True and resumed["temporal"]["source"] == "predicted"
        assert resumed["temporal"]["track_id"] == answers[-1]["temporal"]["track_id"]
        assert "sessions_restored" in second.log_text()
    finally:
        second.stop()


def test_without_persistence_a_restart_starts_over(replay_path, tmp_path):
    env = replay_env(replay_path, tmp_path / "state", session_persist="false")
    first = launch(tmp_path, env)
    for n in range(10):
        send(first.url, n)
    first.stop()
    second = launch(tmp_path, env)
    try:
        assert send(second.url, 10)["has_3d"] is False
    finally:
        second.stop()


def test_the_periodic_save_survives_a_sigkill_of_the_whole_service(replay_path, tmp_path):
    import os
    import signal
    import time

    env = replay_env(replay_path, tmp_path / "state", session_persist_interval_s="0.3")
    first = launch(tmp_path, env)
    answers = [send(first.url, n) for n in range(10)]
    time.sleep(1.0)  # a few save rounds
    os.killpg(first.process.pid, signal.SIGKILL)  # master and worker: no goodbye
    first.process.wait()
    second = launch(tmp_path, env)
    try:
        resumed = send(second.url, 10)
        assert resumed["session_id"] == answers[-1]["session_id"]
        assert resumed["temporal"]["source"] == "predicted"
    finally:
        second.stop()


def test_a_damaged_state_file_is_moved_aside_and_the_service_gets_ready(replay_path, tmp_path):
    """Before: the loader thread died on 'database disk image is malformed' and /health said
    warming_up forever, restart or not."""
    from tests.sessions.test_store import damage_one_page, saved_store

    state = tmp_path / "state"
    state.mkdir()
    saved_store(state / "sessions.sqlite3")
    damage_one_page(state / "sessions.sqlite3")
    env = replay_env(replay_path, state)
    service = launch(tmp_path, env, ready_timeout=30)
    try:
        persistence = requests.get(service.url + "/health", timeout=5).json()["persistence"]
        assert persistence["ok"] is True and persistence["moved_aside"].startswith(str(state))
        assert send(service.url, 0)["frame_number"] == 0
        assert "session_store_unreadable" in service.log_text()
    finally:
        service.stop()
    assert list(state.glob("sessions.sqlite3.unreadable-*"))


def test_health_says_when_sessions_cannot_be_kept(replay_path, tmp_path):
    state = tmp_path / "state"
    (state / "sessions.sqlite3").mkdir(parents=True)  # a directory where the file should be
    env = replay_env(replay_path, state)
    service = launch(tmp_path, env, ready_timeout=30)
    try:
        persistence = requests.get(service.url + "/health", timeout=5).json()["persistence"]
        assert persistence["enabled"] is True and persistence["ok"] is False
        assert "unable to open" in persistence["error"]
        assert send(service.url, 0)["frame_number"] == 0
    finally:
        service.stop()


def test_a_store_that_cannot_open_at_start_starts_saving_once_it_can(replay_path, tmp_path):
    """Issue 24: a state directory unwritable at start (a directory where the file goes stands
    for a full or read-only disk, which root ignores) used to leave saving off until a restart;
    now the saver keeps trying with backoff and saves as soon as the path is usable."""
    state = tmp_path / "state"
    blocker = state / "sessions.sqlite3"
    blocker.mkdir(parents=True)
    env = replay_env(replay_path, state, session_persist_interval_s="0.2",
                     session_store_retry_max_s="0.4")  # fmt: skip
    service = launch(tmp_path, env, ready_timeout=30)
    try:
        assert send(service.url, 0)["frame_number"] == 0
        persistence = requests.get(service.url + "/health", timeout=5).json()["persistence"]
        assert persistence["ok"] is False and "unable to open" in persistence["error"]
        time.sleep(1.0)
        persistence = requests.get(service.url + "/health", timeout=5).json()["persistence"]
        assert persistence["ok"] is False and 0 < persistence["next_retry_s"] <= 0.4
        blocker.rmdir()  # space freed
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            persistence = requests.get(service.url + "/health", timeout=5).json()["persistence"]
            if persistence["ok"] and persistence.get("last_saved_at"):
                break
            time.sleep(0.1)
        assert persistence["ok"] is True and persistence["error"] is None, persistence
        assert "next_retry_s" not in persistence
        assert (state / "sessions.sqlite3").is_file()
        assert "session_store_opened" in service.log_text()
    finally:
        service.stop()


@pytest.mark.slow
def test_a_sigkill_under_a_full_queue_loses_at_most_one_save_interval(tmp_path):
    """Four videos streaming flat out into a queue kept full, the whole service SIGKILLed: each
    video loses at most the save interval's frames at its rate plus the one in the model.
    Before the save took ``priority_turn`` it queued behind the frames, and with the queue full
    was refused round after round: run against that code (437bba2^) this test failed 3 times
    of 3, losing up to 18-20 frames a video against a bound of 3 (``benchmarks.sigkill_loss``)."""
    from benchmarks.sigkill_loss import bound_frames, measure

    interval_s = 0.2
    result = measure(videos=4, kills=3, seconds=2.5, delay_ms=30, interval_s=interval_s,
                     work_dir=tmp_path)  # fmt: skip
    for n, kill in enumerate(result["rounds"]):
        for video, (lost, rate) in enumerate(zip(kill["lost"], kill["rate_fps"], strict=True)):
            bound = bound_frames(interval_s, rate)
            assert lost <= bound, f"kill {n}, video {video}: lost {lost} > {bound}: {result}"
        assert min(kill["restored"]) > 0, f"kill {n}: a video was never saved: {result}"
