"""The ``pose-service eval`` command: load, simulate or run, evaluate, print."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from ...config import Settings
from .harness import Scenario, evaluate, format_table

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm"}


def run_eval(args: argparse.Namespace) -> int:
    scenario = Scenario(
        args.miss_share, args.burst, args.miss_first, args.noise_mm, args.seed,
        args.in_flight, args.noise_model,
    )  # fmt: skip
    config = dataclasses.replace(Settings.from_env().tracker_config(), record_max_frames=0)
    path = Path(args.sequence)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        from .video import evaluate_video

        report = evaluate_video(path, scenario, config, args.estimator, args.max_frames)
    else:
        from .sequences import load_sequence

        sequence = load_sequence(path)
        if args.max_frames:
            sequence = sequence.head(args.max_frames)
        report = evaluate(sequence, scenario, config)
    print(json.dumps(report.as_json(), indent=2) if args.json else format_table(report))
    return 0
