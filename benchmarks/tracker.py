"""Tracker cost per frame, and memory per live session over a long video (tracemalloc).

One session (``SessionRouter`` + its ``Track``, the service's own code) is fed a walking person
with about a third of frames missed (so predictions run too), with and without a 6890-vertex
mesh. Memory is what tracemalloc sees allocated and still alive after each checkpoint, minus
what was alive before the session existed: the session's own state (track, history, thumbnail).

    .venv/bin/python -m benchmarks.tracker [--frames 10000] [--json]
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from typing import Any

import numpy as np

from benchmarks.common import detected, emit, parser, percentiles, walking_person

WIDTH, HEIGHT = 640, 360


def _session_feed(frames: int, mesh: bool) -> Any:
    """(router, frame iterator): the service's own session router, and what the estimator found."""
    from pose_service.config import Settings
    from pose_service.sessions.router import SessionPolicy, SessionRouter

    router = SessionRouter(SessionPolicy(), Settings().tracker_config())
    people = (
        (n, [walking_person(n, WIDTH, HEIGHT, mesh)] if detected(n) else []) for n in range(frames)
    )
    return router, people


def time_steps(frames: int, mesh: bool) -> dict[str, float]:
    """Route + step time per frame (no tracemalloc: it would slow every allocation)."""
    router, feed = _session_feed(frames, mesh)
    thumbnail = np.zeros((9, 16), np.float32)
    steps: list[float] = []
    for n, people in feed:
        start = time.perf_counter()
        routing = router.route(n, (WIDTH, HEIGHT), thumbnail, None)
        routing.track.step(routing.time_index, people)
        steps.append((time.perf_counter() - start) * 1e3)
    return percentiles(steps)


def session_memory(frames: int, mesh: bool, checkpoints: list[int]) -> dict[str, Any]:
    """Live memory of one session at each checkpoint, and the lines that grew the most."""
    gc.collect()
    tracemalloc.start(1)
    base, _ = tracemalloc.get_traced_memory()
    router, feed = _session_feed(frames, mesh)
    thumbnail = np.zeros((9, 16), np.float32)
    memory: dict[str, float] = {}
    first: Any = None
    last: Any = None
    for n, people in feed:
        routing = router.route(n, (WIDTH, HEIGHT), thumbnail, None)
        routing.track.step(routing.time_index, people)
        del people  # the service keeps nothing of a request once it is answered
        if n + 1 in checkpoints:
            gc.collect()
            current, _ = tracemalloc.get_traced_memory()
            memory[str(n + 1)] = round((current - base) / 2**20, 3)
            snapshot = tracemalloc.take_snapshot()
            first = first or snapshot
            last = snapshot
    tracemalloc.stop()
    growth_sites = []
    if first is not None and last is not first:
        for stat in last.compare_to(first, "lineno")[:3]:
            if stat.size_diff > 0:
                frame = stat.traceback[0]
                growth_sites.append(
                    {"where": f"{frame.filename.split('src/')[-1]}:{frame.lineno}",
                     "kib": round(stat.size_diff / 1024, 1), "blocks": stat.count_diff}
                )  # fmt: skip
    values = list(memory.values())
    return {
        "session_mib": memory,
        "growth_mib": round(values[-1] - values[0], 3) if len(values) > 1 else 0.0,
        "growth_sites": growth_sites,
    }


def run_case(frames: int, mesh: bool, checkpoints: list[int]) -> dict[str, Any]:
    return {"step_ms": time_steps(frames, mesh), **session_memory(frames, mesh, checkpoints)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=10_000)
    args = p.parse_args(argv)
    checkpoints = sorted({c for c in (100, 1000, 5000, 10_000) if c <= args.frames} | {args.frames})
    cases = {
        ("mesh" if mesh else "nomesh"): run_case(args.frames, mesh, checkpoints)
        for mesh in (False, True)
    }
    result = {"benchmark": "tracker", "frames": args.frames, "cases": cases}
    header = [
        "case",
        "step p50 ms",
        "step p95 ms",
        *[f"MiB @{c}" for c in checkpoints],
        "growth MiB",
    ]
    rows = [
        [
            name,
            c["step_ms"]["p50"],
            c["step_ms"]["p95"],
            *c["session_mib"].values(),
            c["growth_mib"],
        ]
        for name, c in cases.items()
    ]
    emit(result, rows, header, args.json)
    return result


if __name__ == "__main__":
    main()
