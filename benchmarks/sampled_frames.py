"""Whole-video answers for every N-th frame against every frame: why ``max_frames`` takes the
first frames of a video rather than frames sampled across it.

The lite estimator runs once on each frame of the real clip. Then, per step N, the frames
0, N, 2N, ... (their real numbers) go through the streaming tracker and the whole-video filler
(``whole_video.outcomes.filled_track``, what a video job answers), and each answered frame is
compared with the estimator's own detection on it: how far the answer's keypoints (pixels) and
3D joints (mm) lie from what the estimator found, and what the tracker made of the frames
(their sources). The whole-video smoother's motion model is per frame; frames N apart reach it
as consecutive ones.

    .venv/bin/python -m benchmarks.sampled_frames [--frames 180] [--steps 1,6,18] [--json]
"""

from __future__ import annotations

from collections import Counter
from itertools import islice
from typing import Any

import numpy as np

from benchmarks.common import RUNNER_CLIP, emit, parser


def measure(people: list[list[Any]], step: int) -> dict[str, Any]:
    from pose_service.config import Settings
    from pose_service.tracking.track import Track
    from pose_service.whole_video.outcomes import filled_track

    track = Track(Settings(session_persist=False).tracker_config())
    numbers = list(range(0, len(people), step))
    sources: Counter[str] = Counter()
    for number in numbers:
        sources[str(track.step(number, people[number]).source)] += 1
    video = filled_track(track, (0, 0), "sampled", "lite")
    pixels, joints = [], []
    for frame, number in zip(video.frames, numbers, strict=True):
        pose = frame.tracked.pose
        if pose is None or not people[number]:
            continue
        found = people[number][0]
        pixels.append(np.linalg.norm(pose.keypoints_2d - found.keypoints_2d, axis=1).mean())
        joints.append(1000 * np.linalg.norm(pose.joints_3d - found.joints_3d, axis=1).mean())
    return {
        "frames": len(numbers),
        "tracker_sources": dict(sources),
        "answered_px": _figures(pixels),
        "answered_mm": _figures(joints),
    }


def _figures(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "max": 0.0}
    return {"p50": round(float(np.median(values)), 1), "max": round(float(max(values)), 1)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from pose_service.config import Settings
    from pose_service.estimators.lite import MediaPipeEstimator
    from pose_service.types import Frame
    from pose_service.video_frames import read_frames

    p = parser(__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=180)
    p.add_argument("--steps", default="1,6,18")
    args = p.parse_args(argv)
    estimator = MediaPipeEstimator(Settings(estimator="lite"))
    estimator.load()
    frames = islice(read_frames(RUNNER_CLIP, 640), args.frames)
    people = [estimator.estimate(Frame(rgb, n)).people for n, rgb in enumerate(frames)]
    steps = {int(step): measure(people, int(step)) for step in args.steps.split(",")}
    result = {
        "benchmark": "sampled_frames",
        "clip": RUNNER_CLIP.name,
        "detected": sum(bool(p) for p in people),
        "steps": {str(step): figures for step, figures in steps.items()},
    }
    rows = [
        [step, f["frames"], f["tracker_sources"].get("detected", 0),
         f["answered_px"]["p50"], f["answered_px"]["max"],
         f["answered_mm"]["p50"], f["answered_mm"]["max"]]
        for step, f in steps.items()
    ]  # fmt: skip
    header = ["every Nth", "frames", "detected", "px p50", "px max", "mm p50", "mm max"]
    emit(result, rows, header, args.json)
    return result


if __name__ == "__main__":
    from pose_service.observability import configure_logging

    configure_logging("warning")
    main()
