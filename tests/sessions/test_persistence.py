"""``SessionPersistence`` in process: what it saves comes back in a new router, its facts say
where it stands, and a directory it cannot write to is retried by the saver until it can."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from pose_service.sessions.persistence import STORE_FILE, SessionPersistence
from pose_service.sessions.policy import SessionPolicy
from pose_service.sessions.router import SessionRouter
from tests.sessions.test_store import CONFIG, session


def _persistence(
    state_dir: Path, interval_s: float = 60.0, enabled: bool = True
) -> tuple[SessionPersistence, SessionRouter]:
    router = SessionRouter(SessionPolicy(), CONFIG)
    persistence = SessionPersistence(
        router,
        enabled=enabled,
        state_dir=state_dir,
        idle_s=1e9,
        interval_s=interval_s,
        retry_max_s=interval_s,
        quiet_turn=contextlib.nullcontext,
    )
    return persistence, router


def test_saved_sessions_come_back_in_the_next_process(tmp_path: Path):
    first, router = _persistence(tmp_path)
    router.restore([session("s1", 3), session("s2", 5)])
    assert first.stop() == 2
    facts = first.facts()
    assert facts["ok"] is True and facts["path"] == str(tmp_path / STORE_FILE)
    second, restored = _persistence(tmp_path)
    second.restore_and_start()
    assert {s.session_id for s in restored.live_sessions()} == {"s1", "s2"}
    second.stop()


def test_disabled_it_keeps_nothing_and_says_so(tmp_path: Path):
    off, router = _persistence(tmp_path, enabled=False)
    router.restore([session("s1", 3)])
    assert off.stop() == 0 and off.facts() == {"enabled": False}
    assert not (tmp_path / STORE_FILE).exists()


def test_an_unwritable_directory_is_retried_until_it_can_be_written(tmp_path: Path):
    blocked = tmp_path / "state"
    blocked.write_text("a file where the state directory should be")
    persistence, _ = _persistence(blocked, interval_s=0.05)
    assert persistence.facts()["ok"] is False
    persistence.restore_and_start()  # the saver starts anyway, and retries the store
    blocked.unlink()
    blocked.mkdir()
    deadline = time.monotonic() + 5
    while not persistence.facts()["ok"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert persistence.facts()["ok"] is True
    persistence.stop()
