"""Every knob of the service, each declared once: default, check and doc in one field.

Each field of :class:`Settings` is read from the environment variable ``POSE_SERVICE_<NAME>``
(upper case), which is what the Ansible role writes into the service's env file. Command-line
options override the environment. Nothing else in the package reads the environment. The
tracker's and the session router's knobs keep their defaults in :class:`TrackerConfig` and
:class:`SessionPolicy` (the objects that use them); the settings here feed those fields.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from functools import cache, partial
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from .config_spec import (
    ENV_PREFIX,
    NO_WHITESPACE,
    Spec,
    above,
    as_text,
    at_least,
    env_name,
    feeds,
    one_of,
    parse,
    refusal,
    setting,
    spec_of,
    within,
)
from .drawing import OVERLAY_STYLES
from .sessions.policy import SessionPolicy
from .tracking.config import PREDICTORS, SMOOTHING_MODES, TrackerConfig

__all__ = ["ENV_PREFIX", "Settings"]

T = TypeVar("T")
ESTIMATORS = ("hmr2", "lite", "replay")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
POSITIVE = above(0)
NON_NEGATIVE = at_least(0)
SHARE = within(0, 1)
tracker_knob = partial(feeds, TrackerConfig)  # a setting whose default TrackerConfig holds
session_knob = partial(feeds, SessionPolicy)  # and SessionPolicy


@dataclass(frozen=True)
class Settings:
    """Service configuration. Each field's doc says why its default is what it is."""

    # --- serving -------------------------------------------------------------------------
    estimator: str = setting(
        "lite",
        "the model: 4D-Humans (GPU host), MediaPipe (CPU) or a recording",
        check=one_of(ESTIMATORS),
    )
    host: str = setting(
        "127.0.0.1", "bind address; loopback by default: nothing is exposed unless asked"
    )
    port: int = setting(
        5000, "bind port; what the backend's POSE_SERVICE_URL defaults to", check=within(0, 65535)
    )
    threads: int = setting(
        8,
        "gunicorn request threads (≥ backend concurrency + 1): up to 4 streams, direct calls "
        "(a whole `GET /health` has 2 threads of its own)",
        check=at_least(2, "so one request waiting for the model never holds every thread"),
    )
    graceful_timeout_s: float = setting(
        30.0, "seconds SIGTERM lets the in-flight frame finish", check=NON_NEGATIVE
    )
    worker_timeout_s: float = setting(
        120.0, "gunicorn heartbeat, seconds; equals the backend's request timeout", check=POSITIVE
    )
    keepalive_s: int = setting(
        75,
        "seconds an idle kept-alive connection stays open; longer than Node's agent keeps an "
        "idle socket (5 s), so the client always closes first and never reuses a closing one",
        check=at_least(6, "(Node 20's default agent reuses idle sockets for 5 s)"),
    )
    max_body_bytes: int = setting(
        32 * 1024 * 1024,
        "largest request body (32 MiB: a 4K PNG as base64 is ~30 MB); 413 above",
        check=at_least(1),
    )
    max_image_pixels: int = setting(
        36_000_000,
        "largest decoded image (8K), checked from the header: 413 above",
        check=at_least(1),
    )
    fast_jpeg_decode: bool = setting(
        False, "libjpeg-turbo fast DCT: ~3 ms less per 1080p frame, pixels ~1 grey level off"
    )
    auth_token: str = setting(
        "",
        "when set, `X-Pose-Service-Token` is required except on `/health`, `/openapi.json` and "
        "the probes (`/livez`, `/readyz`, `/metrics`); "
        "needed to bind beyond loopback (or ALLOW_UNAUTHENTICATED)",
        check=NO_WHITESPACE,
        secret=True,
    )
    allow_unauthenticated: bool = setting(
        False, "serve a non-loopback address without a token anyway"
    )
    reject_unknown_fields: bool = setting(
        True, "400 on a misspelt request field rather than ignoring it"
    )

    # --- scheduling ----------------------------------------------------------------------
    queue_size: int = setting(
        16, "frames that may wait for the model before 503 + Retry-After", check=NON_NEGATIVE
    )
    queue_timeout_s: float = setting(
        110.0,
        "longest wait for the model; longer than the backend's 120 s timeout is useless",
        check=POSITIVE,
    )
    retry_after_s: int = setting(1, "what 503 answers put in Retry-After", check=NON_NEGATIVE)
    batch_frames: int = setting(
        1,
        "hmr2: frames waiting for the model (other videos, whole-video job chunks) that one "
        "ViTDet + HMR2 pass takes together; 1 = one frame per pass, as validated",
        check=at_least(1, "(1 = no batching)"),
    )

    # --- sessions (telling videos apart without an id) -----------------------------------
    session_idle_s: float = session_knob(
        "idle_s", "a video with no frame for this long is forgotten, seconds", check=POSITIVE
    )
    max_sessions: int = session_knob(
        "max_sessions", "videos tracked at once; the least recently used goes", check=at_least(1)
    )
    session_protect_s: float = session_knob(
        "protect_s",
        "a session with a frame this recent is never evicted; a new video then gets 503 "
        "`sessions_full`",
        check=NON_NEGATIVE,
    )
    session_max_forward_gap: int = session_knob(
        "max_forward_gap", "a frame further ahead than this starts a new video", check=at_least(1)
    )
    session_reorder_window: int = session_knob(
        "reorder_window", "a frame this far behind is a late frame of the video", check=NON_NEGATIVE
    )
    session_match_threshold: float = session_knob(
        "match_threshold", "mean abs grey difference of thumbnails (0..255)", check=within(0, 255)
    )

    # --- tracking ------------------------------------------------------------------------
    track_max_gap_frames: int = tracker_knob(
        "max_gap_frames", "frames without detection before a track is dropped", check=at_least(1)
    )
    track_velocity_decay: float = tracker_knob(
        "velocity_decay", "root/keypoint velocity kept per predicted frame", check=SHARE
    )
    track_joint_velocity_decay: float = tracker_knob(
        "joint_velocity_decay", "body-joint velocity kept per frame (tuned by eval)", check=SHARE
    )
    track_gate: float = tracker_knob(
        "gate", "max jump, in units of the person's box diagonal, to accept a match", check=POSITIVE
    )
    track_reacquire_after: int = tracker_knob(
        "reacquire_after", "consecutive rejected detections before re-acquiring", check=at_least(1)
    )
    track_history_frames: int = tracker_knob(
        "history_frames", "recent answers kept per session for late frames", check=at_least(1)
    )
    track_smoothing: str = tracker_knob(
        "smoothing",
        "`off` (detections as estimated), `kalman` or `one_euro`: causal smoothing",
        check=one_of(SMOOTHING_MODES),
    )
    track_predictor: str = tracker_knob(
        "predictor",
        "a missed frame's body joints: `learned` (an MLP trained on CMU capture, from the "
        "track's last 20 frames; poses without a mesh) or `kalman` (the damped filter); "
        "docs/prediction.md",
        check=one_of(PREDICTORS),
    )
    track_joint_noise_m: float = tracker_knob(
        "joint_noise_m", "detected joint noise the Kalman filter assumes, metres", check=POSITIVE
    )
    track_joint_accel_m: float = tracker_knob(
        "joint_accel_m", "joint acceleration std per frame (streaming filter)", check=POSITIVE
    )
    track_smoother_accel_m: float = tracker_knob(
        "smoother_accel_m", "the same for the whole-video smoother", check=POSITIVE
    )
    track_confidence_error_scale_m: float = tracker_knob(
        "confidence_error_scale_m", "expected error at which confidence is 1/e", check=POSITIVE
    )
    track_gate_3d_m: float = tracker_knob(
        "gate_3d_m", "mean 3D joint jump that marks a detection incoherent", check=POSITIVE
    )
    track_gate_scale: float = tracker_knob(
        "gate_scale",
        "a detection whose keypoints spread this many times less than the track's running size"
        " is a jump (an estimator's collapsed pose on a hard frame)",
        check=above(1.0),
    )
    track_lookahead_frames: int = tracker_knob(
        "lookahead_frames",
        "a missed frame whose video's next frames already wait for the model is answered once "
        "one of these next frames is detected, interpolated from both sides (0 = always predict "
        "at once); never waits for a frame that has not arrived",
        check=NON_NEGATIVE,
    )
    track_record_max_frames: int = tracker_knob(
        "record_max_frames", "frames per session kept for GET /sessions/<id>", check=NON_NEGATIVE
    )

    # --- whole-video jobs ----------------------------------------------------------------
    max_jobs: int = setting(
        8,
        "`POST /pose/video` jobs queued or running; one more is a 503 `jobs_full`",
        check=at_least(1),
    )
    job_workers: int = setting(
        1, "threads running jobs (they share the one model's FIFO gate)", check=at_least(1)
    )
    job_result_ttl_s: float = setting(
        600.0, "how long `GET /jobs/<id>` keeps a finished job's result, seconds", check=POSITIVE
    )
    max_job_results: int = setting(
        32,
        "finished results kept at most (oldest go first; a running job is never evicted)",
        check=at_least(1),
    )
    max_job_pixels: int = setting(
        4_000_000_000,
        "decoded pixels per job (~1900 1080p frames), from the headers: 413 above",
        check=at_least(1),
    )
    upload_max_bytes: int = setting(
        1024**3,
        'bytes the inputs of queued and running jobs (uploads, `{"frames"}` images) may '
        "take under STATE_DIR/uploads; a new one that could pass it is a 503 `uploads_full` "
        "(413 `upload_too_large` when it alone could); each is removed when its job ends",
        check=at_least(1),
    )
    job_max_starts: int = setting(
        3,
        "times a job is started: one cut short by a stop or a crash resumes on the next start "
        "from its first frame, until it was started this often, then fails saying so",
        check=at_least(1),
    )
    phalp_timeout_s: float = setting(
        3600.0,
        "longest a `tracker=phalp` job may run (track.py runs ~2 frames/s on a 4090)",
        check=POSITIVE,
    )

    # --- the old service's routes the backend calls (docs/api.md, "Legacy routes") ---------------
    warmup_timeout_s: float = setting(
        110.0,
        "longest `/warmup` waits for the model to load before answering 500 `warming_up` "
        "(the backend gives it 120 s)",
        check=POSITIVE,
    )
    process_video_timeout_s: float = setting(
        115.0,
        "longest `/process_video` waits for its video, then 503 `still_processing` with the "
        "job's id for `/job_status` (the job goes on; the provisioned proxy gives up at 130 s)",
        check=POSITIVE,
    )
    legacy_max_frames: int = setting(
        900,
        "most frames `/process_video` and `/process_video_async` track and render (the first "
        "ones; 30 s at 30 fps): a larger `max_frames` (the backend's default is 999999) is "
        "taken as this",
        check=at_least(1),
    )
    overlay: str = setting(
        "mesh",
        "what drawn frames show (`visualize: true`, `/process_video`'s frames and overlay "
        "video): `mesh`, the pose's SMPL mesh filled on the CPU where the pose has one (hmr2; "
        "the skeleton where it has none: lite, a filled frame of a video job), or `skeleton` "
        "everywhere",
        check=one_of(OVERLAY_STYLES),
    )
    legacy_output_max_bytes: int = setting(
        2 * 1024**3,
        "rendered frames (JPEG) and overlay videos kept under STATE_DIR/outputs at most; the "
        "oldest job's go first (the newest is always kept)",
        check=at_least(1),
    )

    # --- estimators ----------------------------------------------------------------------
    device: str = setting(
        "auto", "hmr2: `cuda`, `cpu` or `auto`", check=one_of(("auto", "cuda", "cpu"))
    )
    detector_score_threshold: float = setting(
        0.5, "least person score kept, as 4D-Humans' demo.py", check=SHARE
    )
    hmr2_max_people: int = setting(
        0,
        "hmr2: the best-scoring person boxes of a frame HMR2 regresses (0 = every box above the "
        "threshold, as 4D-Humans' demo.py; each box of a crowd costs an HMR2 crop); the boxes "
        "left out stay rescue candidates where the track predicts its person",
        check=at_least(0, "(0 = every box)"),
    )
    detect_every_frames: int = setting(
        1,
        "hmr2: ViTDet at least every N frames of a tracked video, HMR2 on the track's box "
        "between (1 = every frame, as 4D-Humans' demo does)",
        check=at_least(1, "(1 = every frame)"),
    )
    hmr2_fp16: bool = setting(False, "hmr2: fp16 autocast of HMR2 on CUDA (validated in fp32)")
    hmr2_detector: str = setting(
        "auto",
        "hmr2: `vitdet` (4D-Humans' ViTDet-H), `mediapipe` (the lite estimator's person box, needs "
        "the `lite` extra) or `auto`: ViTDet-H on CUDA, MediaPipe on a CPU where it is installed "
        "(ViTDet-H takes ~32–65 s a 1080p frame on 2 CPU cores, MediaPipe ~0.1 s; MediaPipe has "
        "no Python 3.13 wheels, so there ViTDet-H)",
        check=one_of(("auto", "vitdet", "mediapipe")),
    )
    lite_model_complexity: int = setting(
        1, "MediaPipe Pose model; 1 is the only one shipped in the wheel", check=one_of((0, 1, 2))
    )
    lite_min_detection_confidence: float = setting(
        0.5, "lite: MediaPipe's least detection confidence", check=SHARE
    )
    rescue: bool = setting(
        True,
        "look again where the track predicts the person when a frame's first look finds nobody "
        "the track accepts (lite: MediaPipe on a crop there; hmr2: ViTDet's low-score boxes)",
    )
    rescue_region_scale: float = setting(
        4.0,
        "side of the region searched again, in units of the person's longer side (the last "
        "detection's extent, centred where the track predicts them; 4: "
        "MediaPipe's detector needs context around a small person; measured 2-5 with "
        "benchmarks.redetection)",
        check=at_least(1.0, "(1 = the search box itself)"),
    )
    rescue_min_score: float = setting(
        0.1,
        "hmr2: least ViTDet person score a box may have to be taken where the track predicts "
        "the person (ByteTrack's second association)",
        check=SHARE,
    )
    replay_path: str = setting("", "replay: the .npz recorded sequence it answers from")
    replay_delay_ms: float = setting(0.0, "replay: simulated model latency", check=NON_NEGATIVE)
    allow_simulated_misses: bool = setting(
        False, "honour X-Simulate-Miss (demo and tests: hide detections)"
    )
    simulated_miss_takes_pass: bool = setting(
        False,
        "a frame hidden by X-Simulate-Miss still takes its model pass and what the model found "
        "is dropped, as a real miss costs a pass (latency benchmarks); off: it skips the model",
    )
    fourd_humans_dir: str = setting("", "the 4D-Humans clone (its configs); empty = the package")
    hmr2_checkpoint: str = setting(
        "",
        "HMR2 checkpoint; empty = ~/.cache/4DHumans/logs/train/multiruns/hmr2/0/... (the "
        "Ansible role sets it, and VITDET_WEIGHTS, under its models directory)",
    )
    vitdet_weights: str = setting(
        "", "ViTDet-H weights; empty = detectron2's model-zoo URL through the iopath cache"
    )

    # --- observability -------------------------------------------------------------------
    log_level: str = setting("info", "log level", check=one_of(LOG_LEVELS), parse=str.lower)
    log_format: str = setting(
        "json", "`json` lines on stdout (journald) or `console`", check=one_of(("json", "console"))
    )
    slow_frame_ms: float = setting(
        1000.0, "frames slower than this log memory (RSS, CUDA)", check=NON_NEGATIVE
    )

    # --- state ---------------------------------------------------------------------------
    session_persist: bool = setting(
        True, "keep live sessions in STATE_DIR so a restart keeps tracks"
    )
    session_persist_interval_s: float = setting(
        2.0, "a crash loses at most this much tracking state, seconds", check=POSITIVE
    )
    session_store_retry_max_s: float = setting(
        60.0,
        "a state directory that cannot be written is tried again, first after the save interval, "
        "then twice as long each time up to this, seconds; saving starts once it opens",
        check=POSITIVE,
    )
    state_dir: str = setting(
        default_factory=lambda: str(Path.home() / ".local/state/pose-service"),
        doc="where live sessions and whole-video jobs (`jobs.sqlite3`, their inputs in "
        "`uploads/`) are kept across restarts; a session file that cannot be read is moved "
        "aside (`sessions.sqlite3.unreadable-<time>`) and the service starts fresh; `/health`'s "
        "`persistence` says whether saving works",
        shown_default="~/.local/state/pose-service",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``POSE_SERVICE_*`` variables, then apply explicit overrides."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f, kind in declarations():
            raw = environ.get(env_name(f.name))
            if raw is not None and raw != "":
                values[f.name] = parse(f.name, raw, kind, spec_of(f))
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
        for f, kind in declarations():
            problem = refusal(f.name, getattr(self, f.name), kind, spec_of(f))
            if problem:
                raise ValueError(problem)
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
        return {env_name(f.name): as_text(getattr(self, f.name)) for f, _ in declarations()}

    def tracker_config(self) -> TrackerConfig:
        """The tracker's knobs: its own defaults, with what these settings feed it."""
        return self.fill(TrackerConfig)

    def session_policy(self) -> SessionPolicy:
        """The session router's knobs, the same way."""
        return self.fill(SessionPolicy)

    def fill(self, owner: type[T]) -> T:
        """An ``owner`` built from the settings declared as feeding it."""
        values = {
            spec.feeds[1]: getattr(self, f.name)
            for f, spec in ((f, spec_of(f)) for f, _ in declarations())
            if spec.feeds is not None and spec.feeds[0] is owner
        }
        return owner(**values)

    @staticmethod
    def choices(name: str) -> tuple[Any, ...]:
        """The values a setting may take, when its check is a list of them (else empty)."""
        check = spec_of(next(f for f, _ in declarations() if f.name == name)).check
        return check.options if check else ()


@cache
def declarations() -> tuple[tuple[dataclasses.Field[Any], type], ...]:
    """Every setting's field with its type, in declaration order."""
    hints = get_type_hints(Settings)
    return tuple((f, hints[f.name]) for f in fields(Settings))


def described() -> Iterator[tuple[str, str, Spec]]:
    """(variable, default as written in an env file, declaration) for every setting."""
    for f, _ in declarations():
        spec = spec_of(f)
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        yield env_name(f.name), spec.shown_default or as_text(default), spec
