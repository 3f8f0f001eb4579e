"""A missed frame waits for its video's later frames already queued, and is then answered from
both sides (``tracking.lookahead`` in the pipeline); with nothing later in hand it is answered
at once, as before.

The first frame holds the model (its estimate blocks) while the others queue behind it, as the
backend's pool keeps 4 requests in flight.
"""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np

from pose_service.config import Settings
from pose_service.pipeline import FrameOutcome, PosePipeline
from pose_service.types import Estimate, Frame
from tests.streaming.test_hints import TRUTH, HintedWalkerEstimator
from tests.support.queueing import queue_in_order, wait_until

RGB = np.zeros((360, 640, 3), dtype=np.uint8)


class HeldWalker(HintedWalkerEstimator):
    """The walker; its next estimate can be held so frames queue behind it."""

    def __init__(self) -> None:
        super().__init__()
        self.hold = threading.Event()
        self.hold.set()
        self.order: list[int] = []  # frame numbers in the order they were estimated

    def estimate(self, frame: Frame) -> Estimate:
        self.hold.wait(5)
        self.order.append(frame.frame_number)
        return super().estimate(frame)


def _pipeline(lookahead: int = 4) -> tuple[PosePipeline, HeldWalker]:
    estimator = HeldWalker()
    settings = Settings(track_lookahead_frames=lookahead, session_persist=False)
    pipeline = PosePipeline(settings, estimator)
    pipeline.load()
    return pipeline, estimator


def _in_flight(
    pipeline: PosePipeline, estimator: HeldWalker, jobs: list[tuple[int, bool, str | None]]
) -> tuple[dict[int, FrameOutcome], dict[int, float]]:
    """Send ``jobs`` (frame number, hidden, video id) while the first holds the model, so the
    rest wait behind it; the outcomes and when each was answered (perf_counter)."""
    outcomes: dict[int, FrameOutcome] = {}
    answered: dict[int, float] = {}

    def send(job: tuple[int, bool, str | None]) -> None:
        number, hidden, video = job
        outcomes[number] = pipeline.process(Frame(RGB, number), video, simulate_miss=hidden)
        answered[number] = time.perf_counter()

    estimator.hold.clear()
    threads = [threading.Thread(target=send, args=(jobs[0],))]
    threads[0].start()
    wait_until(lambda: pipeline.gate.busy)
    threads += queue_in_order(pipeline.gate, send, jobs[1:])
    estimator.hold.set()
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive(), "a frame never got its answer"
    return outcomes, answered


def _warm(pipeline: PosePipeline, frames: range, video: str | None = None) -> None:
    for n in frames:
        assert pipeline.process(Frame(RGB, n), video).tracked.source == "detected"


def _error_mm(outcome: FrameOutcome) -> float:
    pose = outcome.tracked.pose
    assert pose is not None
    truth = TRUTH["joints_3d"][outcome.frame.frame_number]
    return float(np.linalg.norm(pose.joints_3d - truth, axis=-1).mean() * 1000)


def test_missed_frames_are_filled_from_the_detection_queued_after_them():
    pipeline, estimator = _pipeline()
    _warm(pipeline, range(0, 10))
    jobs = [(10, False, None), (11, True, None), (12, True, None), (13, False, None)]
    outcomes, answered = _in_flight(pipeline, estimator, jobs)
    for n, since in ((11, 1), (12, 2)):
        tracked = outcomes[n].tracked
        assert tracked.source == "interpolated", tracked
        assert tracked.frames_since_detection == since
        assert 0 < tracked.tracking_confidence < outcomes[13].tracked.tracking_confidence
        assert outcomes[n].timings_ms["lookahead_wait"] >= 0
        assert answered[n] >= answered[10]
    assert outcomes[13].tracked.source == "detected"
    # The same frames one at a time (nothing later in hand) are predicted: the fill is closer.
    alone, _ = _pipeline()
    _warm(alone, range(0, 11))
    predicted = [alone.process(Frame(RGB, n), simulate_miss=True) for n in (11, 12)]
    assert [p.tracked.source for p in predicted] == ["predicted", "predicted"]
    assert "lookahead_wait" not in predicted[0].timings_ms
    filled = np.mean([_error_mm(outcomes[n]) for n in (11, 12)])
    assert filled < np.mean([_error_mm(p) for p in predicted])
    assert pipeline.lookahead.filled == 2 and len(pipeline.lookahead) == 0


def test_a_missed_frame_with_nothing_later_in_hand_is_answered_at_once():
    pipeline, estimator = _pipeline()
    _warm(pipeline, range(0, 6))
    start = time.perf_counter()
    outcome = pipeline.process(Frame(RGB, 6), simulate_miss=True)
    assert outcome.tracked.source == "predicted"
    assert time.perf_counter() - start < 0.2
    assert pipeline.lookahead.filled == 0 and len(pipeline.lookahead) == 0


def test_later_frames_all_missed_release_the_held_ones_with_their_prediction():
    pipeline, estimator = _pipeline()
    _warm(pipeline, range(0, 6))
    jobs = [(6, False, None), (7, True, None), (8, True, None), (9, True, None)]
    outcomes, _ = _in_flight(pipeline, estimator, jobs)
    assert [outcomes[n].tracked.source for n in (7, 8, 9)] == ["predicted"] * 3
    assert [outcomes[n].tracked.frames_since_detection for n in (7, 8, 9)] == [1, 2, 3]
    assert len(pipeline.lookahead) == 0


def test_a_frame_waits_for_at_most_lookahead_frames():
    pipeline, estimator = _pipeline(lookahead=2)
    _warm(pipeline, range(0, 6))
    jobs = [(6, False, None), (7, True, None), (8, True, None), (9, True, None),
            (10, False, None)]  # fmt: skip
    outcomes, _ = _in_flight(pipeline, estimator, jobs)
    sources = {n: outcomes[n].tracked.source for n in (7, 8, 9)}
    assert sources == {7: "predicted", 8: "interpolated", 9: "interpolated"}


def test_frames_of_another_video_are_not_waited_for():
    pipeline, estimator = _pipeline()
    _warm(pipeline, range(0, 6), "a")
    _warm(pipeline, range(0, 6), "b")
    jobs = [(6, False, "a"), (7, True, "a"), (8, False, "b")]
    outcomes, _ = _in_flight(pipeline, estimator, jobs)
    assert outcomes[7].tracked.source == "predicted"
    assert "lookahead_wait" not in outcomes[7].timings_ms


def test_lookahead_off_predicts_as_before():
    pipeline, estimator = _pipeline(lookahead=0)
    _warm(pipeline, range(0, 6))
    jobs = [(6, False, None), (7, True, None), (8, False, None)]
    outcomes, _ = _in_flight(pipeline, estimator, jobs)
    assert outcomes[7].tracked.source == "predicted"


def test_fifo_order_of_the_model_holds_while_a_frame_waits():
    pipeline, estimator = _pipeline()
    _warm(pipeline, range(0, 6), "a")
    _warm(pipeline, range(0, 6), "b")
    estimator.order.clear()
    jobs = [(6, False, "a"), (7, True, "a"), (7, False, "b"), (8, False, "a"), (8, False, "b")]
    outcomes: dict[tuple[int, str], FrameOutcome] = {}

    def send(job: tuple[int, bool, str]) -> None:
        outcomes[(job[0], job[2])] = pipeline.process(Frame(RGB, job[0]), job[2], job[1])

    estimator.hold.clear()
    first = threading.Thread(target=send, args=(jobs[0],))
    first.start()
    wait_until(lambda: pipeline.gate.busy)
    threads = [first, *queue_in_order(pipeline.gate, send, jobs[1:])]
    estimator.hold.set()
    for thread in threads:
        thread.join(10)
    assert estimator.order == [6, 7, 8, 8]  # a6, b7, a8, b8: arrival order (a7 was hidden)
    assert outcomes[(7, "a")].tracked.source == "interpolated"


def test_a_hidden_frame_can_cost_the_model_pass_a_real_miss_costs():
    estimator = HeldWalker()
    settings = Settings(session_persist=False, simulated_miss_takes_pass=True)
    pipeline = PosePipeline(settings, estimator)
    pipeline.load()
    _warm(pipeline, range(0, 4))
    outcome = pipeline.process(Frame(RGB, 4), simulate_miss=True)
    assert estimator.order == [0, 1, 2, 3, 4]  # the model ran on it ...
    assert outcome.tracked.source == "predicted"  # ... and what it found was hidden
    stepper = pipeline.stepper  # the stepper reads the settings it was built with
    stepper.settings = dataclasses.replace(stepper.settings, simulated_miss_takes_pass=False)
    pipeline.process(Frame(RGB, 5), simulate_miss=True)
    assert estimator.order == [0, 1, 2, 3, 4]


def test_a_fill_that_fails_leaves_the_frames_their_prediction(monkeypatch):
    pipeline, estimator = _pipeline()
    _warm(pipeline, range(0, 6))

    def broken(*args, **kwargs):
        raise ValueError("stand-in fault")

    monkeypatch.setattr("pose_service.streaming.holding.fill_between", broken)
    jobs = [(6, False, None), (7, True, None), (8, False, None)]
    outcomes, _ = _in_flight(pipeline, estimator, jobs)
    assert outcomes[7].tracked.source == "predicted"
    assert outcomes[8].tracked.source == "detected"
    assert len(pipeline.lookahead) == 0


def test_a_held_frame_whose_later_frame_left_the_queue_unserved_is_released():
    """A later frame refused without a turn never settles the frame held for it: the held
    frame's own check does, within about LOOKAHEAD_CHECK_S."""
    from pose_service.streaming.stepper import LOOKAHEAD_CHECK_S
    from pose_service.tracking.track import Track

    pipeline, _ = _pipeline()
    track = Track(pipeline.settings.tracker_config())
    answer = track.step(0, [])
    held = pipeline.lookahead.hold("gone", track, 0, 0, answer)  # nothing of it is queued
    waited_ms = pipeline.stepper._await_later_frames(held)
    assert held.done.is_set() and not held.filled
    assert waited_ms < 3 * LOOKAHEAD_CHECK_S * 1000
    assert len(pipeline.lookahead) == 0


class BatchingWalker(HeldWalker):
    """The walker taking every waiting frame in one pass (``BATCH_FRAMES``)."""

    batches_frames = True

    def estimate_batch(self, frames):
        return [self.estimate(frame) for frame in frames]


def test_later_frames_of_the_same_pass_fill_a_missed_frame_without_a_video_id():
    """With batching, the detection that fills may be in the same model pass: frames routed by
    the picture (the backend sends no id) are matched by the session they were routed to."""
    estimator = BatchingWalker()
    pipeline = PosePipeline(
        Settings(track_lookahead_frames=4, session_persist=False, batch_frames=4), estimator
    )
    pipeline.load()
    _warm(pipeline, range(0, 10))
    jobs = [(9, False, None), (10, False, None), (11, True, None), (12, True, None),
            (13, False, None)]  # fmt: skip
    outcomes, _ = _in_flight(pipeline, estimator, [(9, False, "other")] + jobs[1:])
    assert outcomes[13].batch_frames > 1, "frames 10-13 took one pass"
    assert [outcomes[n].tracked.source for n in (11, 12)] == ["interpolated", "interpolated"]
