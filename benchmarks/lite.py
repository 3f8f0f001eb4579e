"""The ``lite`` estimator's (MediaPipe Pose) cost per frame on the real clip, on this CPU.

Frames are the backend's: the runner clip resized to 640 wide as PNG, decoded by the service.
Wall time and CPU time (process, all threads: MediaPipe runs its own) per ``estimate`` call.

    .venv/bin/python -m benchmarks.lite [--frames 180] [--width 640] [--json]
"""

from __future__ import annotations

import time
from itertools import islice
from typing import Any

from benchmarks.common import RUNNER_CLIP, emit, parser, percentiles


def measure(frames: int, width: int) -> dict[str, Any]:
    from pose_service.config import Settings
    from pose_service.devtools.demo import video_frames_png
    from pose_service.estimators.lite import MediaPipeEstimator
    from pose_service.imaging import decode_image
    from pose_service.types import Frame

    pngs = list(islice(video_frames_png(RUNNER_CLIP, width), frames))
    decoded = [Frame(decode_image(png, 10**8), n) for n, png in enumerate(pngs)]
    estimator = MediaPipeEstimator(Settings())
    estimator.load()
    estimator.estimate(decoded[0])  # first call initialises the graph
    wall: list[float] = []
    cpu: list[float] = []
    found = 0
    for frame in decoded:
        w0, c0 = time.perf_counter(), time.process_time()
        estimate = estimator.estimate(frame)
        wall.append((time.perf_counter() - w0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
        found += bool(estimate.people)
    return {
        "frames": len(decoded),
        "frame_size": f"{decoded[0].width}x{decoded[0].height}",
        "wall_ms": percentiles(wall),
        "cpu_ms": percentiles(cpu),
        "detected_share": round(found / max(len(decoded), 1), 3),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=180)
    p.add_argument("--width", type=int, default=640)
    args = p.parse_args(argv)
    figures = measure(args.frames, args.width)
    result = {"benchmark": "lite", "clip": RUNNER_CLIP.name, **figures}
    header = ["frames", "size", "wall p50 ms", "wall p95 ms", "cpu p50 ms", "cpu p95 ms", "found"]
    rows = [[figures["frames"], figures["frame_size"], figures["wall_ms"]["p50"],
             figures["wall_ms"]["p95"], figures["cpu_ms"]["p50"], figures["cpu_ms"]["p95"],
             figures["detected_share"]]]  # fmt: skip
    emit(result, rows, header, args.json)
    return result


if __name__ == "__main__":
    main()
