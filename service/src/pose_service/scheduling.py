"""FIFO, bounded access to the process's one model instance.

The model runs one frame at a time. Requests wait their turn in arrival order (a ticket queue,
not a bare lock, whose wake-up order is unspecified); when ``capacity`` requests are already
waiting, a new one is refused at once (the API answers 503 with ``Retry-After``) rather than
piling up behind a backend timeout. Requests that never need the model (``/health``) never
touch the gate, so they answer while an inference runs.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class QueueFull(RuntimeError):
    """The wait queue is full: try again later."""


class QueueTimeout(RuntimeError):
    """Waited longer than the configured limit for the model."""


class ShuttingDown(RuntimeError):
    """The process is stopping: no new inference is started."""


class FifoGate:
    """A FIFO mutex with a bounded wait queue."""

    def __init__(self, capacity: int, timeout_s: float) -> None:
        self.capacity = capacity
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._waiters: deque[threading.Event] = deque()
        self._busy = False
        self._closed = False
        self.served = 0
        self.refused = 0

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @property
    def busy(self) -> bool:
        return self._busy

    def close(self) -> None:
        """Refuse new requests (SIGTERM); the one holding the gate and those waiting finish."""
        self._closed = True

    @contextmanager
    def turn(self) -> Iterator[float]:
        """Hold the model for one request; yields the seconds spent waiting."""
        start = time.perf_counter()
        self._enter()
        try:
            yield time.perf_counter() - start
        finally:
            self._leave()

    def _enter(self) -> None:
        with self._lock:
            if self._closed:
                raise ShuttingDown("the service is shutting down")
            if not self._busy and not self._waiters:
                self._busy = True
                return
            if len(self._waiters) >= self.capacity:
                self.refused += 1
                raise QueueFull(
                    f"{len(self._waiters)} frames already waiting (limit {self.capacity})"
                )
            ticket = threading.Event()
            self._waiters.append(ticket)
        if ticket.wait(self.timeout_s):
            return  # _leave handed the gate to us: _busy stays True
        with self._lock:
            if ticket.is_set():  # handed over just as we timed out: we own it after all
                return
            self._waiters.remove(ticket)
            self.refused += 1
        raise QueueTimeout(f"waited {self.timeout_s:.0f} s for the model")

    def _leave(self) -> None:
        with self._lock:
            self.served += 1
            if self._waiters:
                self._waiters.popleft().set()  # hand over directly: keeps FIFO order
            else:
                self._busy = False
