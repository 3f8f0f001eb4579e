"""Putting requests in a known order at a busy gate (tests of FIFO order and batching)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from pose_service.model.scheduling import FifoGate


def queue_in_order(gate: FifoGate, call: Callable[[Any], None], items: Iterable[Any]) -> list:
    """Start ``call(item)`` in a thread per item, each one waiting at the (busy) ``gate``
    before the next starts, so the arrival order is certain. Returns the started threads."""
    threads = []
    for item in items:
        before = gate.waiting
        thread = threading.Thread(target=call, args=(item,))
        thread.start()
        threads.append(thread)
        while gate.waiting <= before:
            time.sleep(0.001)
    return threads


def wait_until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)
