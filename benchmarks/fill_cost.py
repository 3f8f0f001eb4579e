"""What filling held frames from both sides costs inside the model's turn (``lookahead``).

A track of the benchmarks' walking person (lite-like: joints, keypoints, box; hmr2-like: plus
24 joint rotations and a 6890-vertex mesh) with 2 missed frames before a detection; ``fill_between``
timed over the look-ahead's window (the gap and ``FILL_CONTEXT_FRAMES`` before the detection
ahead of it) and over the whole history of answers kept (32 frames).

    .venv/bin/python -m benchmarks.fill_cost [--repeats 15] [--json]
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks.common import emit, parser, percentiles, walking_person
from pose_service.tracking import lookahead
from pose_service.tracking.track import Track, TrackerConfig

FRAMES, MISSED = 38, (35, 36)  # the detection after them: frame 37


def _track(mesh: bool) -> Track:
    track = Track(TrackerConfig(record_max_frames=0))
    for n in range(FRAMES):
        person = walking_person(n, 640, 360, mesh)
        track.step(n, [] if n in MISSED else [person])
    return track


def _time(track: Track, context: int, repeats: int) -> dict[str, float]:
    kept = lookahead.FILL_CONTEXT_FRAMES
    lookahead.FILL_CONTEXT_FRAMES = context
    try:
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            filled = lookahead.fill_between(track, list(MISSED), FRAMES - 1)
            samples.append((time.perf_counter() - start) * 1e3)
        assert sorted(filled) == list(MISSED)
    finally:
        lookahead.FILL_CONTEXT_FRAMES = kept
    return percentiles(samples)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=15)
    args = p.parse_args(argv)
    whole = TrackerConfig().history_frames
    result: dict[str, Any] = {"context_frames": lookahead.FILL_CONTEXT_FRAMES, "cases": {}}
    for name, mesh in (("lite_like", False), ("hmr2_like", True)):
        track = _track(mesh)
        result["cases"][name] = {
            "window_ms": _time(track, lookahead.FILL_CONTEXT_FRAMES, args.repeats),
            "whole_history_ms": _time(track, whole, args.repeats),
        }
    rows = [
        (name, c["window_ms"]["p50"], c["whole_history_ms"]["p50"])
        for name, c in result["cases"].items()
    ]
    emit(result, rows, ("case", "window p50 ms", "whole history p50 ms"), args.json)
    return result


if __name__ == "__main__":
    main()
