"""Whole-video jobs kept on disk, so a restart, a SIGKILL or a SIGTERM never loses one.

One SQLite file (``jobs.sqlite3``) beside the session store in the service's state directory.
A job is written when it is accepted (``queued``, with what it needs to run again: its kind,
its input file in the state directory and its parameters), marked ``running`` when a worker
takes it, and rewritten when it ends (``done`` with its result, or ``failed`` with the reason).
On the next start the queued and running rows are what must be resumed; the finished ones are
answered until their results expire, as in the running service.

Every write commits before the call returns (``synchronous=FULL``): a job the service has
answered 202 for is on disk, so a SIGKILL right after cannot make its id unknown.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ..observability import get_logger
from ..sessions.store import move_aside

log = get_logger("pose_service.job_store")
JOBS_FILE = "jobs.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,            -- how the job runs (``videos.JOB_KINDS``)
    input_path TEXT,               -- its input in the state directory, while it is active
    params BLOB NOT NULL,          -- JSON: what the kind needs besides the input
    total INTEGER,                 -- frames, when known up front
    status TEXT NOT NULL,          -- queued | running | done | failed
    starts INTEGER NOT NULL,       -- times a worker took it (a resume counts again)
    created REAL NOT NULL,         -- wall clock
    finished REAL,
    error TEXT,
    result BLOB                    -- JSON, once done
)
"""
RESULT_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


@dataclass
class JobRecord:
    """One row: what a job is and where it stands."""

    job_id: str
    kind: str
    input_path: str | None
    params: dict[str, Any] = field(default_factory=dict)
    total: int | None = None
    status: str = "queued"
    starts: int = 0
    created: float = field(default_factory=time.time)
    finished: float | None = None
    error: str | None = None
    result: Any = None


class JobStore:
    """The jobs table; every method commits before it returns."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(SCHEMA)
            self.path.chmod(0o600)
        except BaseException:
            self._db.close()
            raise

    def add(self, record: JobRecord) -> None:
        """Record an accepted job (``queued``); raises ``sqlite3.IntegrityError`` on an id the
        store already has."""
        with self._lock:
            self._db.execute(
                "INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)",
                (record.job_id, record.kind, record.input_path, orjson.dumps(record.params),
                 record.total, record.status, record.starts, record.created),
            )  # fmt: skip

    def started(self, job_id: str) -> int:
        """Mark the job running; how many times it has been started, this one included."""
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET status = 'running', starts = starts + 1 WHERE job_id = ?",
                (job_id,),
            )
            row = self._db.execute("SELECT starts FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return int(row[0]) if row else 0

    def requeued(self, job_id: str) -> None:
        """The job was interrupted (a graceful stop): it waits for the next start (unless it
        ended meanwhile: an end is never undone)."""
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET status = 'queued' WHERE job_id = ? AND finished IS NULL",
                (job_id,),
            )

    def finished(
        self, job_id: str, status: str, error: str | None, result: Any, when: float
    ) -> None:
        """Record how the job ended; its input is gone from then on. A result that is not JSON
        (an in-process caller's object) is kept in memory only: the row says done without it."""
        try:
            encoded = None if result is None else orjson.dumps(result, option=RESULT_OPTIONS)
        except TypeError:
            encoded = None
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET status = ?, error = ?, result = ?, finished = ?, "
                "input_path = NULL WHERE job_id = ?",
                (status, error, encoded, when, job_id),
            )

    def forget(self, job_id: str) -> None:
        """Drop a finished job whose result expired."""
        with self._lock:
            self._db.execute("DELETE FROM jobs WHERE job_id = ?", (job_id,))

    def load(self, result_ttl_s: float, max_results: int, now: float) -> list[JobRecord]:
        """Every active job and the finished ones still within their time (at most
        ``max_results``, the newest), oldest first; older finished rows are deleted."""
        with self._lock:
            self._db.execute(
                "DELETE FROM jobs WHERE finished IS NOT NULL AND finished < ?",
                (now - result_ttl_s,),
            )
            self._db.execute(
                "DELETE FROM jobs WHERE finished IS NOT NULL AND job_id NOT IN (SELECT job_id "
                "FROM jobs WHERE finished IS NOT NULL ORDER BY finished DESC LIMIT ?)",
                (max_results,),
            )
            rows = self._db.execute(
                "SELECT job_id, kind, input_path, params, total, status, starts, created, "
                "finished, error, result FROM jobs ORDER BY created"
            ).fetchall()
        return [_record(row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _record(row: tuple[Any, ...]) -> JobRecord:
    job_id, kind, input_path, params, total, status, starts, created, finished, error, result = row
    return JobRecord(
        job_id, kind, input_path, orjson.loads(params), total, status, starts, created,
        finished, error, None if result is None else orjson.loads(result),
    )  # fmt: skip


def open_job_store(state_dir: str | Path) -> JobStore | None:
    """The job store of a state directory; a file that is not a database (garbage, damage) is
    moved aside (``tracking.store.move_aside``, kept) and a fresh one made. None (logged) when
    it cannot be opened at all: jobs then run as before, in memory only."""
    path = Path(state_dir) / JOBS_FILE
    try:
        try:
            return JobStore(path)
        except sqlite3.OperationalError:
            raise
        except sqlite3.DatabaseError as exc:
            aside = move_aside(path)
            log.error("job_store_unreadable", path=str(path), error=str(exc),
                      moved_to=str(aside), starting="with no saved jobs")  # fmt: skip
            return JobStore(path)
    except (OSError, sqlite3.Error) as exc:
        log.error("job_store_unavailable", path=str(path), error=f"{type(exc).__name__}: {exc}",
                  jobs="kept in memory only: a restart loses them")  # fmt: skip
        return None
