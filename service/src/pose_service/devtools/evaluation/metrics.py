"""Metrics of video pose papers, on the joints a method outputs.

- coverage: frames with a pose / all frames.
- MPJPE (mm): mean per-joint position error of the body-frame (root-relative) joints, as HMR2
  and video pose papers report it; over the missed frames the method gave a pose for, and over
  all frames it gave a pose for.
- acceleration error (mm/frame^2): mean over joints of |a_out - a_true|, with a the second
  finite difference, over frames where the method has a pose at t-1, t and t+1 (jitter).
- root error (mm): the root (camera translation) distance, which the body-frame MPJPE ignores.
"""

from __future__ import annotations

import numpy as np

from .methods import Result


def _mean_error(pred: np.ndarray, truth: np.ndarray, frames: np.ndarray) -> float | None:
    valid = frames & ~np.isnan(pred.reshape(len(pred), -1)).any(axis=1)
    valid &= ~np.isnan(truth.reshape(len(truth), -1)).any(axis=1)  # no reference: not scored
    if not valid.any():
        return None
    diff = pred[valid] - truth[valid]
    return float(np.linalg.norm(diff, axis=-1).mean() * 1000.0)


def accel_error(pred: np.ndarray, truth: np.ndarray) -> float | None:
    """Mean |second difference of pred - of truth| (mm/frame^2) where pred has 3 frames."""
    a_pred = pred[2:] - 2 * pred[1:-1] + pred[:-2]
    a_true = truth[2:] - 2 * truth[1:-1] + truth[:-2]
    valid = ~np.isnan(a_pred.reshape(len(a_pred), -1)).any(axis=1)
    valid &= ~np.isnan(a_true.reshape(len(a_true), -1)).any(axis=1)
    if not valid.any():
        return None
    return float(np.linalg.norm(a_pred[valid] - a_true[valid], axis=-1).mean() * 1000.0)


def summarise(
    result: Result, truth_joints: np.ndarray, truth_root: np.ndarray, missed: np.ndarray
) -> dict[str, float | None]:
    has_pose = ~np.isnan(result.joints[:, 0, 0])
    every = np.ones(len(missed), dtype=bool)
    return {
        "coverage": round(float(has_pose.mean()), 4),
        "mpjpe_missed_mm": _round(_mean_error(result.joints, truth_joints, missed)),
        "mpjpe_all_mm": _round(_mean_error(result.joints, truth_joints, every)),
        "accel_error": _round(accel_error(result.joints, truth_joints)),
        "ms_per_frame": round(result.ms_per_frame, 4),
        "root_missed_mm": _round(_mean_error(result.root, truth_root, missed)),
    }


def error_by_gap(
    result: Result, truth_joints: np.ndarray, missed: np.ndarray, baseline: Result | None = None
) -> list[dict[str, float]]:
    """Measured error and mean confidence by frames since the last detection (calibration),
    with ``baseline``'s error on the same frames (``hold_last_mm``) when given."""
    since = np.zeros(len(missed), dtype=int)
    run = 0
    for t, m in enumerate(missed):
        run = run + 1 if m else 0
        since[t] = run
    rows = []
    for gap in range(1, int(since.max(initial=0)) + 1):
        frames = (since == gap) & ~np.isnan(result.joints[:, 0, 0])
        if frames.any():
            error = _mean_error(result.joints, truth_joints, frames)
            row = {
                "gap": gap,
                "frames": int(frames.sum()),
                "mpjpe_mm": _round(error),
                "confidence": round(float(result.confidence[frames].mean()), 3),
            }
            if baseline is not None:
                row["hold_last_mm"] = _round(_mean_error(baseline.joints, truth_joints, frames))
            rows.append(row)
    return rows


def error_by_source(
    result: Result,
    truth_joints: np.ndarray,
    missed: np.ndarray,
    baseline: Result,
    oracle: np.ndarray | None = None,
) -> list[dict[str, float | str]]:
    """The missed frames' error split by how the tracker answered them (``predicted``: forward
    only; ``interpolated``: filled from both sides), with ``baseline``'s error on the same frames:
    which kind of answer a target on the missed frames' error depends on; and, given
    ``oracle`` joints (``bounds.oracle_hold``), what holding the noise-free last detection
    scores on them against ``baseline`` (``oracle_hold_ratio``)."""
    rows: list[dict[str, float | str]] = []
    sources = np.asarray(result.sources or [""] * len(missed))
    for source in sorted(set(sources[missed]) - {""}):
        frames = missed & (sources == source) & ~np.isnan(result.joints[:, 0, 0])
        error = _mean_error(result.joints, truth_joints, frames)
        hold = _mean_error(baseline.joints, truth_joints, frames)
        if error is None or not hold:
            continue
        row: dict[str, float | str] = {
            "source": str(source),
            "frames": int(frames.sum()),
            "mpjpe_mm": _round(error),
            "hold_last_mm": _round(hold),
            "ratio": round(error / hold, 3),
        }
        noise_free = None if oracle is None else _mean_error(oracle, truth_joints, frames)
        if noise_free is not None:
            row["oracle_hold_ratio"] = round(noise_free / hold, 3)
        rows.append(row)
    return rows


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
