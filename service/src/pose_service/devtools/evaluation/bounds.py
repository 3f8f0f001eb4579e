"""What no causal gap filler can beat on a sequence: predictors handed the noise-free truth.

A streaming tracker knows only noisy detections up to the last one before a gap. These
oracles know the *true* pose (and true velocity) at that last detection, so their error on
missed frames is what the motion itself makes unpredictable; a real tracker, which also has to
remove the detection noise, cannot do better than the better of them. The harness prints them
next to the methods so a target that asks for more can be judged with numbers.
"""

from __future__ import annotations

import numpy as np

from ...tracking.motion_model import damped_travel


def _last_detection(missed: np.ndarray) -> np.ndarray:
    """For each frame, the newest detected frame at or before it (-1 before the first)."""
    frames = np.arange(len(missed))
    return np.maximum.accumulate(np.where(~missed, frames, -1))


def oracle_hold(truth: np.ndarray, missed: np.ndarray) -> np.ndarray:
    """Per frame, the true pose of the newest detected frame at or before it (NaN before the
    first): hold-last without the detection noise, to score any subset of the missed frames."""
    last = _last_detection(missed)
    held = np.full(truth.shape, np.nan)
    held[last >= 0] = truth[last[last >= 0]]
    return held


def oracle_errors(truth: np.ndarray, missed: np.ndarray, decay: float) -> dict[str, float | None]:
    """MPJPE (mm) on the missed frames after the first detection, for two oracles:

    - ``oracle_hold``: the true pose of the last detected frame, held (hold-last without noise);
    - ``oracle_damped_cv``: that pose moved on with its true velocity, damped by ``decay``
      per frame (the streaming tracker's motion model without noise).
    """
    last = _last_detection(missed)
    targets = np.flatnonzero(missed & (last >= 1))
    if not len(targets):
        return {"oracle_hold_mm": None, "oracle_damped_cv_mm": None}
    anchors = last[targets]
    gaps = targets - anchors
    velocity = truth[anchors] - truth[anchors - 1]
    steps = np.array([damped_travel(int(g), decay) for g in gaps])[:, None, None]
    hold = oracle_hold(truth, missed)[targets]
    moved = hold + velocity * steps

    def mpjpe(pred: np.ndarray) -> float:
        return round(float(np.linalg.norm(pred - truth[targets], axis=-1).mean() * 1000.0), 2)

    return {"oracle_hold_mm": mpjpe(hold), "oracle_damped_cv_mm": mpjpe(moved)}
