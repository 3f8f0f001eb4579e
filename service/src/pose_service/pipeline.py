"""One frame's way through the service: decode -> estimate -> track, with timings.

The pipeline owns the process's single estimator (loaded once, off the request path, by a
background thread so ``/health`` can say ``warming_up``), the FIFO gate in front of it, and the
session router. It knows nothing about HTTP: the API turns its results into answers. It feeds
the Prometheus metrics of what it decides (``metrics``: frames by source, queue waits, passes).
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .config import Settings
from .estimators import Estimator, create_estimator
from .estimators.base import TransientInferenceError
from .estimators.hmr2.box_hint import usable_hint
from .imaging import decode_base64_image, decode_image, thumbnail_grey
from .metrics import count_frame, observe_model_pass, observe_queue_wait
from .observability import get_logger, memory_report
from .redetection import Look, Redetector
from .scheduling import FifoGate, QueueTimeout, ShuttingDown, TurnBatcher
from .tracking.lookahead import HeldFrame, Lookahead, should_hold
from .tracking.sessions import Routing, Session, SessionRouter, SessionsFull
from .tracking.store import SessionStore, StoreRetry, move_aside, open_store
from .types import Estimate, Frame, TrackedPose

log = get_logger("pose_service.pipeline")

# How often a held missed frame checks that the later frames it waits for are still queued
# (a refused one never gets the turn that would settle it), seconds.
LOOKAHEAD_CHECK_S = 0.5


class NotReady(RuntimeError):
    """The model is not loaded (still warming up, or failed to load)."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class FrameOutcome:
    """Everything the API needs to answer one frame."""

    frame: Frame
    tracked: TrackedPose
    session_id: str
    session_rule: str
    model_version: str
    timings_ms: dict[str, float] = field(default_factory=dict)
    batch_frames: int = 1  # frames that shared the estimator pass with this one (itself included)
    held: HeldFrame | None = None  # a missed frame waiting for its video's later frames


@dataclass(frozen=True)
class HealthSnapshot:
    """The pipeline's state as ``/health`` reports it."""

    status: str  # warming_up | ready | not_ready
    models: dict[str, str]  # the backend's roles (hmr2, vitdet), then each model by its name
    model_roles: dict[str, str]  # role -> the model filling it
    estimator: str
    estimator_facts: dict[str, object]  # the estimator's own ``describe()``
    uptime_s: float
    load_seconds: float | None
    load_error: str | None
    queue: dict[str, Any]
    sessions: int
    persistence: dict[str, object]
    rescue: dict[str, int | bool]  # second looks where a track predicts its person (counts)


@dataclass
class _FrameRequest:
    """A decoded frame waiting for its turn (see ``scheduling.TurnBatcher``)."""

    frame: Frame
    video_id: str | None
    simulate_miss: bool
    thumbnail: np.ndarray


class PosePipeline:
    """The service's frame processing, independent of HTTP."""

    def __init__(self, settings: Settings, estimator: Estimator | None = None) -> None:
        self.settings = settings
        self.estimator = estimator if estimator is not None else create_estimator(settings)
        self.gate = FifoGate(settings.queue_size, settings.queue_timeout_s)
        # Frames per estimator pass: only estimators that run several frames at once batch.
        self.batch_limit = settings.batch_frames if self.estimator.batches_frames else 1
        self.redetector = Redetector(self.estimator, settings.rescue)
        self.batcher: TurnBatcher[_FrameRequest, FrameOutcome | SessionsFull] = TurnBatcher(
            self.gate, self.batch_limit
        )
        self.router = SessionRouter(
            settings.session_policy(),
            settings.tracker_config(),
        )
        self.lookahead = Lookahead(settings.track_lookahead_frames)
        self.status = "warming_up"
        self.load_error: str | None = None
        self.load_seconds: float | None = None
        self.faces: np.ndarray | None = None
        self.started = time.time()
        self._loader: threading.Thread | None = None
        self._load_lock = threading.Lock()
        self._load_begun = False
        self._load_settled = threading.Event()  # set once a load ended (ready or not_ready)
        self._model_version = self.estimator.name
        self._stopping = threading.Event()
        self.draining = False  # set on SIGTERM (``begin_draining``): /readyz says 503 from then
        self._ready_hooks: list[Callable[[], None]] = []
        self._shutdown_hooks: list[Callable[[], None]] = []
        self._store = self._open_store()

    # --- loading -------------------------------------------------------------------------
    def start_loading(self) -> None:
        """Load the model in a background thread (idempotent: nothing if a load has begun)."""
        with self._load_lock:
            if self._load_begun:
                return
            self._load_begun = True
            self._loader = threading.Thread(target=self._load, name="model-loader", daemon=True)
            self._loader.start()

    def wait_loaded(self, timeout_s: float) -> str:
        """Start loading if nothing has, wait up to ``timeout_s`` for the load to end; the
        status then (``warming_up`` when it is still loading)."""
        self.start_loading()
        self._load_settled.wait(timeout_s)
        return self.status

    def load(self) -> None:
        """Load the model in this thread (once: a second call does nothing)."""
        with self._load_lock:
            if self._load_begun:
                return
            self._load_begun = True
        self._load()

    def _load(self) -> None:
        try:
            self._load_model()
        finally:
            self._load_settled.set()

    def _load_model(self) -> None:
        start = time.perf_counter()
        log.info("model_loading", estimator=self.estimator.name, **memory_report())
        try:
            self.estimator.load()
            self.faces = self.estimator.faces()
        except Exception as exc:  # noqa: BLE001 - reported on /health, never crashes the worker
            self.status, self.load_error = "not_ready", f"{type(exc).__name__}: {exc}"
            log.error("model_load_failed", estimator=self.estimator.name, error=self.load_error)
            return
        self._warm_up()
        self.load_seconds = round(time.perf_counter() - start, 3)
        try:
            self._restore_sessions()
        except Exception as exc:  # noqa: BLE001 - saved state must never keep the service down
            log.error("session_restore_failed", error=f"{type(exc).__name__}: {exc}")
        self.status = "ready"
        self._run_hooks(self._ready_hooks, "ready_hook_failed")
        facts = {**self.estimator.describe(), **memory_report()}  # describe() may name keys
        facts.update(  # that are also ours (hmr2's says "estimator"): ours win, no TypeError
            estimator=self.estimator.name,
            seconds=self.load_seconds,
            models=self.estimator.model_status(),
        )
        log.info("model_loaded", **facts)

    def _warm_up(self) -> None:
        """The estimator's warm-up pass (``Estimator.warm_up``), before the status says ready;
        a failure is logged and the service goes ready anyway (the first frames are then slow,
        or fail as they would have)."""
        start = time.perf_counter()
        try:
            self.estimator.warm_up()
        except Exception as exc:  # noqa: BLE001 - an optimisation, never a reason to stay down
            log.warning("warm_up_failed", estimator=self.estimator.name,
                        error=f"{type(exc).__name__}: {exc}")  # fmt: skip
            return
        log.info("warm_up_done", estimator=self.estimator.name,
                 seconds=round(time.perf_counter() - start, 3))  # fmt: skip

    def readiness(self) -> tuple[bool, str, str | None]:
        """Whether to take traffic (``/readyz``): ``(ready, status, reason)``. Ready is
        ``/health``'s ready (the model loaded and its warm-up pass ran) and not shutting down."""
        if self.draining or self.gate.closed:
            return False, "draining", "the service is shutting down"
        if self.status != "ready":
            reason = self.load_error or "the model is still loading"
            return False, self.status, reason
        return True, self.status, None

    def when_ready(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` once the model is loaded and the status says ready (so work it starts
        can take the model's turn); now if it already is."""
        if self.status == "ready":
            hook()
        else:
            self._ready_hooks.append(hook)

    def on_shutdown(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` first thing in :meth:`shutdown` (before the gate closes)."""
        self._shutdown_hooks.append(hook)

    @staticmethod
    def _run_hooks(hooks: list[Callable[[], None]], failure_event: str) -> None:
        for hook in hooks:
            try:
                hook()
            except Exception as exc:  # noqa: BLE001 - a hook never stops the load or the stop
                log.error(failure_event, hook=getattr(hook, "__qualname__", repr(hook)),
                          error=f"{type(exc).__name__}: {exc}")  # fmt: skip

    def begin_draining(self) -> None:
        """SIGTERM arrived: say so on ``/readyz`` while the in-flight requests finish (frames
        are still answered; ``shutdown`` closes the gate once none is in flight)."""
        self.draining = True

    # --- frames --------------------------------------------------------------------------
    def decode(self, image_base64: str, frame_number: int) -> tuple[Frame, float]:
        """Base64 text to a Frame (raises ImageError); returns the decode time in ms."""
        start = time.perf_counter()
        rgb = decode_image(
            decode_base64_image(image_base64),
            self.settings.max_image_pixels,
            self.settings.fast_jpeg_decode,
        )
        return Frame(rgb=rgb, frame_number=frame_number), (time.perf_counter() - start) * 1e3

    def process(
        self, frame: Frame, video_id: str | None = None, simulate_miss: bool = False
    ) -> FrameOutcome:
        """Estimate and track one decoded frame, in FIFO turn with the other requests (and, with
        ``POSE_SERVICE_BATCH_FRAMES`` > 1, in one estimator pass with frames waiting behind it).

        ``simulate_miss`` hides the frame from the estimator, as if it had found nobody (the
        demo and the tests use it to show the tracker's work on a real video).
        """
        if self.status != "ready":
            raise NotReady(self.status, self.load_error or "models are still loading")
        request = _FrameRequest(frame, video_id, simulate_miss, thumbnail_grey(frame.rgb))
        try:  # a new video without room is refused now, not after waiting for the model
            self.router.check_room(frame.frame_number, (frame.width, frame.height),
                                   request.thumbnail, video_id)  # fmt: skip
        except SessionsFull as exc:
            outcome: FrameOutcome | SessionsFull = exc
        else:
            outcome, waited_s = self.batcher.run(request, self._process_batch)
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
        routed: list[tuple[_FrameRequest, Routing, Frame, float]] = []
        refused: dict[int, SessionsFull] = {}
        sessions_seen: set[str] = set()
        searchable: list[int] = []  # indices in routed whose region may be searched first
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
            session = routing.session
            # A second frame of one video in a batch gets no box hint: the track has not yet
            # stepped through the first, so its prediction would be a frame late.
            if not request.simulate_miss and session.session_id not in sessions_seen:
                frame = self._with_box_hint(frame, routing)
                searchable.append(len(routed))
            sessions_seen.add(session.session_id)
            routed.append((request, routing, frame, (time.perf_counter() - start) * 1e3))

        start = time.perf_counter()
        try:
            first_looks = {  # index in routed -> the region searched first (rescue runs)
                i: look
                for i in searchable
                if (look := self.redetector.first_look(routed[i][2], routed[i][1]))
            }
            rescued_first = {i for i, look in first_looks.items() if look.rescued}
            to_estimate = [
                f
                for i, (r, _, f, _) in enumerate(routed)
                if not (self._skips_model(r) or i in rescued_first)
            ]
            estimates = iter(self._estimate_frames(to_estimate))
        except BaseException:
            # No frame of the turn is answered (a 503 to retry, or a fault): none of them
            # keeps its place in its session, so sent again each finds its video.
            for request, routing, _, _ in routed:
                self.router.unroute(routing, request.frame.frame_number)
            raise
        inference_ms = (time.perf_counter() - start) * 1e3
        if first_looks or to_estimate:
            observe_model_pass(inference_ms / 1e3, "stream")

        try:
            outcomes = self._track_routed(routed, first_looks, rescued_first, estimates,
                                          inference_ms, len(requests))  # fmt: skip
        except BaseException:  # no answer of this turn goes out: nothing waits for it either
            self.lookahead.release_all()
            raise
        # Held frames whose later frames are no longer waiting get their prediction now.
        self.lookahead.release_unless(self._later_in_hand)
        answers: list[FrameOutcome | SessionsFull] = list(outcomes)
        for index in sorted(refused):
            answers.insert(index, refused[index])
        return answers

    def _track_routed(
        self,
        routed: list[tuple[_FrameRequest, Routing, Frame, float]],
        first_looks: dict[int, Look],
        rescued_first: set[int],
        estimates: Iterator[Estimate],
        inference_ms: float,
        batch_frames: int,
    ) -> list[FrameOutcome]:
        """Track the routed frames of a turn in order; a missed frame whose video's later
        frames are in hand is held (``tracking.lookahead``), and a detection fills the held
        frames before it."""
        outcomes = []
        for index, (request, routing, frame, routed_ms) in enumerate(routed):
            session = routing.session
            rescued = False
            if request.simulate_miss:
                if not self._skips_model(request):
                    next(estimates)  # the pass a real miss costs; what it found is hidden
                estimate = Estimate([], self._model_version, {})
            else:
                first = first_looks.get(index)
                look = first if index in rescued_first else self.redetector.second_look(
                    frame, routing, next(estimates), looked=first is not None
                )  # fmt: skip
                estimate, rescued = look.estimate, look.rescued
                self._model_version = estimate.model_version
                session.frames_since_detector = (
                    0 if estimate.detector_ran else session.frames_since_detector + 1
                )
            session.rescue_streak = session.rescue_streak + 1 if rescued else 0
            timings = {"inference": inference_ms}
            timings.update({f"inference_{k}": v for k, v in estimate.timings_ms.items()})
            start = time.perf_counter()
            tracked = routing.track.step(routing.time_index, estimate.people, rescued)
            self._fill_held(session.session_id, routing, tracked)
            held = None
            later = [(f.frame_number, r.session.session_id) for _, r, f, _ in routed[index + 1 :]]
            if should_hold(tracked, self.lookahead.frames) and self._in_hand(
                session.session_id, frame.frame_number, later
            ):
                held = self.lookahead.hold(
                    session.session_id, routing.track, routing.time_index, frame.frame_number,
                    tracked,
                )  # fmt: skip
            timings["tracking"] = routed_ms + (time.perf_counter() - start) * 1e3
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
        for request in self.batcher.waiting_items():
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
        start = time.perf_counter()
        deadline = start + self.settings.queue_timeout_s
        while not held.done.wait(LOOKAHEAD_CHECK_S):
            if time.perf_counter() > deadline:
                self.lookahead.release_unless(lambda h: h is not held)
            elif not self.gate.busy:  # a turn under way settles held frames at its end
                self.lookahead.release_unless(
                    lambda h: self.gate.busy or self._later_in_hand(h)  # a frame just claimed
                )
        return (time.perf_counter() - start) * 1e3

    def _skips_model(self, request: _FrameRequest) -> bool:
        """A hidden frame skips the model unless it is to cost a pass like a real miss."""
        return request.simulate_miss and not self.settings.simulated_miss_takes_pass

    def _estimate_frames(self, frames: list[Frame]) -> list[Estimate]:
        """One estimator pass for several frames where the estimator batches, else one call.

        A batch that does not fit on the device (a retryable error) is retried frame by frame
        before any request is answered with a 503.
        """
        if len(frames) <= 1:
            return [self.estimator.estimate(f) for f in frames]
        try:
            return self.estimator.estimate_batch(frames)
        except TransientInferenceError as exc:
            log.warning("batch_retried_frame_by_frame", frames=len(frames), error=str(exc))
            return [self.estimator.estimate(f) for f in frames]

    def _with_box_hint(self, frame: Frame, routing: Routing) -> Frame:
        """The frame with the track's predicted box when the detector may be skipped: the
        estimator takes hints, ``detect_every_frames`` > 1 and the detector ran recently."""
        every = self.settings.detect_every_frames
        if every <= 1 or not self.estimator.takes_box_hints:
            return frame
        if routing.session.frames_since_detector + 1 >= every or routing.new_segment:
            return frame
        hint = routing.track.box_hint(routing.time_index)
        if hint is None or not usable_hint(hint.box, frame.width, frame.height):
            return frame
        return dataclasses.replace(frame, hint=hint)

    def estimate_in_turn(self, frames: list[Frame]) -> list[Estimate]:
        """Run the estimator on a few frames in one FIFO turn (whole-video jobs use this,
        ``batch_limit`` frames per turn, so streaming clients wait for at most one such pass,
        never a whole video); a full queue makes the job wait, not fail."""
        if self.status != "ready":
            raise NotReady(self.status, self.load_error or "models are still loading")
        with self.background_turn():
            start = time.perf_counter()
            estimates = self._estimate_frames(frames)
            observe_model_pass(time.perf_counter() - start, "job")
            return estimates

    def background_turn(self) -> AbstractContextManager[None]:
        """A FIFO turn with the model for background work: a full queue makes it wait and
        queue again (``FifoGate.patient_turn``), only a shutdown refuses it."""
        return self.gate.patient_turn(self.settings.retry_after_s)

    def live_session(self, session_id: str) -> Session | None:
        """The live session with this id, if any (the whole-video answer for a stream)."""
        return self.router.get(session_id)

    def health_snapshot(self) -> HealthSnapshot:
        """Where the model, the queue, the sessions and persistence stand; reads counters only,
        so ``/health`` never waits for the model."""
        gate = self.gate
        return HealthSnapshot(
            status=self.status,
            models=self.estimator.role_status(),
            model_roles=self.estimator.model_roles(),
            estimator=self.estimator.name,
            estimator_facts=self.estimator.describe(),
            uptime_s=round(time.time() - self.started, 1),
            load_seconds=self.load_seconds,
            load_error=self.load_error,
            queue={
                "busy": gate.busy,
                "waiting": gate.waiting,
                "capacity": gate.capacity,
                "served": gate.served,
                "refused": gate.refused,
                "batch_frames": self.batch_limit,
                "batches": self.batcher.batches,
                "batched_frames": self.batcher.batched_items,
            },
            sessions=len(self.router),
            persistence=dict(self.persistence),
            rescue=self.redetector.counts(),
        )

    # --- persistence -----------------------------------------------------------------------
    def _open_store(self) -> SessionStore | None:
        self.persistence: dict[str, object] = {"enabled": self.settings.session_persist}
        if not self.settings.session_persist:
            return None
        return self._try_store(self._store_path)

    @property
    def _store_path(self) -> Path:
        return Path(self.settings.state_dir) / "sessions.sqlite3"

    def _try_store(self, path: Path) -> SessionStore | None:
        """Open the store (at start, and again from the saver while it cannot be opened)."""
        opened = open_store(path)
        self.persistence.update(path=str(path), ok=opened.store is not None, error=opened.error)
        if opened.moved_aside is not None:
            self.persistence["moved_aside"] = str(opened.moved_aside)
            log.error(
                "session_store_unreadable",
                path=str(path),
                error=opened.error,
                moved_to=str(opened.moved_aside),
                starting="with no saved sessions",
            )
        elif opened.store is None:
            log.error(
                "session_store_unavailable",
                path=str(path),
                error=opened.error,
                persistence="retried with backoff; saving starts once the directory is writable",
            )
        return opened.store

    def _restore_sessions(self) -> None:
        try:
            self._load_saved_sessions()
        finally:  # the saver runs also when the store is not open yet: it retries
            if self.settings.session_persist:
                threading.Thread(
                    target=self._persist_loop, name="session-persist", daemon=True
                ).start()

    def _load_saved_sessions(self) -> None:
        if self._store is None:
            return
        try:
            sessions = self._store.load(
                self.settings.session_idle_s, self.router.now(), self.router.tracker_config
            )
        except sqlite3.DatabaseError as exc:  # damage quick_check did not see: start fresh
            self._store.close()
            aside = move_aside(self._store.path)
            log.error("session_store_unreadable", path=str(self._store.path), error=str(exc),
                      moved_to=str(aside), starting="with no saved sessions")  # fmt: skip
            self._store = self._open_store()
            self.persistence["moved_aside"] = str(aside)
            sessions = []
        self.router.restore(sessions)
        if sessions:
            log.info("sessions_restored", count=len(sessions),
                     sessions=[s.session_id for s in sessions])  # fmt: skip

    def _persist_loop(self) -> None:
        interval = self.settings.session_persist_interval_s
        retry = StoreRetry(interval, self.settings.session_store_retry_max_s)
        while not self._stopping.wait(interval):
            if self._store is None:
                if retry.due(time.monotonic()):
                    self._reopen_store(retry)
                continue
            try:
                # No frame is tracked while sessions are saved, and the save goes ahead of the
                # frames waiting, so what a SIGKILL loses stays about one interval.
                with self.gate.priority_turn():
                    self.persist_sessions()
            except (QueueTimeout, ShuttingDown):
                continue  # busy: the next round saves
            except Exception as exc:  # noqa: BLE001 - the saver must outlive any one bad round
                log.error("session_persist_failed", error=f"{type(exc).__name__}: {exc}",
                          retry="every save interval")  # fmt: skip
                self.persistence.update(ok=False, error=f"{type(exc).__name__}: {exc}")

    def _reopen_store(self, retry: StoreRetry) -> None:
        store = self._try_store(self._store_path)
        if store is None:
            retry.failed(time.monotonic())
            self.persistence["next_retry_s"] = round(retry.wait_s, 3)
            return
        self.persistence.pop("next_retry_s", None)
        log.info("session_store_opened", path=str(store.path), attempts=retry.attempts + 1)
        self._store = store

    def persist_sessions(self) -> int:
        """Write changed sessions to the state directory (call with no frame in flight)."""
        if self._store is None:
            return 0
        try:
            saved = self._store.save(self.router.live_sessions(), self.router.now())
        except (OSError, sqlite3.Error, ValueError) as exc:
            if self.persistence.get("ok"):
                log.error("session_persist_failed", error=str(exc), retry="every save interval")
            self.persistence.update(ok=False, error=f"{type(exc).__name__}: {exc}")
            return 0
        if not self.persistence.get("ok"):
            log.info("session_persist_recovered", saved=saved)
        self.persistence.update(ok=True, error=None, last_saved_at=time.time())
        return saved

    def shutdown(self) -> None:
        """Stop taking new frames, and save the sessions (called once no frame is in flight)."""
        self.draining = True
        self._run_hooks(self._shutdown_hooks, "shutdown_hook_failed")
        self.gate.close()
        self._stopping.set()
        self.lookahead.release_all()
        saved = self.persist_sessions()
        log.info("pipeline_stopped", sessions_saved=saved, live_sessions=len(self.router))
