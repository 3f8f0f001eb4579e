"""Every knob of the service, in one place.

Each field of :class:`Settings` is read from the environment variable ``POSE_SERVICE_<NAME>``
(upper case), which is what the Ansible role writes into the service's env file. Command-line
options override the environment. Nothing else in the package reads the environment.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from .tracking.track import SMOOTHING_MODES

ENV_PREFIX = "POSE_SERVICE_"


@dataclass(frozen=True)
class Settings:
    """Service configuration. Field docs say why each default is what it is."""

    # --- serving -------------------------------------------------------------------------
    estimator: str = "lite"  # hmr2 | lite | replay
    host: str = "127.0.0.1"  # loopback by default: nothing is exposed unless asked
    port: int = 5000  # what the backend's POSE_SERVICE_URL defaults to
    threads: int = 8  # backend runs up to 4 streams + direct calls + /health probes
    graceful_timeout_s: float = 30.0  # SIGTERM lets the in-flight frame finish
    worker_timeout_s: float = 120.0  # gunicorn heartbeat; equals the backend's request timeout
    max_body_bytes: int = 32 * 1024 * 1024  # a 4K PNG as base64 is ~30 MB
    max_image_pixels: int = 36_000_000  # 8K; anything bigger is a decompression bomb (413)
    fast_jpeg_decode: bool = False  # libjpeg-turbo fast DCT: ~35% faster, pixels ~1 level off
    auth_token: str = ""  # shared secret for the X-Pose-Service-Token header; empty = off
    allow_unauthenticated: bool = False  # serve a non-loopback address without a token anyway
    reject_unknown_fields: bool = True  # 400 on a misspelt field rather than ignoring it

    # --- scheduling ----------------------------------------------------------------------
    queue_size: int = 16  # frames allowed to wait for the model before 503 + Retry-After
    queue_timeout_s: float = 110.0  # waiting longer than the backend's 120 s timeout is useless
    retry_after_s: int = 1  # what 503 answers put in Retry-After
    batch_frames: int = 1  # hmr2: frames waiting for the model that one pass takes together
    # (other videos' frames, chunks of a whole-video job); 1 = one frame per pass, as validated

    # --- sessions (telling videos apart without an id) -----------------------------------
    session_idle_s: float = 300.0  # a video with no frame for this long is forgotten
    max_sessions: int = 32  # least recently used session is evicted beyond this
    session_protect_s: float = 10.0  # a session with a frame this recent is never evicted: 503
    session_max_forward_gap: int = 15  # a frame further ahead than this starts a new video
    session_reorder_window: int = 30  # a frame this far behind is a late frame of the same video
    session_match_threshold: float = 40.0  # mean abs grey difference of thumbnails (0..255)

    # --- tracking ------------------------------------------------------------------------
    track_max_gap_frames: int = 45  # ~1.5 s at 30 fps without a detection drops the track
    track_velocity_decay: float = 0.95  # root/keypoint velocity kept per predicted frame
    track_joint_velocity_decay: float = 0.7  # body-joint velocity kept per frame (tuned by eval)
    track_velocity_smoothing: float = 0.5  # EMA weight of the newest velocity estimate
    track_gate: float = 1.0  # max jump, in units of the person's box diagonal, to accept a match
    track_reacquire_after: int = 3  # consecutive rejected detections before re-acquiring
    track_history_frames: int = 32  # recent answers kept per session for late frames
    track_smoothing: str = "off"  # off (detections as estimated) | kalman | one_euro
    track_joint_noise_m: float = 0.02  # detected joint noise the Kalman filter assumes
    track_joint_accel_m: float = 0.006  # joint acceleration std per frame (streaming filter)
    track_smoother_accel_m: float = 0.008  # the same for the whole-video smoother
    track_confidence_error_scale_m: float = 0.1  # expected error at which confidence is 1/e
    track_gate_3d_m: float = 0.35  # mean 3D joint jump that marks a detection incoherent
    track_record_max_frames: int = 10_000  # frames per session kept for GET /sessions/<id>
    max_jobs: int = 8  # POST /pose/video jobs queued or running; one more is a 503
    job_workers: int = 1  # threads running jobs (they share the one model's FIFO gate)
    job_result_ttl_s: float = 600.0  # a finished job's result is kept this long for GET /jobs
    max_job_results: int = 32  # and at most this many finished results (oldest go first)
    max_job_pixels: int = 4_000_000_000  # decoded pixels per job (~1900 1080p frames); 413 above
    phalp_timeout_s: float = 3600.0  # tracker=phalp jobs: track.py runs ~2 frames/s on a 4090

    # --- estimators ----------------------------------------------------------------------
    device: str = "auto"  # auto | cuda | cpu
    detector_score_threshold: float = 0.5  # as 4D-Humans' demo.py
    detect_every_frames: int = 1  # hmr2: ViTDet at least every N frames of a tracked video;
    # between, HMR2 crops where the track predicts (1 = every frame, as 4D-Humans' demo does)
    hmr2_fp16: bool = False  # fp16 autocast of HMR2 on CUDA; HMR2 was validated in fp32
    hmr2_detector: str = "auto"  # vitdet | mediapipe | auto (vitdet on CUDA, mediapipe on a
    # CPU: ViTDet-H takes ~65 s a 1080p frame on 2 cores, MediaPipe's person box ~0.1 s)
    lite_model_complexity: int = 1  # 1 is the only MediaPipe model shipped in the wheel
    lite_min_detection_confidence: float = 0.5
    replay_path: str = ""  # .npz recorded sequence for the replay estimator
    replay_delay_ms: float = 0.0  # simulated model latency of the replay estimator
    allow_simulated_misses: bool = False  # honour X-Simulate-Miss (demo/tests: hide detections)
    fourd_humans_dir: str = ""  # the 4D-Humans clone (for its configs); empty = installed package
    hmr2_checkpoint: str = ""  # empty = ~/.cache/4DHumans/logs/train/multiruns/hmr2/0/...
    vitdet_weights: str = ""  # empty = detectron2's model-zoo URL resolved through iopath cache

    # --- observability -------------------------------------------------------------------
    log_level: str = "info"
    log_format: str = "json"  # json | console
    slow_frame_ms: float = 1000.0  # frames slower than this log memory usage

    # --- state ---------------------------------------------------------------------------
    session_persist: bool = True  # keep live sessions in STATE_DIR so a restart keeps tracks
    session_persist_interval_s: float = 2.0  # a crash loses at most this much tracking state
    state_dir: str = field(default_factory=lambda: str(Path.home() / ".local/state/pose-service"))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``POSE_SERVICE_*`` variables, then apply explicit overrides."""
        environ = os.environ if environ is None else environ
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _coerce(f.name, raw, hints[f.name])
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.validate()
        return settings

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (validated)."""
        new = dataclasses.replace(self, **changes)
        new.validate()
        return new

    def validate(self) -> None:
        """Refuse settings that cannot work, with a message naming the variable."""
        if self.estimator not in {"hmr2", "lite", "replay"}:
            raise ValueError(
                f"{ENV_PREFIX}ESTIMATOR must be hmr2, lite or replay, not {self.estimator!r}"
            )
        if self.threads < 2:
            raise ValueError(
                f"{ENV_PREFIX}THREADS must be >= 2 so /health answers during inference"
            )
        if self.queue_size < 0 or self.max_sessions < 1 or self.track_max_gap_frames < 1:
            raise ValueError("queue_size, max_sessions and track_max_gap_frames must be positive")
        for name in ("track_velocity_decay", "track_joint_velocity_decay"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{ENV_PREFIX}{name.upper()} must be within [0, 1]")
        if min(self.max_jobs, self.job_workers, self.max_job_results, self.max_job_pixels) < 1:
            raise ValueError(
                f"{ENV_PREFIX}MAX_JOBS, JOB_WORKERS, MAX_JOB_RESULTS, MAX_JOB_PIXELS must be >= 1"
            )
        if self.batch_frames < 1:
            raise ValueError(f"{ENV_PREFIX}BATCH_FRAMES must be >= 1 (1 = no batching)")
        if self.detect_every_frames < 1:
            raise ValueError(f"{ENV_PREFIX}DETECT_EVERY_FRAMES must be >= 1 (1 = every frame)")
        if self.track_smoothing not in SMOOTHING_MODES:
            raise ValueError(
                f"{ENV_PREFIX}TRACK_SMOOTHING must be one of {', '.join(SMOOTHING_MODES)}, "
                f"not {self.track_smoothing!r}"
            )
        if self.device not in {"auto", "cuda", "cpu"}:
            raise ValueError(f"{ENV_PREFIX}DEVICE must be auto, cuda or cpu")
        if self.hmr2_detector not in {"auto", "vitdet", "mediapipe"}:
            raise ValueError(f"{ENV_PREFIX}HMR2_DETECTOR must be auto, vitdet or mediapipe")
        if any(char.isspace() for char in self.auth_token):
            raise ValueError(
                f"{ENV_PREFIX}AUTH_TOKEN must not contain whitespace: HTTP strips it around the "
                "header's value, so a blank token would match no header, a padded one none at all"
            )
        if not self.binds_loopback and not self.auth_token and not self.allow_unauthenticated:
            raise ValueError(
                f"{ENV_PREFIX}HOST={self.host} exposes the service beyond this machine: set "
                f"{ENV_PREFIX}AUTH_TOKEN (clients send it as X-Pose-Service-Token), or "
                f"{ENV_PREFIX}ALLOW_UNAUTHENTICATED=true to accept that risk"
            )

    @property
    def binds_loopback(self) -> bool:
        """True when only this machine can reach the service."""
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return self.host == "localhost"

    def as_env(self) -> dict[str, str]:
        """The settings as ``POSE_SERVICE_*`` variables (for child processes and docs)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[ENV_PREFIX + f.name.upper()] = (
                str(value).lower() if isinstance(value, bool) else str(value)
            )
        return out


def _coerce(name: str, raw: str, kind: Any) -> Any:
    try:
        if kind is bool:
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
    except ValueError as exc:
        raise ValueError(
            f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {kind.__name__}"
        ) from exc
    return raw
