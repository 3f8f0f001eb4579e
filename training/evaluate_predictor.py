"""The learned predictor against the Kalman prediction, through ``pose-service eval``'s harness.

    PYTHONPATH=service/src .venv/bin/python -m training.evaluate_predictor [--split test]

Every motion of the split (never trained on, never used to choose the weights) is streamed
through the service's tracker twice, ``predictor: kalman`` and ``predictor: learned``, with the
harness's detections (20 mm noise, 36% missed in bursts of 1-8, the first 5 missed) under
several seeds (``--video``: a real clip, the lite estimator's undropped output as the truth,
as ``pose-service eval clip.mp4`` scores it); prints the missed-frame MPJPE of both and of
hold-last, overall and by frames since the last detection, pooled over motions and seeds
(each missed frame counts once). ``--noise-model correlated``: the harness's estimator-like
noise (per-sequence bias, slow drift, jitter) instead of independent noise.
``--other-skeletons`` first moves each motion onto another skeleton (every bone scaled as in
training, seeded per motion): a held-out check that the forecast does not depend on the
capture rig's proportions (the service's joints are SMPL's, from HMR2 or MediaPipe).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from pose_service.devtools.evaluation.harness import Scenario, evaluate
from pose_service.devtools.evaluation.noise import NOISE_MODELS
from pose_service.devtools.evaluation.sequences import Sequence, from_world, load_bvh, load_sequence
from pose_service.devtools.evaluation.video import estimate_video, evaluate_reference
from pose_service.tracking.config import PREDICTORS, TrackerConfig

from .mocap import DEFAULT_DIR, check_files, split_of
from .train_predictor import rescaled

SEEDS = (0, 1, 2)


def _pool(rows: list[tuple[float, int]]) -> float:
    frames = sum(n for _, n in rows)
    return round(sum(e * n for e, n in rows) / max(frames, 1), 2)


def compare(sequences, seeds=SEEDS, scenario: Scenario | None = None, run=evaluate) -> dict:
    """Missed-frame MPJPE of hold-last and of each predictor, overall and by gap, pooled;
    ``run(sequence, scenario, config)`` is the harness (a video's: ``evaluate_reference``)."""
    scenario = scenario or Scenario()
    overall: dict[str, list[tuple[float, int]]] = defaultdict(list)
    by_gap: dict[str, dict[int, list[tuple[float, int]]]] = defaultdict(lambda: defaultdict(list))
    per_motion: dict[str, dict[str, float]] = defaultdict(dict)
    for sequence in sequences:
        for seed in seeds:
            scenario_of_seed = dataclasses.replace(scenario, seed=seed)
            for predictor in PREDICTORS:
                config = TrackerConfig(record_max_frames=0, predictor=predictor)
                report = run(sequence, scenario_of_seed, config)
                streaming = report.methods["streaming"]["mpjpe_missed_mm"]
                if streaming is None:
                    continue
                overall[predictor].append((streaming, report.missed))
                per_motion[report.sequence][predictor] = streaming
                for row in report.calibration:
                    by_gap[predictor][row["gap"]].append((row["mpjpe_mm"], row["frames"]))
                if predictor == PREDICTORS[0]:
                    hold = report.methods["hold_last"]["mpjpe_missed_mm"]
                    overall["hold_last"].append((hold, report.missed))
    gaps = sorted(by_gap[PREDICTORS[0]])
    return {
        "missed_mpjpe_mm": {name: _pool(rows) for name, rows in overall.items()},
        "by_gap_mm": {name: {gap: _pool(by_gap[name][gap]) for gap in gaps} for name in PREDICTORS},
        "frames_by_gap": {gap: sum(n for _, n in by_gap[PREDICTORS[0]][gap]) for gap in gaps},
        "motions": len(per_motion),
        "learned_wins_on": sum(
            1 for m in per_motion.values() if m.get("learned", np.inf) < m.get("kalman", 0)
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="test", choices=("test", "validation"))
    parser.add_argument("--data", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--sequence", type=Path, help="one motion file instead (.bvh / .npz)")
    parser.add_argument("--other-skeletons", action="store_true", help="bones rescaled")
    parser.add_argument("--video", type=Path, help="a clip: lite's undropped output as truth")
    parser.add_argument("--noise-model", default="iid", choices=NOISE_MODELS)
    parser.add_argument("--in-flight", type=int, default=1, help="requests outstanding, as eval")
    args = parser.parse_args(argv)
    scenario = Scenario(noise_model=args.noise_model, in_flight=args.in_flight)
    if args.video:
        reference = estimate_video(args.video, "lite")

        def on_video(_, scenario: Scenario, config: TrackerConfig):
            return evaluate_reference(reference, args.video.stem, scenario, config)

        print(json.dumps(compare([None], scenario=scenario, run=on_video), indent=1))
        return 0
    if args.sequence:
        sequences = [load_sequence(args.sequence)]
    else:
        names = [p.name for p in check_files(args.data) if split_of(p.name) == args.split]
        sequences = [load_bvh(args.data / name) for name in names]  # 30 frames/s, as eval
    if args.other_skeletons:
        sequences = [_on_other_skeleton(s, seed) for seed, s in enumerate(sequences)]
    print(json.dumps(compare(sequences, scenario=scenario), indent=1))
    return 0


def _on_other_skeleton(sequence: Sequence, seed: int) -> Sequence:
    """The motion with its bones rescaled (``train_predictor.rescaled``), on the same path."""
    joints = sequence.joints_3d[None].astype(np.float32)
    body, _ = rescaled(joints, joints[:, :1], np.random.default_rng(1000 + seed))
    camera = body[0] + sequence.translation[:, None]
    world = np.stack([camera[..., 0], -camera[..., 1], camera[..., 2]], axis=-1)
    return from_world(sequence.name, world, sequence.fps)


if __name__ == "__main__":
    raise SystemExit(main())
