"""FIFO, bounded access to the process's one model instance.

The model runs one frame at a time. Requests wait their turn in arrival order (a ticket queue,
not a bare lock, whose wake-up order is unspecified); when ``capacity`` requests are already
waiting, a new one is refused at once (the API answers 503 with ``Retry-After``) rather than
piling up behind a backend timeout. Requests that never need the model (``/health``) never
touch the gate, so they answer while an inference runs. ``TurnBatcher`` lets one turn take the
frames waiting behind it along, for estimators that run several frames in one pass.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


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

    @property
    def closed(self) -> bool:
        return self._closed

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

    @contextmanager
    def patient_turn(self, retry_s: float) -> Iterator[None]:
        """A turn for background work (whole-video jobs): when the queue is full or the wait
        times out, wait ``retry_s`` and queue again, so a job is slowed, never failed, by
        streaming traffic. Only :class:`ShuttingDown` gets through. Callers are few (the job
        workers), so this cannot grow the queue beyond ``capacity`` + workers."""
        while True:
            try:
                self._enter()
                break
            except (QueueFull, QueueTimeout):
                if self._closed:
                    raise ShuttingDown("the service is shutting down") from None
                time.sleep(retry_s)
        try:
            yield
        finally:
            self._leave()

    @contextmanager
    def priority_turn(self) -> Iterator[None]:
        """The next turn after the current holder's, ahead of the frames waiting: for the
        periodic session save, which must not wait behind a queue of frames (a SIGKILL loses
        what was answered since the last save, so a save delayed by the queue loses more).
        Not bounded by ``capacity``: its one caller holds at most one ticket."""
        self._enter(first=True)
        try:
            yield
        finally:
            self._leave()

    def _enter(self, first: bool = False) -> None:
        with self._lock:
            if self._closed:
                raise ShuttingDown("the service is shutting down")
            if not self._busy and not self._waiters:
                self._busy = True
                return
            if len(self._waiters) >= self.capacity and not first:
                self.refused += 1
                raise QueueFull(
                    f"{len(self._waiters)} frames already waiting (limit {self.capacity})"
                )
            ticket = threading.Event()
            if first:
                self._waiters.appendleft(ticket)
            else:
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


_NO_RESULT: Any = object()


@dataclass(eq=False)
class _Ticket(Generic[Item]):
    item: Item
    arrived: float
    claimed_at: float | None = None
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = _NO_RESULT
    error: BaseException | None = None


class TurnBatcher(Generic[Item, Result]):
    """Requests that wait for the model, taken together by whoever holds the gate.

    Every request adds its item, then waits its FIFO turn at the gate as before. The turn
    holder runs its own item together with up to ``max_items - 1`` others still waiting
    (oldest first) as one batch; a request whose item an earlier turn already took finds its
    answer ready when its own turn comes (or when the gate refuses it: a taken item is never
    lost). With ``max_items = 1`` this is exactly the plain gate. The gate's capacity, timeout
    and shutdown rules are unchanged, so is the arrival order of the work.
    """

    def __init__(self, gate: FifoGate, max_items: int) -> None:
        self.gate = gate
        self.max_items = max(1, max_items)
        self._lock = threading.Lock()
        self._waiting: deque[_Ticket[Item]] = deque()
        self.batches = 0
        self.batched_items = 0

    def run(self, item: Item, work: Callable[[list[Item]], list[Result]]) -> tuple[Result, float]:
        """``item``'s result (``work`` maps a batch of items to their results, in order) and
        the seconds it waited for a turn to take it."""
        ticket: _Ticket[Item] = _Ticket(item, time.perf_counter())
        with self._lock:
            self._waiting.append(ticket)
        try:
            with self.gate.turn():
                if ticket.claimed_at is None:
                    self._run(self._claim(ticket), work)
        except (QueueFull, QueueTimeout, ShuttingDown):
            with self._lock:
                if ticket.claimed_at is None:
                    self._waiting.remove(ticket)
                    raise
            ticket.done.wait()  # an earlier turn took it: its answer is on the way
        assert ticket.done.is_set() and ticket.claimed_at is not None
        if ticket.error is not None:
            raise _own_copy(ticket.error)
        return ticket.result, ticket.claimed_at - ticket.arrived

    def waiting_items(self) -> list[Item]:
        """The items waiting for a turn, oldest first (a snapshot; none is taken by it)."""
        with self._lock:
            return [ticket.item for ticket in self._waiting]

    def _claim(self, own: _Ticket[Item]) -> list[_Ticket[Item]]:
        now = time.perf_counter()
        with self._lock:
            room = self.max_items - 1  # besides its own item, oldest first
            batch = []
            for ticket in self._waiting:
                if ticket is own:
                    batch.append(ticket)
                elif room > 0:
                    batch.append(ticket)
                    room -= 1
            for ticket in batch:
                ticket.claimed_at = now
                self._waiting.remove(ticket)
        return batch  # in arrival order, as they wait

    def _run(self, batch: list[_Ticket[Item]], work: Callable[[list[Item]], list[Result]]) -> None:
        self.batches += 1
        self.batched_items += len(batch)
        try:
            results = work([t.item for t in batch])
            for ticket, result in zip(batch, results, strict=True):
                ticket.result = result
        except Exception as exc:  # noqa: BLE001 - every request of the batch answers with it
            for ticket in batch:
                ticket.error = exc
        finally:
            for ticket in batch:
                if ticket.result is _NO_RESULT and ticket.error is None:
                    ticket.error = RuntimeError("the batch was interrupted")
                ticket.done.set()


def _own_copy(error: BaseException) -> BaseException:
    """The batch's error for one request's thread (one exception object raised in several
    threads would share and overwrite one traceback)."""
    try:
        return copy.copy(error)
    except Exception:  # noqa: BLE001 - an exception type copy cannot rebuild
        return error
