"""One streamed frame's way, in the model's turn: route -> hint -> first look -> estimate ->
rescue -> step -> outcome.

:class:`FrameStepper` takes a decoded frame, waits for its turn with the model (frames waiting
behind it may share the pass: ``model.scheduling.TurnBatcher``), routes it to its video's session
(``sessions.router``), gives the estimator the track's predicted box when the detector may be
skipped, looks again where the track predicts the person when the estimate lost them
(``rescue``), steps the track, and holds a missed frame while its video's later frames are in
hand (``streaming.holding``). It feeds the metrics of what it decides. A whole-video job's
frames go the same way (:meth:`FrameStepper.step_video`), outside the router and unheld.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..imaging import thumbnail_grey
from ..metrics import count_frame, observe_model_pass, observe_queue_wait
from ..model.host import ModelHost
from ..observability import get_logger
from ..sessions.router import Routing, Session, SessionRouter, SessionsFull
from ..tracking.track import Expectation
from ..types import Estimate, Frame, TrackedPose
from .counters import EstimatorCounters
from .holding import HeldFrame, Lookahead, should_hold
from .outcome import FrameOutcome
from .rescue import Look, Rescuer

log = get_logger("pose_service.pipeline")  # the events' logger name is part of the log contract

# How often a held missed frame checks that the later frames it waits for are still queued
# (a refused one never gets the turn that would settle it), seconds.
LOOKAHEAD_CHECK_S = 0.5


@dataclass(frozen=True)
class StepperSettings:
    """The settings the stepper reads (the pipeline takes them from ``Settings``)."""

    detect_every_frames: int
    simulated_miss_takes_pass: bool
    queue_timeout_s: float


@dataclass
class _FrameRequest:
    """A decoded frame waiting for its turn (see ``scheduling.TurnBatcher``)."""

    frame: Frame
    video_id: str | None
    simulate_miss: bool
    thumbnail: np.ndarray | None  # None: a job's frame, never routed


@dataclass
class _Routed:
    """A frame of the turn routed to its session, as the estimator will see it."""

    request: _FrameRequest
    routing: Routing
    frame: Frame  # with the box hint, if it got one
    routed_ms: float
    expected: Expectation | None  # of the first frame of its video in the turn (else made later)


@dataclass
class _Looked:
    """What a turn's estimator pass found: the first looks (by index in the turn), which of
    them rescued their frame, the estimates of the others in order, and the pass's time."""

    first: dict[int, Look]
    rescued_first: set[int]
    estimates: Iterator[Estimate]
    inference_ms: float


class FrameStepper:
    """Streamed frames through the model and their videos' tracks."""

    def __init__(
        self,
        host: ModelHost,
        router: SessionRouter,
        rescuer: Rescuer,
        lookahead: Lookahead,
        settings: StepperSettings,
    ) -> None:
        self.host = host
        self.router = router
        self.rescuer = rescuer
        self.lookahead = lookahead
        self.settings = settings
        self._model_version = host.estimator.name

    def process(
        self, frame: Frame, video_id: str | None = None, simulate_miss: bool = False
    ) -> FrameOutcome:
        """Estimate and track one decoded frame, in FIFO turn with the other requests (and, with
        ``POSE_SERVICE_BATCH_FRAMES`` > 1, in one estimator pass with frames waiting behind it).

        ``simulate_miss`` hides the frame from the estimator, as if it had found nobody (the
        demo and the tests use it to show the tracker's work on a real video).
        """
        self.host.require_ready()
        request = _FrameRequest(frame, video_id, simulate_miss, thumbnail_grey(frame.rgb))
        try:  # a new video without room is refused now, not after waiting for the model
            self.router.check_room(frame.frame_number, (frame.width, frame.height),
                                   request.thumbnail, video_id)  # fmt: skip
        except SessionsFull as exc:
            outcome: FrameOutcome | SessionsFull = exc
        else:
            outcome, waited_s = self.host.batcher.run(request, self._process_batch)
        if isinstance(outcome, SessionsFull):
            log.warning("session_refused", frame_number=frame.frame_number, reason=str(outcome))
            raise outcome
        outcome.timings_ms["queue_wait"] = waited_s * 1e3
        if outcome.held is not None:
            outcome.timings_ms["lookahead_wait"] = self._await_later_frames(outcome.held)
            outcome.tracked = outcome.held.answer
        observe_queue_wait(waited_s)
        count_frame(outcome.tracked.source, outcome.tracked.flags)
        if outcome.session_rule in {"frame_zero", "no_match", "new_video_id"}:
            log.info(
                "session_started",
                session=outcome.session_id,
                rule=outcome.session_rule,
                frame_number=frame.frame_number,
                live_sessions=len(self.router),
            )
        return outcome

    def _process_batch(self, requests: list[_FrameRequest]) -> list[FrameOutcome | SessionsFull]:
        """Route, estimate and track the frames one turn took, in arrival order (a frame of a
        new video the router has no room for gets its :class:`SessionsFull` back)."""
        routed: list[_Routed] = []
        refused: dict[int, SessionsFull] = {}
        sessions_seen: set[str] = set()
        for index, request in enumerate(requests):
            start = time.perf_counter()
            frame = request.frame
            try:
                routing = self.router.route(
                    frame.frame_number, (frame.width, frame.height), request.thumbnail,
                    request.video_id,
                )  # fmt: skip
            except SessionsFull as exc:
                refused[index] = exc
                continue
            for evicted in routing.evicted:
                log.info("session_expired", session=evicted)
            session_id = routing.session.session_id
            routed.append(self._placed(request, routing, session_id not in sessions_seen, start))
            sessions_seen.add(session_id)

        try:
            looked = self._look(routed, "stream")
        except BaseException:
            # No frame of the turn is answered (a 503 to retry, or a fault): none of them
            # keeps its place in its session, so sent again each finds its video.
            for r in routed:
                self.router.unroute(r.routing, r.request.frame.frame_number)
            raise
        try:
            outcomes = self._track_routed(routed, looked, len(requests), hold=True)
        except BaseException:  # no answer of this turn goes out: nothing waits for it either
            self.lookahead.release_all()
            raise
        # Held frames whose later frames are no longer waiting get their prediction now.
        self.lookahead.release_unless(self._later_in_hand)
        answers: list[FrameOutcome | SessionsFull] = list(outcomes)
        for index in sorted(refused):
            answers.insert(index, refused[index])
        return answers

    def step_video(self, session: Session, frames: list[Frame]) -> list[FrameOutcome]:
        """A few frames of one video that no router holds (a whole-video job: ``session`` is
        the job's own), in order, through the same way as a streamed turn (box hint, rescue,
        step), in one background turn with the model: a full queue makes it wait, not fail.
        Nothing is held for later frames (the job fills its gaps from both sides at its end)."""
        self.host.require_ready()
        with self.host.background_turn():
            routed = []
            for index, frame in enumerate(frames):
                start = time.perf_counter()
                routing = Routing(session, "job", session.track, frame.frame_number)
                request = _FrameRequest(frame, session.session_id, False, None)
                routed.append(self._placed(request, routing, index == 0, start))
            looked = self._look(routed, "job")
            return self._track_routed(routed, looked, len(frames), hold=False)

    def _placed(
        self, request: _FrameRequest, routing: Routing, first: bool, start: float
    ) -> _Routed:
        """A routed frame, with its track's expectation and box hint when it is the first of its
        video in the turn: a later one gets neither, since the track has not yet stepped through
        the frames before it, so its prediction would be late."""
        frame, expected = request.frame, None
        if first and not request.simulate_miss:
            expected = routing.track.expect(routing.time_index)
            frame = self._with_box_hint(frame, routing, expected)
        return _Routed(request, routing, frame, (time.perf_counter() - start) * 1e3, expected)

    def _look(self, routed: list[_Routed], kind: str) -> _Looked:
        """The turn's estimator pass: the first looks where a rescue run searches the region
        first, then one pass over every frame those did not rescue."""
        start = time.perf_counter()
        first_looks = {  # index in routed -> the region searched first (rescue runs)
            i: look
            for i, r in enumerate(routed)
            if r.expected is not None and (look := self._first_look(r))
        }
        rescued_first = {i for i, look in first_looks.items() if look.rescued}
        to_estimate = [
            r.frame
            for i, r in enumerate(routed)
            if not (self._skips_model(r.request) or i in rescued_first)
        ]
        estimates = iter(self.host.estimate_frames(to_estimate))
        inference_ms = (time.perf_counter() - start) * 1e3
        if first_looks or to_estimate:
            observe_model_pass(inference_ms / 1e3, kind)
        return _Looked(first_looks, rescued_first, estimates, inference_ms)

    def _track_routed(
        self, routed: list[_Routed], looked: _Looked, batch_frames: int, hold: bool
    ) -> list[FrameOutcome]:
        """Track the routed frames of a turn in order; with ``hold``, a missed frame whose
        video's later frames are in hand is held (``streaming.holding``), and a detection fills
        the held frames before it."""
        first_looks, rescued_first, estimates = looked.first, looked.rescued_first, looked.estimates
        inference_ms = looked.inference_ms
        outcomes = []
        for index, item in enumerate(routed):
            request, routing, frame = item.request, item.routing, item.frame
            session = routing.session
            counters = EstimatorCounters(session)
            rescued = False
            # Made now for a later frame of a video in the turn: its track stepped the earlier.
            expected = item.expected or routing.track.expect(routing.time_index)
            if request.simulate_miss:
                if not self._skips_model(request):
                    next(estimates)  # the pass a real miss costs; what it found is hidden
                estimate = Estimate([], self._model_version, {})
            else:
                first = first_looks.get(index)
                look = first if index in rescued_first else self.rescuer.second_look(
                    frame, routing, expected, next(estimates), looked=first is not None
                )  # fmt: skip
                estimate, rescued = look.estimate, look.rescued
                self._model_version = estimate.model_version
                counters.estimated(estimate.detector_ran)
            counters.answered(rescued)
            timings = {"inference": inference_ms}
            timings.update({f"inference_{k}": v for k, v in estimate.timings_ms.items()})
            start = time.perf_counter()
            tracked = routing.track.step(routing.time_index, estimate.people, rescued, expected)
            self._fill_held(session.session_id, routing, tracked)
            held = None
            later = [
                (r.frame.frame_number, r.routing.session.session_id) for r in routed[index + 1 :]
            ]
            if (
                hold
                and should_hold(tracked, self.lookahead.frames)
                and self._in_hand(session.session_id, frame.frame_number, later)
            ):
                held = self.lookahead.hold(
                    session.session_id, routing.track, routing.time_index, frame.frame_number,
                    tracked,
                )  # fmt: skip
            timings["tracking"] = item.routed_ms + (time.perf_counter() - start) * 1e3
            outcomes.append(
                FrameOutcome(
                    frame=request.frame,
                    tracked=tracked,
                    session_id=session.session_id,
                    session_rule=routing.rule,
                    model_version=estimate.model_version,
                    timings_ms=timings,
                    batch_frames=batch_frames,
                    held=held,
                )
            )
        return outcomes

    def _fill_held(self, session_id: str, routing: Routing, tracked: TrackedPose) -> None:
        """Fill the held frames a detection completes; a fill that fails leaves them held (they
        get their prediction), never the frame that triggered it unanswered."""
        try:
            self.lookahead.stepped(session_id, routing.track, routing.time_index, tracked)
        except Exception as exc:  # noqa: BLE001 - filling is an improvement, never a fault
            log.error("lookahead_fill_failed", session=session_id,
                      error=f"{type(exc).__name__}: {exc}")  # fmt: skip

    def _later_in_hand(self, held: HeldFrame) -> bool:
        """Whether a frame that could fill ``held`` still waits for the model."""
        return self._in_hand(str(held.key), held.frame_number)

    def _in_hand(
        self, session_id: str, frame_number: int, in_turn: list[tuple[int, str]] | None = None
    ) -> bool:
        """Whether a frame of the video ``session_id`` within the look-ahead after
        ``frame_number`` is later in this turn (``in_turn``: frame numbers with the sessions
        they were routed to) or waiting for the model: only frames that have arrived are
        waited for."""
        frames = self.lookahead.frames
        for number, routed_to in in_turn or ():
            if routed_to == session_id and 0 < number - frame_number <= frames:
                return True
        for request in self.host.batcher.waiting_items():
            frame = request.frame
            if not 0 < frame.frame_number - frame_number <= frames:
                continue
            size = (frame.width, frame.height)
            session = self.router.peek(frame.frame_number, size, request.thumbnail,
                                       request.video_id)  # fmt: skip
            if session is not None and session.session_id == session_id:
                return True
        return False

    def _await_later_frames(self, held: HeldFrame) -> float:
        """Wait, outside the model's turn, until the held frame is filled or released; the ms
        waited. The turns that track its later frames settle it; the periodic check only
        covers a later frame that left the queue without a turn (refused), and the wait never
        exceeds the queue's own timeout."""
        gate = self.host.gate
        start = time.perf_counter()
        deadline = start + self.settings.queue_timeout_s
        while not held.done.wait(LOOKAHEAD_CHECK_S):
            if time.perf_counter() > deadline:
                self.lookahead.release_unless(lambda h: h is not held)
            elif not gate.busy:  # a turn under way settles held frames at its end
                self.lookahead.release_unless(
                    lambda h: gate.busy or self._later_in_hand(h)  # a frame just claimed
                )
        return (time.perf_counter() - start) * 1e3

    def _skips_model(self, request: _FrameRequest) -> bool:
        """A hidden frame skips the model unless it is to cost a pass like a real miss."""
        return request.simulate_miss and not self.settings.simulated_miss_takes_pass

    def _first_look(self, item: _Routed) -> Look | None:
        assert item.expected is not None  # searchable frames are the first of their video
        return self.rescuer.first_look(item.frame, item.routing, item.expected)

    def _with_box_hint(self, frame: Frame, routing: Routing, expected: Expectation) -> Frame:
        """The frame with the track's predicted box when the detector may be skipped: the
        estimator takes hints, ``detect_every_frames`` > 1 and the detector ran recently."""
        every = self.settings.detect_every_frames
        if every <= 1 or not self.host.estimator.takes_box_hints:
            return frame
        since_detector = EstimatorCounters(routing.session).frames_since_detector
        if since_detector + 1 >= every or routing.new_segment:
            return frame
        hint = expected.hint  # the estimator decides whether it is usable on this frame
        return frame if hint is None else dataclasses.replace(frame, hint=hint)
