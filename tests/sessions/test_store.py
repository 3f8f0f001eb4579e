"""The session store on real SQLite: unreadable files moved aside, failed saves retried."""

from __future__ import annotations

import pickle
import sqlite3
from pathlib import Path

import numpy as np
import pytest

import pose_service.sessions.store
from pose_service.sessions.router import Session
from pose_service.sessions.store import SessionStore, StoreRetry, open_store
from pose_service.tracking.track import Track, TrackerConfig
from tests.support.logs import captured_logs
from tests.tracking.test_track import person

CONFIG = TrackerConfig()


def session(session_id: str, frames_seen: int, size: int = 20_000) -> Session:
    """A real session with a few tracked frames and a thumbnail of about ``size`` bytes."""
    track = Track(CONFIG)
    for i in range(3):
        track.step(i, [person(i)])
    side = max(int(size**0.5), 1)
    thumbnail = np.random.default_rng(0).integers(0, 255, (side, side), dtype=np.uint8)
    made = Session.of_track(session_id, False, (640, 360), track, 0.0, frames_seen)
    made.order.place(frames_seen, thumbnail)  # a picture of the video, kept in its state
    return made


def load(store: SessionStore) -> list[Session]:
    return store.load(max_idle_s=1e9, now_monotonic=0.0, config=CONFIG)


def saved_store(path: Path, count: int = 6) -> None:
    store = SessionStore(path)
    store.save([session(f"s{i}", 1) for i in range(count)], now_monotonic=0.0)
    store.close()


def damage_one_page(path: Path) -> None:
    """Overwrite the third page (a b-tree page of the sessions table) with garbage."""
    page = sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0]
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    with open(path, "r+b") as handle:
        handle.seek(2 * page)
        handle.write(b"\xff" * 64)


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(damage_one_page, id="damaged-page"),
        pytest.param(lambda p: p.write_bytes(b"not a database at all" * 100), id="garbage"),
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[:1500]), id="truncated"),
    ],
)
def test_an_unreadable_file_is_moved_aside_and_a_fresh_one_opened(tmp_path: Path, spoil) -> None:
    path = tmp_path / "sessions.sqlite3"
    saved_store(path)
    spoil(path)
    original = path.read_bytes()
    opened = open_store(path)
    assert opened.store is not None and opened.error
    assert opened.moved_aside is not None and opened.moved_aside.read_bytes() == original
    assert load(opened.store) == []
    assert opened.store.save([session("new", 1)], now_monotonic=0.0) == 1


def test_a_directory_it_cannot_write_leaves_persistence_off_with_the_reason(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "sessions.sqlite3").mkdir()  # even root cannot open a directory as a database
    opened = open_store(state / "sessions.sqlite3")
    assert opened.store is None and "unable to open" in opened.error
    assert opened.moved_aside is None


def test_a_failed_save_is_not_counted_saved_and_is_retried(tmp_path: Path) -> None:
    """SQLite's own 'database or disk is full' (the page limit standing in for the disk)."""
    store = SessionStore(tmp_path / "sessions.sqlite3")
    store.save([session("a", 1, size=100)], now_monotonic=0.0)
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(sqlite3.OperationalError, match="full"):
        store.save([session("a", 1, size=100), session("b", 1, size=200_000)], 0.0)
    store._db.execute("PRAGMA max_page_count = 1000000")  # space is back
    assert store.save([session("a", 1, size=100), session("b", 1, size=200_000)], 0.0) == 1
    store.close()
    reopened = SessionStore(tmp_path / "sessions.sqlite3")
    ids = sorted(s.session_id for s in load(reopened))
    assert ids == ["a", "b"]


def test_a_row_it_cannot_read_is_logged_and_dropped(tmp_path: Path, monkeypatch) -> None:
    """A row of an older version (a pickle, as saved before the explicit format) or damaged."""
    store = SessionStore(tmp_path / "sessions.sqlite3")
    store.save([session("kept", 1)], now_monotonic=0.0)
    insert = "INSERT INTO sessions VALUES (?, strftime('%s','now'), 0, 1, ?)"
    store._db.execute(insert, ("old", pickle.dumps({"a": 1})))
    store._db.execute(insert, ("damaged", b"PK\x03\x04 garbage"))
    with captured_logs(monkeypatch, pose_service.sessions.store) as logs:
        assert [s.session_id for s in load(store)] == ["kept"]
    unreadable = {e["session"]: e["error"] for e in logs if e["event"] == "session_unreadable"}
    assert set(unreadable) == {"old", "damaged"}
    assert store._db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 1


def test_a_store_that_cannot_open_is_retried_with_doubling_waits_up_to_a_cap() -> None:
    retry = StoreRetry(first_s=2.0, max_s=10.0)
    assert retry.due(0.0)
    waits = []
    now = 0.0
    for _ in range(5):
        retry.failed(now)
        waits.append(retry.wait_s)
        assert not retry.due(now + retry.wait_s - 0.01)
        now += retry.wait_s
        assert retry.due(now)
    assert waits == [2.0, 4.0, 8.0, 10.0, 10.0]
    assert retry.attempts == 5
