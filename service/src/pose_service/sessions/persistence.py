"""Saving the live sessions while the service runs, and loading them back at start.

:class:`SessionPersistence` owns the store (``store``), its state as ``/health`` reports it
(``facts``), and the saver thread: it opens the store at start (moving an unreadable file aside),
retries with backoff while the state directory is not writable, saves every interval in a
priority turn of the model (no frame is tracked while sessions are written) and once more at a
graceful stop. Nothing outside changes its facts.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from ..model.scheduling import QueueTimeout, ShuttingDown
from ..observability import get_logger
from .router import SessionRouter
from .store import SessionStore, StoreRetry, move_aside, open_store

log = get_logger("pose_service.pipeline")  # the events' logger name is part of the log contract

STORE_FILE = "sessions.sqlite3"


class SessionPersistence:
    """The session store of one worker and the thread that writes to it."""

    def __init__(
        self,
        router: SessionRouter,
        *,
        enabled: bool,
        state_dir: str | Path,
        idle_s: float,
        interval_s: float,
        retry_max_s: float,
        quiet_turn: Callable[[], AbstractContextManager[object]],
    ) -> None:
        self._router = router
        self._enabled = enabled
        self._path = Path(state_dir) / STORE_FILE
        self._idle_s = idle_s
        self._interval_s = interval_s
        self._retry_max_s = retry_max_s
        self._quiet_turn = quiet_turn  # a turn in which no frame is tracked (the gate's priority)
        self._stopping = threading.Event()
        self._facts: dict[str, object] = {"enabled": enabled}
        self._store = self._try_store() if enabled else None

    def facts(self) -> dict[str, object]:
        """Where persistence stands (``/health``'s ``persistence``): a copy."""
        return dict(self._facts)

    def _try_store(self) -> SessionStore | None:
        """Open the store (at start, and again from the saver while it cannot be opened)."""
        path = self._path
        opened = open_store(path)
        self._facts.update(path=str(path), ok=opened.store is not None, error=opened.error)
        if opened.moved_aside is not None:
            self._facts["moved_aside"] = str(opened.moved_aside)
            log.error(
                "session_store_unreadable",
                path=str(path),
                error=opened.error,
                moved_to=str(opened.moved_aside),
                starting="with no saved sessions",
            )
        elif opened.store is None:
            log.error(
                "session_store_unavailable",
                path=str(path),
                error=opened.error,
                persistence="retried with backoff; saving starts once the directory is writable",
            )
        return opened.store

    def restore_and_start(self) -> None:
        """Load the saved sessions into the router, then start the saver (also when the store
        is not open yet: it retries)."""
        try:
            self._load_saved_sessions()
        finally:
            if self._enabled:
                threading.Thread(
                    target=self._persist_loop, name="session-persist", daemon=True
                ).start()

    def _load_saved_sessions(self) -> None:
        if self._store is None:
            return
        router = self._router
        try:
            sessions = self._store.load(self._idle_s, router.now(), router.tracker_config)
        except sqlite3.DatabaseError as exc:  # damage quick_check did not see: start fresh
            self._store.close()
            aside = move_aside(self._store.path)
            log.error("session_store_unreadable", path=str(self._store.path), error=str(exc),
                      moved_to=str(aside), starting="with no saved sessions")  # fmt: skip
            self._facts = {"enabled": self._enabled}
            self._store = self._try_store()
            self._facts["moved_aside"] = str(aside)
            sessions = []
        router.restore(sessions)
        if sessions:
            log.info("sessions_restored", count=len(sessions),
                     sessions=[s.session_id for s in sessions])  # fmt: skip

    def _persist_loop(self) -> None:
        retry = StoreRetry(self._interval_s, self._retry_max_s)
        while not self._stopping.wait(self._interval_s):
            if self._store is None:
                if retry.due(time.monotonic()):
                    self._reopen_store(retry)
                continue
            try:
                # No frame is tracked while sessions are saved, and the save goes ahead of the
                # frames waiting, so what a SIGKILL loses stays about one interval.
                with self._quiet_turn():
                    self.save()
            except (QueueTimeout, ShuttingDown):
                continue  # busy: the next round saves
            except Exception as exc:  # noqa: BLE001 - the saver must outlive any one bad round
                log.error("session_persist_failed", error=f"{type(exc).__name__}: {exc}",
                          retry="every save interval")  # fmt: skip
                self._facts.update(ok=False, error=f"{type(exc).__name__}: {exc}")

    def _reopen_store(self, retry: StoreRetry) -> None:
        store = self._try_store()
        if store is None:
            retry.failed(time.monotonic())
            self._facts["next_retry_s"] = round(retry.wait_s, 3)
            return
        self._facts.pop("next_retry_s", None)
        log.info("session_store_opened", path=str(store.path), attempts=retry.attempts + 1)
        self._store = store

    def save(self) -> int:
        """Write changed sessions to the state directory (call with no frame in flight)."""
        if self._store is None:
            return 0
        try:
            saved = self._store.save(self._router.live_sessions(), self._router.now())
        except (OSError, sqlite3.Error, ValueError) as exc:
            if self._facts.get("ok"):
                log.error("session_persist_failed", error=str(exc), retry="every save interval")
            self._facts.update(ok=False, error=f"{type(exc).__name__}: {exc}")
            return 0
        if not self._facts.get("ok"):
            log.info("session_persist_recovered", saved=saved)
        self._facts.update(ok=True, error=None, last_saved_at=time.time())
        return saved

    def stop(self) -> int:
        """Stop the saver and save once more (call once no frame is in flight); sessions saved."""
        self._stopping.set()
        return self.save()
