"""Track-guided re-detection through the pipeline: when the first look finds nobody the track
accepts, the estimator looks again where the track predicts the person.

The estimator is a stand-in (the walker of ``tests.streaming.test_hints``) whose whole-frame look
misses on chosen frames and whose ``rescue`` finds the walker only inside the searched box;
the real MediaPipe crop search is tested on real footage in ``tests/estimators/test_lite.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from pose_service.config import Settings
from pose_service.pipeline import PosePipeline
from pose_service.streaming.rescue import REFRAME_SHRINK
from pose_service.types import Estimate, Frame
from tests.streaming.test_hints import TRUTH, HintedWalkerEstimator

RGB = np.zeros((360, 640, 3), dtype=np.uint8)


class SecondLookWalker(HintedWalkerEstimator):
    """Misses the walker on ``missed`` frames; ``rescue`` finds them inside the box (or a
    bystander far away when ``wrong``)."""

    rescues = True

    def __init__(self, missed: set[int], first: bool = False, wrong: bool = False) -> None:
        super().__init__(missed)
        self.rescues_first = first
        self.wrong = wrong
        self.whole_frame: list[int] = []
        self.searched: list[int] = []

    def estimate(self, frame: Frame) -> Estimate:
        self.whole_frame.append(frame.frame_number)
        return super().estimate(frame)

    def rescue(self, frame: Frame, box: np.ndarray, first: Estimate | None) -> Estimate:
        self.searched.append(frame.frame_number)
        keypoints = TRUTH["keypoints_2d"][frame.frame_number]
        inside = (keypoints >= box[:2] - 5).all() and (keypoints <= box[2:] + 5).all()
        if not inside:
            return Estimate([], self.name, {"rescue": 1.0}, detector_ran=False)
        missed, self.missed = self.missed, set()
        person = HintedWalkerEstimator.estimate(self, frame).people[0]
        self.missed = missed
        if self.wrong:
            person.keypoints_2d = person.keypoints_2d + 400.0
            person.bbox = person.bbox + 400.0
        person.score = 0.4
        return Estimate([person], self.name, {"rescue": 1.0}, detector_ran=False)


def _stream(estimator: SecondLookWalker, frames: int = 30, **settings) -> list:
    pipeline = PosePipeline(Settings(session_persist=False, **settings), estimator)
    pipeline.load()
    answers = [pipeline.process(Frame(RGB, n), video_id="v").tracked for n in range(frames)]
    return answers, pipeline


def test_missed_frames_are_rescued_flagged_and_counted():
    missed = set(range(10, 20))
    estimator = SecondLookWalker(missed)
    estimator.missed = missed  # whole-frame looks miss here
    answers, pipeline = _stream(estimator)
    for n in range(10, 20):
        assert answers[n].source == "detected" and answers[n].flags == ["rescued"], n
        assert answers[n].tracking_confidence == 0.4  # its own confidence, not the track's
    assert all("rescued" not in a.flags for n, a in enumerate(answers) if n not in missed)
    assert estimator.searched == list(range(10, 20))
    counts = pipeline.health_snapshot().rescue
    assert counts == {
        "enabled": True, "looked_again": 10, "rescued": 10, "looked_first": 0, "reframed": 0,
        "failed": 0,
    }  # fmt: skip


def test_a_run_of_rescues_searches_the_region_first_and_skips_the_whole_frame():
    missed = set(range(10, 20))
    estimator = SecondLookWalker(missed, first=True)
    answers, pipeline = _stream(estimator)
    assert all(answers[n].flags == ["rescued"] for n in range(10, 20))
    # 10 needed the whole frame first; then the region first, except at the 5th and 10th frame
    # of the run (15, 20: the whole frame looked at again); at 20 it finds the walker: detected.
    assert estimator.whole_frame == [*range(0, 11), 15, *range(20, 30)]
    assert answers[20].flags == [] and answers[20].source == "detected"
    counts = pipeline.health_snapshot().rescue
    assert counts["looked_first"] == 8 and counts["rescued"] == 10


def test_a_wrong_person_on_the_second_look_is_not_taken():
    estimator = SecondLookWalker(set(range(10, 14)), wrong=True)
    answers, pipeline = _stream(estimator, frames=16)
    assert [answers[n].source for n in range(10, 14)] == ["predicted"] * 4
    assert pipeline.health_snapshot().rescue["rescued"] == 0


def test_a_second_look_that_fails_leaves_the_frame_as_it_was():
    """A crash in rescue (e.g. the GPU out of memory on the extra crop) is counted and
    logged; the frame keeps its first look's answer (predicted), the request does not fail."""

    class Failing(SecondLookWalker):
        def rescue(self, frame: Frame, box: np.ndarray, first: Estimate | None) -> Estimate:
            raise RuntimeError("CUDA out of memory (stand-in)")

    answers, pipeline = _stream(Failing(set(range(10, 13))), frames=15)
    assert [answers[n].source for n in range(10, 13)] == ["predicted"] * 3
    assert pipeline.health_snapshot().rescue["failed"] == 3


def test_a_look_the_track_refuses_is_tried_once_more_framed_tighter():
    """A crop model finds a blurred person in one framing and collapses them in another
    (lite's ``reframes``): a refused look gets one more, the box ``REFRAME_SHRINK`` times
    tighter; its time is added to the rescue's."""

    class FramingSensitive(SecondLookWalker):
        reframes = True

        widths: list[float] = []

        def rescue(self, frame: Frame, box: np.ndarray, first: Estimate | None) -> Estimate:
            self.widths.append(float(box[2] - box[0]))
            framing = len(self.widths) % 2
            if framing:  # the first framing: the walker's box, he collapses into a bystander
                self.box = box
            found = super().rescue(frame, self.box, first)
            if framing:
                for person in found.people:
                    person.keypoints_2d = person.keypoints_2d + 400.0
            return found

    estimator = FramingSensitive(set(range(10, 13)))
    estimator.missed = set(range(10, 13))  # whole-frame looks miss here
    answers, pipeline = _stream(estimator, frames=14)
    assert [answers[n].flags for n in range(10, 13)] == [["rescued"]] * 3
    assert estimator.widths[1] == pytest.approx(estimator.widths[0] * REFRAME_SHRINK, rel=1e-4)
    counts = pipeline.health_snapshot().rescue
    assert counts["reframed"] == 3 and counts["rescued"] == 3 and counts["looked_again"] == 6


def test_a_failed_look_is_not_reframed():
    class Failing(SecondLookWalker):
        reframes = True

        def rescue(self, frame: Frame, box: np.ndarray, first: Estimate | None) -> Estimate:
            raise RuntimeError("stand-in failure")

    estimator = Failing(set(range(10, 12)))
    estimator.missed = set(range(10, 12))
    _, pipeline = _stream(estimator, frames=13)
    counts = pipeline.health_snapshot().rescue
    assert counts["failed"] == 2 and counts["reframed"] == 0


def test_the_second_looks_timings_are_reported_apart_from_the_first():
    estimator = SecondLookWalker(set(range(10, 12)))
    pipeline = PosePipeline(Settings(session_persist=False), estimator)
    pipeline.load()
    outcomes = [pipeline.process(Frame(RGB, n), video_id="v") for n in range(12)]
    assert outcomes[10].tracked.flags == ["rescued"]
    assert outcomes[10].timings_ms["inference_rescue"] == 1.0
    assert "inference_detect" in outcomes[10].timings_ms  # the first look's stays


def test_off_by_setting_and_never_for_a_hidden_frame():
    estimator = SecondLookWalker(set(range(10, 14)))
    answers, pipeline = _stream(estimator, frames=16, rescue=False)
    assert estimator.searched == [] and answers[11].source == "predicted"
    assert pipeline.health_snapshot().rescue["enabled"] is False
    estimator = SecondLookWalker(set())
    pipeline = PosePipeline(Settings(session_persist=False, allow_simulated_misses=True), estimator)
    pipeline.load()
    for n in range(12):
        pipeline.process(Frame(RGB, n), video_id="v", simulate_miss=n >= 8)
    assert estimator.searched == []
