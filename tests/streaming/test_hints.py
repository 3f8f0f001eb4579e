"""Detect on reacquire, in the pipeline: when the estimator is handed the track's box.

The estimator here stands for the ``hmr2`` one seen from the pipeline: it takes box hints,
reports whether its detector ran, and finds the synthetic walker (or nobody on chosen frames).
"""

from __future__ import annotations

import numpy as np
import pytest

from pose_service.config import Settings
from pose_service.estimators import Estimator
from pose_service.pipeline import PosePipeline
from pose_service.types import Estimate, Frame, PersonPose
from tests.support.motion import walking_sequence

TRUTH = walking_sequence(40)


def truth_person(n: int) -> PersonPose:
    """The walker's true pose at frame ``n``, as a detection."""
    keypoints = TRUTH["keypoints_2d"][n]
    return PersonPose(
        joints_3d=TRUTH["joints_3d"][n].copy(),
        keypoints_2d=keypoints.copy(),
        joint_confidence=np.full(24, 0.9, dtype=np.float32),
        score=0.9,
        bbox=np.array([*keypoints.min(0), *keypoints.max(0)], dtype=np.float32),
        camera_translation=TRUTH["camera_translation"][n].copy(),
    )


class HintedWalkerEstimator(Estimator):
    """Finds the walker; with a hint it 'skips its detector' and says so."""

    name = "hinted-walker"
    takes_box_hints = True

    def __init__(self, missed: set[int] = frozenset()) -> None:
        self.missed = missed
        self.hints: dict[int, np.ndarray | None] = {}

    def load(self) -> None: ...

    def estimate(self, frame: Frame) -> Estimate:
        n = frame.frame_number
        self.hints[n] = None if frame.hint is None else frame.hint.box
        if n in self.missed:
            return Estimate([], self.name, {"detect": 1.0})
        return Estimate([truth_person(n)], self.name, {}, detector_ran=frame.hint is None)

    def verify_install(self) -> dict[str, str]:
        return {}

    def model_status(self) -> dict[str, str]:
        return {"hinted-walker": "loaded"}

    def describe(self) -> dict[str, object]:
        return {"device": "cpu"}

    def faces(self) -> np.ndarray | None:
        return None


def _run(
    estimator: HintedWalkerEstimator, every: int, frames: int = 20, size: tuple = (640, 360)
) -> list[int]:
    """Stream ``frames`` frames of one video; the frames where the detector was asked to run."""
    settings = Settings(detect_every_frames=every, session_persist=False)
    pipeline = PosePipeline(settings, estimator)
    pipeline.load()
    rgb = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    for n in range(frames):
        outcome = pipeline.process(Frame(rgb, n))
        assert n in estimator.missed or outcome.tracked.source == "detected"
    return [n for n, hint in estimator.hints.items() if hint is None]


def test_detector_runs_every_n_frames_of_a_confirmed_track():
    estimator = HintedWalkerEstimator()
    assert _run(estimator, every=5) == [0, 5, 10, 15]
    # the hint is the track's predicted box: near where the walker really is
    for n, box in estimator.hints.items():
        if box is not None:
            truth = TRUTH["keypoints_2d"][n]
            np.testing.assert_allclose(box[:2], truth.min(0), atol=8)
            np.testing.assert_allclose(box[2:], truth.max(0), atol=8)


def test_a_miss_makes_the_next_frame_detect():
    # Frame 7 is hinted (6 was detected) but nobody is there: the estimator falls back to its
    # detector, which finds nobody. Frame 8 then gets no hint (the last frame was a miss), and
    # the detector's period restarts from there.
    estimator = HintedWalkerEstimator(missed={7})
    assert _run(estimator, every=5) == [0, 5, 8, 13, 18]
    assert estimator.hints[7] is not None


@pytest.mark.parametrize("every", [1, 0])
def test_every_frame_detection_is_the_default_and_the_floor(every):
    if every == 0:
        with pytest.raises(ValueError, match="DETECT_EVERY_FRAMES"):
            Settings(detect_every_frames=every).validate()
        return
    assert Settings().detect_every_frames == 1
    assert _run(HintedWalkerEstimator(), every=every) == list(range(20))


def test_estimators_without_hint_support_never_get_one():
    estimator = HintedWalkerEstimator()
    estimator.takes_box_hints = False
    assert _run(estimator, every=5) == list(range(20))


def test_the_load_log_takes_an_estimator_that_describes_itself_with_our_keys(monkeypatch):
    """hmr2's describe() has "estimator" (and could have "seconds"): the load must still log
    model_loaded once, not raise a duplicate-keyword TypeError in the loader thread."""
    import pose_service.model.host
    from tests.support.logs import captured_logs

    class Describing(HintedWalkerEstimator):
        def describe(self) -> dict[str, object]:
            return {"estimator": "hmr2", "seconds": -1, "device": "cpu"}

    pipeline = PosePipeline(Settings(session_persist=False), Describing())
    with captured_logs(monkeypatch, pose_service.model.host) as logs:
        pipeline.load()
    loaded = [e for e in logs if e["event"] == "model_loaded"]
    assert pipeline.status == "ready" and len(loaded) == 1
    assert loaded[0]["estimator"] == "hinted-walker" and loaded[0]["seconds"] >= 0
