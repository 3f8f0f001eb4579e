"""The tracker's knobs (:class:`TrackerConfig`), apart from the tracker that reads them, so the
motion model and the settings read them without importing the tracker."""

from __future__ import annotations

from dataclasses import dataclass

SMOOTHING_MODES = ("off", "kalman", "one_euro")  # TrackerConfig.smoothing
PREDICTORS = ("kalman", "learned")  # TrackerConfig.predictor: body joints of a missed frame


@dataclass(frozen=True)
class TrackerConfig:
    """The tracker's knobs. Their defaults are written here only: ``Settings.tracker_config()``
    fills the ones a ``POSE_SERVICE_TRACK_*`` setting feeds, and each such setting takes its default
    from this class."""

    max_gap_frames: int = 45
    velocity_decay: float = 0.95  # root, keypoints, box: whole-body motion has inertia
    joint_velocity_decay: float = 0.7  # body-frame joints, rotations, mesh: limbs swing back
    gate: float = 1.0
    reacquire_after: int = 3
    history_frames: int = 32
    smoothing: str = "off"  # off | kalman | one_euro: causal smoothing of detected frames
    joint_noise_m: float = 0.02  # per-coordinate noise of detected 3D joints (HMR2-like)
    joint_accel_m: float = 0.006  # per-frame acceleration std of body-frame joints (streaming)
    smoother_accel_m: float = 0.008  # the same for the whole-video smoother (tuned by eval)
    root_noise_m: float = 0.03  # noise of the root (camera) translation
    root_accel_m: float = 0.01
    pixel_noise: float = 3.0  # keypoint / box noise, pixels
    pixel_accel: float = 4.0
    confidence_error_scale_m: float = 0.1  # expected error at which confidence falls to 1/e
    gate_3d_m: float = 0.35  # mean body-frame joint jump beyond which a detection is rejected
    flip_ratio: float = 0.5  # left/right-swapped pose this much closer to the track = a flip
    gate_scale: float = 1.5  # keypoint spread this many times smaller than the track's = a jump
    record_max_frames: int = 10_000  # frames of a video kept for whole-video mode (0 = none)
    predictor: str = "kalman"  # kalman | learned (``learned_prediction``): missed frames' joints
    lookahead_frames: int = 2  # later frames in hand a missed frame may wait for (``lookahead``)
