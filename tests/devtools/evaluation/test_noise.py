"""The correlated noise model matches the estimator figures it is sized to."""

from __future__ import annotations

import numpy as np
import pytest

from pose_service.devtools.evaluation.metrics import accel_error
from pose_service.devtools.evaluation.noise import (
    SPIN_3DPW_ACCEL_MM,
    SPIN_3DPW_MPJPE_MM,
    CorrelatedNoise,
    detection_errors,
)


def _measured(errors: np.ndarray) -> tuple[float, float]:
    errors = errors.copy()
    errors[:, 0] = 0.0  # the pelvis is the body frame's origin, as in the harness
    zero = np.zeros_like(errors)
    mpjpe = float(np.linalg.norm(errors, axis=-1).mean() * 1000)
    return mpjpe, accel_error(errors, zero)


def test_correlated_errors_have_spins_mpjpe_and_acceleration_error():
    rng = np.random.default_rng(0)
    runs = [_measured(detection_errors("correlated", 0.0, rng, 300)[0]) for _ in range(40)]
    mpjpe, accel = np.mean(runs, axis=0)
    assert mpjpe == pytest.approx(SPIN_3DPW_MPJPE_MM, rel=0.05)
    assert accel == pytest.approx(SPIN_3DPW_ACCEL_MM, rel=0.05)


def test_correlated_errors_are_mostly_the_same_from_frame_to_frame():
    noise = CorrelatedNoise.matched()
    assert noise.jitter_mm < 0.2 * min(noise.bias_mm, noise.drift_mm)
    errors = noise.sample(np.random.default_rng(1), 300, (24, 3))
    lag_one = np.corrcoef(errors[1:].ravel(), errors[:-1].ravel())[0, 1]
    assert lag_one > 0.95


def test_iid_errors_are_drawn_as_before():
    rng, old = np.random.default_rng(5), np.random.default_rng(5)
    joints, root = detection_errors("iid", 20.0, rng, 3)
    for t in range(3):
        assert np.array_equal(joints[t], old.normal(0, 0.02, (24, 3)))
        assert np.array_equal(root[t], old.normal(0, 0.02, 3))


def test_impossible_figures_and_unknown_models_are_refused():
    with pytest.raises(ValueError, match="no correlated noise"):
        CorrelatedNoise.matched(mpjpe_mm=10.0, accel_mm=200.0)
    with pytest.raises(ValueError, match="unknown noise model"):
        detection_errors("gaussian", 20.0, np.random.default_rng(0), 3)
