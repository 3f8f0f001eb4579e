"""Causal smoothing of detected frames (``POSE_SERVICE_TRACK_SMOOTHING``) on the real clip.

A real clip has no ground truth (the walk capture does: ``pose-service eval``), so two figures
that need none, per mode, streamed in order through the pipeline with the lite estimator:
- jitter: mean magnitude of the 3D joints' frame-to-frame acceleration (mm/frame²);
- distance on detected frames from the whole-video smoother of the same detections (a two-sided
  Rauch-Tung-Striebel smoother, no lag): smoothing that only removes noise comes closer to it,
  smoothing that lags moves away.
On the runner clip as it is and on a degraded copy (``devtools.evaluation.degrade``: synthetic).

    .venv/bin/python -m benchmarks.smoothing [--frames 180] [--cases none,small_dark] [--json]
"""

from __future__ import annotations

from itertools import islice
from typing import Any

import numpy as np

from benchmarks.common import RUNNER_CLIP, emit, parser

MODES = ("off", "one_euro", "kalman")


def _joints(answers: list[Any]) -> np.ndarray:
    return np.array([
        a.pose.joints_3d if a.pose is not None else np.full((24, 3), np.nan) for a in answers
    ])  # fmt: skip


def measure(frames: list[np.ndarray], mode: str) -> dict[str, float]:
    from pose_service.config import Settings
    from pose_service.pipeline import PosePipeline
    from pose_service.tracking.offline import fill_video
    from pose_service.types import Frame

    pipeline = PosePipeline(Settings(session_persist=False, track_smoothing=mode))
    pipeline.load()
    answers = [
        pipeline.process(Frame(rgb, n), video_id="v").tracked for n, rgb in enumerate(frames)
    ]
    session = pipeline.live_session("v")
    _, observations, track_ids = session.track.record.snapshot()
    two_sided = fill_video(observations, pipeline.settings.tracker_config(), track_ids)
    joints = _joints(answers)
    acceleration = joints[2:] - 2 * joints[1:-1] + joints[:-2]
    detected = [a.source == "detected" for a in answers]
    reference = _joints(two_sided)[detected]
    return {
        "jitter_mm_per_frame2": round(float(np.nanmean(np.linalg.norm(acceleration, axis=-1)))
                                      * 1000, 1),
        "distance_from_two_sided_mm": round(float(np.nanmean(
            np.linalg.norm(joints[detected] - reference, axis=-1))) * 1000, 1),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from pose_service.devtools.evaluation.degrade import CASES
    from pose_service.video_frames import read_frames

    p = parser(__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=180)
    p.add_argument("--cases", default="none,small_dark")
    args = p.parse_args(argv)
    originals = list(islice(read_frames(RUNNER_CLIP, 640), args.frames))
    cases: dict[str, dict[str, dict[str, float]]] = {}
    for case in args.cases.split(","):
        frames = (
            originals if case == "none" else [CASES[case](f, n) for n, f in enumerate(originals)]
        )
        cases[case] = {mode: measure(frames, mode) for mode in MODES}
    result = {"benchmark": "smoothing", "clip": RUNNER_CLIP.name, "cases": cases}
    rows = [
        [case, mode, figures["jitter_mm_per_frame2"], figures["distance_from_two_sided_mm"]]
        for case, modes in cases.items()
        for mode, figures in modes.items()
    ]
    emit(result, rows, ["case", "smoothing", "jitter mm/frame²", "from two-sided mm"], args.json)
    return result


if __name__ == "__main__":
    from pose_service.observability import configure_logging

    configure_logging("warning")
    main()
