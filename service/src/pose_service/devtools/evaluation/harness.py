"""Run every method on one sequence and report the table (text or the JSON of the issue)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...tracking.config import TrackerConfig
from .bounds import oracle_errors, oracle_hold
from .methods import METHODS, Detections, streaming
from .metrics import error_by_gap, error_by_source, summarise
from .sequences import Sequence
from .simulate import detections, miss_mask


@dataclass(frozen=True)
class Scenario:
    """How detections are simulated (the CLI options)."""

    miss_share: float = 0.36
    burst: tuple[int, int] = (1, 8)
    miss_first: int = 5
    noise_mm: float = 20.0
    seed: int = 0
    in_flight: int = 1  # requests the client keeps outstanding (1: one at a time)
    noise_model: str = "iid"  # ``noise.NOISE_MODELS``


@dataclass
class Report:
    sequence: str
    frames: int
    methods: dict[str, dict[str, Any]]
    calibration: list[dict[str, float]] = field(default_factory=list)
    missed: int = 0
    bounds: dict[str, float | None] = field(default_factory=dict)  # see ``bounds``; sequences only
    in_flight: int = 1
    noise_model: str = "iid"
    by_source: list[dict[str, Any]] = field(default_factory=list)  # ``error_by_source``

    def as_json(self) -> dict[str, Any]:
        """The issue's JSON (sequence, frames, methods with the five metrics), the scenario's
        ``in_flight`` and ``noise_model``, the streaming answers ``by_gap`` (frames since the
        last detection, with hold-last's error on the same frames), the streaming answers to
        missed frames ``by_source`` (forward predictions, fills from both sides), plus the
        noise-free ``bounds`` when the sequence has a ground truth."""
        keys = ("coverage", "mpjpe_missed_mm", "mpjpe_all_mm", "accel_error", "ms_per_frame")
        out: dict[str, Any] = {
            "sequence": self.sequence,
            "frames": self.frames,
            "methods": {n: {k: m[k] for k in keys} for n, m in self.methods.items()},
            "in_flight": self.in_flight,
            "noise_model": self.noise_model,
            "by_gap": self.calibration,
            "by_source": self.by_source,
        }
        if self.bounds:
            out["bounds"] = self.bounds
        return out


def evaluate(sequence: Sequence, scenario: Scenario, config: TrackerConfig | None = None) -> Report:
    config = config or TrackerConfig(record_max_frames=0)
    missed = miss_mask(
        sequence.frames, scenario.miss_share, scenario.burst, scenario.miss_first, scenario.seed
    )
    observed = detections(sequence, missed, scenario.noise_mm, scenario.seed, scenario.noise_model)
    methods, calibration, by_source = score_methods(
        observed, config, scenario.in_flight, sequence.joints_3d, sequence.translation, missed,
        oracle=oracle_hold(sequence.joints_3d, missed),
    )  # fmt: skip
    bounds = oracle_errors(sequence.joints_3d, missed, config.joint_velocity_decay)
    return Report(
        sequence.name, sequence.frames, methods, calibration, int(missed.sum()), bounds,
        scenario.in_flight, scenario.noise_model, by_source,
    )  # fmt: skip


def score_methods(
    observed: Detections,
    config: TrackerConfig,
    in_flight: int,
    truth: np.ndarray,
    root: np.ndarray,
    missed: np.ndarray,
    gaps: np.ndarray | None = None,
    oracle: np.ndarray | None = None,
) -> tuple[dict[str, dict[str, Any]], list[dict[str, float]], list[dict[str, Any]]]:
    """Every method's metrics on the same detections (streaming with ``in_flight`` requests
    outstanding); the streaming answers by frames since the last detection next to
    hold-last's (gaps counted over ``gaps``, the missed frames by default); and the streaming
    answers to missed frames by source, next to hold-last's (and to ``oracle``'s, the
    noise-free hold, where the truth is not itself the detections)."""
    methods, results = {}, {}
    chosen = {**METHODS, "streaming": functools.partial(streaming, in_flight=in_flight)}
    for name, method in chosen.items():
        results[name] = method(observed, config)
        methods[name] = summarise(results[name], truth, root, missed)
    gaps = missed if gaps is None else gaps
    calibration = error_by_gap(results["streaming"], truth, gaps, results["hold_last"])
    by_source = error_by_source(results["streaming"], truth, missed, results["hold_last"], oracle)
    return methods, calibration, by_source


def format_table(report: Report) -> str:
    """The human-readable table, with the confidence calibration of the streaming tracker."""
    lines = [
        f"{report.sequence}: {report.frames} frames, {report.missed} missed "
        f"({report.missed / max(report.frames, 1):.0%}), {report.in_flight} in flight, "
        f"{report.noise_model} noise",
        f"{'method':<12} {'coverage':>8} {'MPJPE missed':>13} {'MPJPE all':>10} "
        f"{'accel err':>10} {'root missed':>12} {'ms/frame':>9}",
    ]
    for name, m in report.methods.items():
        lines.append(
            f"{name:<12} {m['coverage']:>8.1%} {_mm(m['mpjpe_missed_mm']):>13} "
            f"{_mm(m['mpjpe_all_mm']):>10} {_mm(m['accel_error']):>10} "
            f"{_mm(m['root_missed_mm']):>12} {m['ms_per_frame']:>9.3f}"
        )
    hold = report.methods["hold_last"]["mpjpe_missed_mm"]
    for name in ("streaming", "whole_video", "linear"):
        ours = report.methods[name]["mpjpe_missed_mm"]
        if hold and ours is not None:
            lines.append(f"{name}: MPJPE on missed frames {1 - ours / hold:.0%} below hold_last")
    if report.bounds:
        hold_bound, cv_bound = report.bounds["oracle_hold_mm"], report.bounds["oracle_damped_cv_mm"]
        lines.append(
            f"bounds on missed frames, given the noise-free truth at the last detection: "
            f"hold {_mm(hold_bound)} mm, damped constant velocity {_mm(cv_bound)} mm"
        )
    for row in report.by_source:
        noise_free = row.get("oracle_hold_ratio")
        lines.append(
            f"streaming, missed frames answered {row['source']}: {row['frames']} frames, "
            f"MPJPE {_mm(row['mpjpe_mm'])} mm, {row['ratio']:.2f}x hold_last's on them"
            + ("" if noise_free is None else f" (holding the noise-free last detection: "
               f"{noise_free:.2f}x)")
        )  # fmt: skip
    if report.calibration:
        lines.append("streaming, by frames since the last detection: gap, frames, MPJPE mm, "
                     "mean tracking_confidence, hold_last MPJPE mm")  # fmt: skip
        for row in report.calibration:
            lines.append(
                f"  {row['gap']:>3} {row['frames']:>5} {_mm(row['mpjpe_mm']):>8} "
                f"{row['confidence']:>6.3f} {_mm(row.get('hold_last_mm')):>8}"
            )
    return "\n".join(lines)


def _mm(value: float | None) -> str:
    missing = value is None or (isinstance(value, float) and np.isnan(value))
    return "-" if missing else f"{value:.1f}"
