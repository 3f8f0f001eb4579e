"""Live sessions kept on disk, so a service restart mid-video does not reset the tracks.

What is kept: every live session (its track's filters, history and whole-video record, its
routing facts), in one SQLite file under the service's state directory, written by a background
thread every ``interval`` seconds and once more on a graceful stop. What survives: sessions idle
for less than the session idle limit (``POSE_SERVICE_SESSION_IDLE_S``) when the service comes
back; older ones are dropped on load. A SIGKILL loses at most the last ``interval`` seconds.

The state is pickled: the file lives in the service user's own state directory (0700), written
and read only by the service itself.
"""

from __future__ import annotations

import os
import pickle
import sqlite3
import threading
import time
from pathlib import Path

from .sessions import Session

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    saved_at REAL NOT NULL,      -- wall clock (time.time) at save
    idle_s REAL NOT NULL,        -- seconds since the session's last frame, at save
    frames_seen INTEGER NOT NULL,
    state BLOB NOT NULL          -- the pickled Session
)
"""


class SessionStore:
    """One SQLite file of pickled sessions."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(SCHEMA)
        os.chmod(self.path, 0o600)
        self._saved_frames: dict[str, int] = {}

    def save(self, sessions: list[Session], now_monotonic: float) -> int:
        """Write the sessions that changed since the last save; forget the ones gone."""
        written = 0
        with self._lock:
            live = {s.session_id for s in sessions}
            self._db.execute("BEGIN")
            for gone in set(self._saved_frames) - live:
                self._db.execute("DELETE FROM sessions WHERE session_id = ?", (gone,))
                del self._saved_frames[gone]
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
                        pickle.dumps(session, protocol=pickle.HIGHEST_PROTOCOL),
                    ),
                )
                self._saved_frames[session.session_id] = session.frames_seen
                written += 1
            self._db.execute("COMMIT")
        return written

    def load(self, max_idle_s: float, now_monotonic: float) -> list[Session]:
        """Sessions idle for less than ``max_idle_s`` (counting the downtime), oldest first."""
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
                    session = pickle.loads(state)
                except Exception:  # noqa: BLE001 - an unreadable row must not stop the service
                    self._db.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))
                    continue
                session.last_seen = now_monotonic - idle
                restored.append(session)
                self._saved_frames[session_id] = frames_seen
        return sorted(restored, key=lambda s: s.last_seen)

    def close(self) -> None:
        with self._lock:
            self._db.close()
