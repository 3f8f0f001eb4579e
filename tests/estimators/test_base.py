"""The estimator base class: optional capabilities are members with defaults, not probes."""

from __future__ import annotations

import numpy as np
import pytest

from pose_service.config import Settings
from pose_service.estimators import BodyModelEstimator, Estimator, create_estimator
from pose_service.types import Estimate, Frame


class Counting(Estimator):
    name = "counting"

    def __init__(self) -> None:
        self.calls: list[int] = []

    def load(self) -> None: ...

    def verify_install(self) -> dict[str, str]:
        return {}

    def estimate(self, frame: Frame) -> Estimate:
        self.calls.append(frame.frame_number)
        return Estimate([], self.name)

    def model_status(self) -> dict[str, str]:
        return {}

    def describe(self) -> dict[str, object]:
        return {}


def test_the_defaults_batch_by_looping_take_no_hints_and_have_no_mesh():
    est = Counting()
    rgb = np.zeros((4, 4, 3), np.uint8)
    answers = est.estimate_batch([Frame(rgb, n) for n in (3, 1, 2)])
    assert est.calls == [3, 1, 2] and len(answers) == 3
    assert est.batches_frames is False and est.takes_box_hints is False and est.faces() is None
    assert not isinstance(est, BodyModelEstimator)


def test_an_estimator_missing_a_required_method_cannot_be_built():
    class NoEstimate(Estimator):
        name = "broken"

        def load(self) -> None: ...

    with pytest.raises(TypeError, match="abstract"):
        NoEstimate()  # type: ignore[abstract]


def test_the_shipped_estimators_declare_their_capabilities():
    lite = create_estimator(Settings(estimator="lite"))
    replay = create_estimator(Settings(estimator="replay"))
    assert (lite.batches_frames, lite.takes_box_hints) == (False, False)
    assert (replay.batches_frames, replay.takes_box_hints) == (True, False)
    assert not isinstance(lite, BodyModelEstimator)
    from pose_service.estimators.hmr2.estimator import HMR2Estimator

    assert issubclass(HMR2Estimator, BodyModelEstimator)
    assert HMR2Estimator.batches_frames and HMR2Estimator.takes_box_hints
