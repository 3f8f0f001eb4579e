"""The service's frame processing, composed: the model host, the frame stepper, the sessions.

:class:`PosePipeline` builds the parts from the settings and hands out what the API and the
whole-video jobs need: ``model`` (``model.host.ModelHost``: loading, readiness, the gate, estimate
in a turn), ``stepper`` (``streaming.stepper.FrameStepper``: one streamed frame's way), the
``router`` of sessions and their ``persistence``. It knows nothing about HTTP.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .config import Settings
from .estimators import Estimator, create_estimator
from .imaging import decode_base64_image, decode_image
from .model.host import ModelHost, NotReady
from .observability import get_logger
from .sessions.persistence import SessionPersistence
from .sessions.router import Session, SessionRouter
from .streaming.holding import Lookahead
from .streaming.outcome import FrameOutcome
from .streaming.rescue import Rescuer
from .streaming.stepper import FrameStepper, StepperSettings
from .types import Frame

__all__ = ["FrameOutcome", "HealthSnapshot", "NotReady", "PosePipeline"]

log = get_logger("pose_service.pipeline")


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


class PosePipeline:
    """The parts of the service's frame processing, built once per worker."""

    def __init__(self, settings: Settings, estimator: Estimator | None = None) -> None:
        self.settings = settings
        estimator = estimator if estimator is not None else create_estimator(settings)
        self.router = SessionRouter(settings.session_policy(), settings.tracker_config())
        self.persistence = SessionPersistence(
            self.router,
            enabled=settings.session_persist,
            state_dir=settings.state_dir,
            idle_s=settings.session_idle_s,
            interval_s=settings.session_persist_interval_s,
            retry_max_s=settings.session_store_retry_max_s,
            quiet_turn=lambda: self.model.gate.priority_turn(),
        )
        self.model = ModelHost(
            estimator,
            queue_size=settings.queue_size,
            queue_timeout_s=settings.queue_timeout_s,
            batch_frames=settings.batch_frames,
            retry_after_s=settings.retry_after_s,
            before_ready=self.persistence.restore_and_start,
        )
        self.lookahead = Lookahead(settings.track_lookahead_frames)
        self.rescuer = Rescuer(estimator, settings.rescue)
        self.stepper = FrameStepper(
            self.model,
            self.router,
            self.rescuer,
            self.lookahead,
            StepperSettings(
                detect_every_frames=settings.detect_every_frames,
                simulated_miss_takes_pass=settings.simulated_miss_takes_pass,
                queue_timeout_s=settings.queue_timeout_s,
            ),
        )
        # The model host's own, named here for the API, the server hooks and the tests.
        self.estimator = estimator
        self.gate = self.model.gate
        self.batcher = self.model.batcher
        self.start_loading = self.model.start_loading
        self.wait_loaded = self.model.wait_loaded
        self.load = self.model.load
        self.readiness = self.model.readiness
        self.when_ready = self.model.when_ready
        self.on_shutdown = self.model.on_shutdown
        self.begin_draining = self.model.begin_draining
        self.process = self.stepper.process

    @property
    def status(self) -> str:
        """The model's status: warming_up | ready | not_ready."""
        return self.model.status

    @property
    def draining(self) -> bool:
        return self.model.draining

    @property
    def faces(self) -> Any:
        """The mesh's faces, once the model is loaded (None before, or without a mesh)."""
        return self.model.faces

    def decode(self, image_base64: str, frame_number: int) -> tuple[Frame, float]:
        """Base64 text to a Frame (raises ImageError); returns the decode time in ms."""
        start = time.perf_counter()
        rgb = decode_image(
            decode_base64_image(image_base64),
            self.settings.max_image_pixels,
            self.settings.fast_jpeg_decode,
        )
        return Frame(rgb=rgb, frame_number=frame_number), (time.perf_counter() - start) * 1e3

    def live_session(self, session_id: str) -> Session | None:
        """The live session with this id, if any (the whole-video answer for a stream)."""
        return self.router.get(session_id)

    def health_snapshot(self) -> HealthSnapshot:
        """Where the model, the queue, the sessions and persistence stand; reads counters only,
        so ``/health`` never waits for the model."""
        model, estimator = self.model, self.model.estimator
        return HealthSnapshot(
            status=model.status,
            models=estimator.role_status(),
            model_roles=estimator.model_roles(),
            estimator=estimator.name,
            estimator_facts=estimator.describe(),
            uptime_s=round(time.time() - model.started, 1),
            load_seconds=model.load_seconds,
            load_error=model.load_error,
            queue=model.queue_facts(),
            sessions=len(self.router),
            persistence=self.persistence.facts(),
            rescue=self.rescuer.counts(),
        )

    def shutdown(self) -> None:
        """Stop taking new frames, and save the sessions (called once no frame is in flight)."""
        self.model.close()
        self.lookahead.release_all()
        saved = self.persistence.stop()
        log.info("pipeline_stopped", sessions_saved=saved, live_sessions=len(self.router))
