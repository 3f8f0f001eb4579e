"""The process's one estimator: loaded once, off the request path, then run in FIFO turns.

:class:`ModelHost` loads the model in a background thread (so ``/health`` can say
``warming_up``), runs its warm-up pass, says whether to take traffic (``readiness``), calls the
hooks of whoever waits for the model or its stop, and runs estimator passes in a turn of the
gate (``scheduling.FifoGate``), several frames per pass where the estimator batches
(``scheduling.TurnBatcher``), or in a patient background turn for whole-video jobs. It knows
nothing about sessions or tracks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

import numpy as np

from ..estimators import Estimator
from ..estimators.base import TransientInferenceError
from ..observability import get_logger, memory_report
from ..types import Estimate, Frame
from .scheduling import FifoGate, TurnBatcher

log = get_logger("pose_service.pipeline")  # the events' logger name is part of the log contract


class NotReady(RuntimeError):
    """The model is not loaded (still warming up, or failed to load)."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


class ModelHost:
    """The estimator, its loading and status, the gate in front of it and its batcher."""

    def __init__(
        self,
        estimator: Estimator,
        *,
        queue_size: int,
        queue_timeout_s: float,
        batch_frames: int,
        retry_after_s: float,
        before_ready: Callable[[], None] | None = None,
    ) -> None:
        self.estimator = estimator
        self.gate = FifoGate(queue_size, queue_timeout_s)
        # Frames per estimator pass: only estimators that run several frames at once batch.
        self.batch_limit = batch_frames if estimator.batches_frames else 1
        self.batcher: TurnBatcher[Any, Any] = TurnBatcher(self.gate, self.batch_limit)
        self.retry_after_s = retry_after_s
        self.status = "warming_up"
        self.load_error: str | None = None
        self.load_seconds: float | None = None
        self.faces: np.ndarray | None = None
        self.started = time.time()
        self.draining = False  # set on SIGTERM (``begin_draining``): /readyz says 503 from then
        self._before_ready = before_ready  # after the load, before the status says ready
        self._loader: threading.Thread | None = None
        self._load_lock = threading.Lock()
        self._load_begun = False
        self._load_settled = threading.Event()  # set once a load ended (ready or not_ready)
        self._ready_hooks: list[Callable[[], None]] = []
        self._shutdown_hooks: list[Callable[[], None]] = []

    @property
    def name(self) -> str:
        """The estimator's name (the answers' ``model_version`` before any frame said more)."""
        return self.estimator.name

    def smpl_joints(self, params: Mapping[str, Any]) -> np.ndarray:
        """The loaded model's SMPL joints of ``params`` (PHALP's observations need them)."""
        return self.estimator.smpl_joints(params)

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
        if self._before_ready is not None:
            try:
                self._before_ready()
            except Exception as exc:  # noqa: BLE001 - saved state must never keep the service down
                log.error("session_restore_failed", error=f"{type(exc).__name__}: {exc}")
        self.status = "ready"
        _run_hooks(self._ready_hooks, "ready_hook_failed")
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

    def require_ready(self) -> None:
        """Raise :class:`NotReady` unless the model is loaded."""
        if self.status != "ready":
            raise NotReady(self.status, self.load_error or "models are still loading")

    def readiness(self) -> tuple[bool, str, str | None]:
        """Whether to take traffic (``/readyz``): ``(ready, status, reason)``. Ready is
        ``/health``'s ready (the model loaded and its warm-up pass ran) and not shutting down."""
        if self.draining or self.gate.closed:
            return False, "draining", "the service is shutting down"
        if self.status != "ready":
            reason = self.load_error or "the model is still loading"
            return False, self.status, reason
        return True, self.status, None

    # --- hooks and stopping ---------------------------------------------------------------
    def when_ready(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` once the model is loaded and the status says ready (so work it starts
        can take the model's turn); now if it already is."""
        if self.status == "ready":
            hook()
        else:
            self._ready_hooks.append(hook)

    def on_shutdown(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` first thing in :meth:`close` (before the gate closes)."""
        self._shutdown_hooks.append(hook)

    def begin_draining(self) -> None:
        """SIGTERM arrived: say so on ``/readyz`` while the in-flight requests finish (frames
        are still answered; ``close`` closes the gate once none is in flight)."""
        self.draining = True

    def close(self) -> None:
        """Stop taking turns: the shutdown hooks first, then the gate closes."""
        self.draining = True
        _run_hooks(self._shutdown_hooks, "shutdown_hook_failed")
        self.gate.close()

    # --- estimating -----------------------------------------------------------------------
    def estimate_frames(self, frames: list[Frame]) -> list[Estimate]:
        """One estimator pass for several frames where the estimator batches, else one call
        (the caller holds the turn: a streamed turn, or a background one for a job).

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

    def background_turn(self) -> AbstractContextManager[None]:
        """A FIFO turn with the model for background work: a full queue makes it wait and
        queue again (``FifoGate.patient_turn``), only a shutdown refuses it."""
        return self.gate.patient_turn(self.retry_after_s)

    # --- facts ----------------------------------------------------------------------------
    def queue_facts(self) -> dict[str, Any]:
        """The gate's and the batcher's counters (``/health``'s ``queue``)."""
        gate = self.gate
        return {
            "busy": gate.busy,
            "waiting": gate.waiting,
            "capacity": gate.capacity,
            "served": gate.served,
            "refused": gate.refused,
            "batch_frames": self.batch_limit,
            "batches": self.batcher.batches,
            "batched_frames": self.batcher.batched_items,
        }


def _run_hooks(hooks: list[Callable[[], None]], failure_event: str) -> None:
    for hook in hooks:
        try:
            hook()
        except Exception as exc:  # noqa: BLE001 - a hook never stops the load or the stop
            log.error(failure_event, hook=getattr(hook, "__qualname__", repr(hook)),
                      error=f"{type(exc).__name__}: {exc}")  # fmt: skip
