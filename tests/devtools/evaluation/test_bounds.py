"""The noise-free oracles that bound what any causal gap filler can reach."""

from __future__ import annotations

import numpy as np

from pose_service.devtools.evaluation.bounds import oracle_errors, oracle_hold


def test_oracle_hold_is_the_true_pose_of_the_last_detection() -> None:
    truth = np.arange(6, dtype=float)[:, None, None] * np.ones((6, 24, 3))
    missed = np.array([True, False, True, True, False, True])
    held = oracle_hold(truth, missed)
    assert np.isnan(held[0]).all()  # nothing detected yet
    assert [float(held[t, 0, 0]) for t in range(1, 6)] == [1.0, 1.0, 1.0, 4.0, 4.0]


def test_oracle_errors_score_the_same_hold() -> None:
    rng = np.random.default_rng(0)
    truth = np.cumsum(rng.normal(0, 0.01, (40, 24, 3)), axis=0)
    missed = np.zeros(40, dtype=bool)
    missed[[5, 6, 7, 20, 21]] = True
    frames = np.flatnonzero(missed)
    expected = np.linalg.norm(oracle_hold(truth, missed)[frames] - truth[frames], axis=-1).mean()
    assert oracle_errors(truth, missed, 0.7)["oracle_hold_mm"] == round(expected * 1000.0, 2)
