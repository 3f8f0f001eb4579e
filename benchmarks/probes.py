"""A client that keeps asking the service something while an attack runs, and what it saw.

The backend probes ``/health`` with a 5 s timeout; an answer later than that, none at all, or a
5xx is a probe the backend counts as a failure ("unanswered" here). The attacks
(``benchmarks.slow_clients``, ``tests/test_floods.py``) each run one for ``/health`` and judge
the service by its figures, so they measure the same thing the same way.

The probe runs in a process of its own: an attack's client threads (40 of them sending as fast
as they are answered) would otherwise hold the probe's interpreter lock, and the probe would
time its own wait for it as the service's.
"""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

PROBE_TIMEOUT_S = 5.0  # the backend's /health timeout
START_TIMEOUT_S = 30.0
_CONTEXT = multiprocessing.get_context("spawn")  # never fork a process with threads running


class Probe:
    """Sends ``GET path`` (or ``POST path`` with ``body`` as JSON) every ``every_s`` seconds
    from :meth:`start` until ``until`` (a ``time.perf_counter()`` deadline) or :meth:`stop`;
    a fresh connection each time, as the backend's client. Usable as a context manager."""

    def __init__(self, url: str, path: str = "/health", body: dict[str, Any] | None = None,
                 every_s: float = 0.25, timeout_s: float = PROBE_TIMEOUT_S) -> None:  # fmt: skip
        self.url, self.path, self.body = url, path, body
        self.every_s, self.timeout_s = every_s, timeout_s
        self.latencies_ms: list[float] = []  # of the answers, 5xx included
        self.codes: list[int] = []
        self.missed: list[str] = []  # the status of a 5xx, or the exception's type
        self.sent = 0
        self._stopped = _CONTEXT.Event()
        self._results, self._sender = _CONTEXT.Pipe(duplex=False)
        self._process: Any = None

    def start(self, until: float | None = None) -> Probe:
        """Begin probing (until ``until``, or :meth:`stop`) once the probe's process is up;
        returns itself."""
        seconds = None if until is None else max(0.0, until - time.perf_counter())
        ready = _CONTEXT.Event()
        args = (self.url, self.path, self.body, self.every_s, self.timeout_s, seconds,
                self._stopped, ready, self._sender)  # fmt: skip
        self._process = _CONTEXT.Process(target=_probe_loop, args=args, daemon=True)
        self._process.start()
        if not ready.wait(START_TIMEOUT_S):
            self._process.kill()
            raise RuntimeError("the probe's process did not start")
        return self

    def stop(self) -> Probe:
        """Stop after the probe in flight (if any) and collect what it saw; returns itself."""
        self._stopped.set()
        self.join()
        return self

    def join(self) -> None:
        """Wait for the probing to end (its deadline, or :meth:`stop`) and collect it."""
        if self._process is None:
            return
        latencies, codes, missed, sent = self._results.recv()
        self._process.join()
        self._process = None
        self.latencies_ms, self.codes, self.missed, self.sent = latencies, codes, missed, sent

    def __enter__(self) -> Probe:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def figures(self, name: str) -> dict[str, Any]:
        """``{name}_ms`` (p50/p95/mean of the answers), ``{name}_probes``,
        ``{name}_unanswered`` and ``{name}_ok`` (the 200s)."""
        from benchmarks.common import percentiles

        return {
            f"{name}_ms": percentiles(self.latencies_ms),
            f"{name}_probes": self.sent,
            f"{name}_unanswered": len(self.missed),
            f"{name}_ok": self.codes.count(200),
        }


def _probe_loop(url: str, path: str, body: dict[str, Any] | None, every_s: float,
                timeout_s: float, seconds: float | None, stopped: Any, ready: Any,
                results: Any) -> None:  # fmt: skip
    """The probe's process: probe until ``seconds`` are up or ``stopped``, then send back
    (latencies in ms, status codes, misses, probes sent)."""
    import requests

    latencies: list[float] = []
    codes: list[int] = []
    missed: list[str] = []
    sent = 0
    deadline = None if seconds is None else time.perf_counter() + seconds
    ready.set()
    while not stopped.is_set() and (deadline is None or time.perf_counter() < deadline):
        start = time.perf_counter()
        sent += 1
        try:
            if body is None:
                response = requests.get(url + path, timeout=timeout_s)
            else:
                response = requests.post(url + path, json=body, timeout=timeout_s)
        except requests.RequestException as exc:
            missed.append(type(exc).__name__)
        else:
            latencies.append((time.perf_counter() - start) * 1e3)
            codes.append(response.status_code)
            if response.status_code >= 500:
                missed.append(str(response.status_code))
        stopped.wait(max(0.0, every_s - (time.perf_counter() - start)))
    results.send((latencies, codes, missed, sent))
