"""Frames of several videos waiting for the model go through one estimator pass.

The estimator stands for ``hmr2`` seen from the pipeline: it has ``estimate_batch``, takes box
hints and finds the synthetic walker. The first frame holds the model (its estimate blocks)
while the others arrive, as when several backend streams hit a busy GPU.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from pose_service.config import Settings
from pose_service.estimators.base import TransientInferenceError
from pose_service.pipeline import FrameOutcome, PosePipeline
from pose_service.types import Estimate, Frame
from tests.streaming.test_hints import HintedWalkerEstimator
from tests.support.queueing import queue_in_order, wait_until

RGB = np.zeros((360, 640, 3), dtype=np.uint8)


class BatchingWalker(HintedWalkerEstimator):
    """The walker estimator with a batched pass; the first call can be held."""

    batches_frames = True

    def __init__(self) -> None:
        super().__init__()
        self.hold = threading.Event()
        self.hold.set()
        self.batches: list[list[tuple[int, bool]]] = []  # (frame number, had a hint)
        self.fail_batches = False

    def estimate(self, frame: Frame) -> Estimate:
        self.hold.wait(5)
        return super().estimate(frame)

    def estimate_batch(self, frames: list[Frame]) -> list[Estimate]:
        self.batches.append([(f.frame_number, f.hint is not None) for f in frames])
        if self.fail_batches:
            raise TransientInferenceError("CUDA out of memory (stand-in)")
        return [super(BatchingWalker, self).estimate(f) for f in frames]


def _pipeline(estimator: BatchingWalker, batch_frames: int) -> PosePipeline:
    settings = Settings(batch_frames=batch_frames, detect_every_frames=5, session_persist=False)
    pipeline = PosePipeline(settings, estimator)
    pipeline.load()
    return pipeline


def _while_busy(
    pipeline: PosePipeline, estimator: BatchingWalker, first: tuple, waiting: list[tuple]
) -> dict[tuple, FrameOutcome]:
    """``first`` (frame number, video id) holds the model while ``waiting`` queue behind."""
    outcomes: dict[tuple, FrameOutcome] = {}

    def send(job: tuple) -> None:
        outcomes[job] = pipeline.process(Frame(RGB, job[0]), video_id=job[1])

    estimator.hold.clear()
    threads = [threading.Thread(target=send, args=(first,))]
    threads[0].start()
    wait_until(lambda: pipeline.gate.busy)
    threads += queue_in_order(pipeline.gate, send, waiting)
    estimator.hold.set()
    for thread in threads:
        thread.join()
    return outcomes


def test_waiting_frames_of_other_videos_share_one_pass():
    estimator = BatchingWalker()
    pipeline = _pipeline(estimator, batch_frames=4)
    for n in range(3):  # both videos tracked: their next frames get box hints
        for video in ("a", "b"):
            pipeline.process(Frame(RGB, n), video_id=video)
    estimator.batches.clear()
    outcomes = _while_busy(pipeline, estimator, (3, "a"), [(3, "b"), (4, "a"), (4, "b")])
    # a's frame 3 alone (it held the model); then b3, a4, b4 in one pass, in arrival order.
    # a4 keeps its hint (a3 was stepped before); b4 shares the pass with b3: the detector.
    assert estimator.batches == [[(3, True), (4, True), (4, False)]]
    for job, outcome in outcomes.items():
        assert outcome.session_id == job[1] and outcome.tracked.source == "detected"
        assert outcome.batch_frames == (1 if job == (3, "a") else 3)
    assert pipeline.batcher.batches >= 2 and pipeline.gate.waiting == 0


def test_two_frames_of_one_video_in_a_pass_only_the_first_gets_a_hint():
    estimator = BatchingWalker()
    pipeline = _pipeline(estimator, batch_frames=4)
    for n in range(3):
        pipeline.process(Frame(RGB, n), video_id="a")
    estimator.batches.clear()
    outcomes = _while_busy(pipeline, estimator, (3, "b"), [(3, "a"), (4, "a")])
    # a4's hint would come from the track before a3 is stepped: a frame late, so the detector
    assert estimator.batches == [[(3, True), (4, False)]]
    assert [outcomes[(n, "a")].frame.frame_number for n in (3, 4)] == [3, 4]
    assert outcomes[(4, "a")].tracked.frames_since_detection == 0
    assert all(o.tracked.source == "detected" for o in outcomes.values())


def test_a_batch_that_does_not_fit_is_retried_frame_by_frame():
    estimator = BatchingWalker()
    estimator.fail_batches = True
    pipeline = _pipeline(estimator, batch_frames=4)
    outcomes = _while_busy(pipeline, estimator, (0, "a"), [(0, "b"), (0, "c")])
    assert len(estimator.batches) == 1  # tried once together, then one by one
    assert all(o.tracked.source == "detected" for o in outcomes.values())


@pytest.mark.parametrize("batch_frames", [1, 4])
def test_a_lone_frame_and_no_batching_use_plain_estimate(batch_frames):
    estimator = BatchingWalker()
    pipeline = _pipeline(estimator, batch_frames=batch_frames)
    waiting = [(0, "b"), (0, "c")] if batch_frames == 1 else [(0, "b")]
    outcomes = _while_busy(pipeline, estimator, (0, "a"), waiting)
    assert estimator.batches == []  # estimate() per frame, exactly as before batching
    assert {o.batch_frames for o in outcomes.values()} == {1}
    assert pipeline.batcher.batches == len(outcomes)
