"""Live sessions kept on disk, so a service restart mid-video does not reset the tracks.

What is kept: every live session (its track's filters, history and whole-video record, its
routing facts), in one SQLite file under the service's state directory, written by a background
thread every ``interval`` seconds and once more on a graceful stop. What survives: sessions idle
for less than the session idle limit (``POSE_SERVICE_SESSION_IDLE_S``) when the service comes
back; older ones are dropped on load. A SIGKILL loses at most the last ``interval`` seconds.

Each row is one session in the explicit, versioned format of ``session_codec`` (no pickle: a
state file holds data only). A row that cannot be read (another version, damage) is logged
(``session_unreadable``) and dropped: that video starts a new track.

A file that opens but cannot be read (garbage, truncated, a damaged page) is moved aside, kept for
a post-mortem, and the service starts with a fresh one (:func:`open_store`); a session counts as
saved only once its transaction committed, so a failed save (a full disk) is retried next round.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..observability import get_logger
from ..tracking.config import TrackerConfig
from .codec import UnreadableSession, decode_session, encode_session
from .router import Session

log = get_logger("pose_service.store")

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    saved_at REAL NOT NULL,      -- wall clock (time.time) at save
    idle_s REAL NOT NULL,        -- seconds since the session's last frame, at save
    frames_seen INTEGER NOT NULL,
    state BLOB NOT NULL          -- the Session, as session_codec writes it
)
"""


class SessionStore:
    """One SQLite file of saved sessions."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock = threading.Lock()
        self._saved_frames: dict[str, int] = {}
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(SCHEMA)
            os.chmod(self.path, 0o600)
            check = self._db.execute("PRAGMA quick_check").fetchall()
            if check != [("ok",)]:
                problems = "; ".join(str(row[0]) for row in check[:3])
                raise sqlite3.DatabaseError(f"quick_check: {problems}")
        except BaseException:
            self._db.close()
            raise

    def save(self, sessions: list[Session], now_monotonic: float) -> int:
        """Write the sessions that changed since the last save; forget the ones gone. Marked
        saved only after COMMIT: a save that fails is rolled back and retried next round."""
        with self._lock:
            live = {s.session_id for s in sessions}
            gone = set(self._saved_frames) - live
            written: dict[str, int] = {}
            self._db.execute("BEGIN")
            try:
                for session_id in gone:
                    self._db.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))
                for session in sessions:
                    if self._saved_frames.get(session.session_id) == session.frames_seen:
                        continue
                    self._db.execute(
                        "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?)",
                        (
                            session.session_id,
                            time.time(),
                            max(now_monotonic - session.last_seen, 0.0),
                            session.frames_seen,
                            encode_session(session),
                        ),
                    )
                    written[session.session_id] = session.frames_seen
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            for session_id in gone:
                del self._saved_frames[session_id]
            self._saved_frames.update(written)
        return len(written)

    def load(self, max_idle_s: float, now_monotonic: float, config: TrackerConfig) -> list[Session]:
        """Sessions idle for less than ``max_idle_s`` (counting the downtime), oldest first,
        their tracks under this process's ``config``."""
        restored = []
        with self._lock:
            rows = self._db.execute(
                "SELECT session_id, saved_at, idle_s, frames_seen, state FROM sessions"
            ).fetchall()
            for session_id, saved_at, idle_s, frames_seen, state in rows:
                idle = idle_s + max(time.time() - saved_at, 0.0)
                if idle > max_idle_s:
                    self._db.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))
                    continue
                try:
                    session = decode_session(bytes(state), config, now_monotonic - idle)
                except UnreadableSession as exc:
                    log.warning("session_unreadable", session=session_id, error=str(exc),
                                dropped="its video starts a new track")  # fmt: skip
                    self._db.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))
                    continue
                restored.append(session)
                self._saved_frames[session_id] = frames_seen
        return sorted(restored, key=lambda s: s.last_seen)

    def close(self) -> None:
        with self._lock:
            self._db.close()


@dataclass
class StoreOpened:
    """What :func:`open_store` found: the store (None: persistence off), why, what was moved."""

    store: SessionStore | None
    error: str | None = None
    moved_aside: Path | None = None


def open_store(path: Path) -> StoreOpened:
    """The session store at ``path``; an unreadable file is moved aside and a fresh one made.

    A directory or file the service cannot write leaves persistence off (``error`` says why).
    """
    try:
        return StoreOpened(SessionStore(path))
    except (OSError, sqlite3.OperationalError) as exc:  # not writable, not a directory
        return StoreOpened(None, f"{type(exc).__name__}: {exc}")
    except sqlite3.DatabaseError as exc:  # garbage, truncated, a damaged page
        reason = f"{type(exc).__name__}: {exc}"
    aside = move_aside(path)
    try:
        return StoreOpened(SessionStore(path), reason, aside)
    except (OSError, sqlite3.Error) as exc:
        return StoreOpened(None, f"{reason}; a fresh file failed too: {exc}", aside)


@dataclass
class StoreRetry:
    """When to try a store that could not be opened again: first after ``first_s``, then twice
    as long after each failure, never more than ``max_s`` apart, so a full disk freed later
    starts saving by itself without a busy loop against it."""

    first_s: float
    max_s: float
    attempts: int = 0
    wait_s: float = 0.0
    _next_at: float | None = None

    def due(self, now: float) -> bool:
        """Whether an attempt may be made at ``now`` (the first one always may)."""
        return self._next_at is None or now >= self._next_at

    def failed(self, now: float) -> None:
        """Record a failed attempt at ``now``: the next waits twice as long, up to ``max_s``."""
        self.attempts += 1
        self.wait_s = min(self.max_s, self.first_s * 2 ** (self.attempts - 1))
        self._next_at = now + self.wait_s


def move_aside(path: Path) -> Path:
    """Rename the database (and its WAL files) to ``NAME.unreadable-<epoch>``; the new name."""
    aside = path.with_name(f"{path.name}.unreadable-{int(time.time())}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(str(path) + suffix)
        if source.exists():
            source.replace(Path(str(aside) + suffix))
    return aside
