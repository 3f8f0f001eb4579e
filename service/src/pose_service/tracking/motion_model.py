"""The tracker's motion model, declared once: which pose fields are filtered together, with which
noise and velocity decay, and how far a prediction's confidence may go.

Three groups, each one :class:`~pose_service.tracking.filters.FieldFilter` (one covariance, the
same gains for every field in it):

- ``body``: body-frame joints, mesh and joint rotations. Limbs reverse within a stride, so their
  velocity decays fast (``joint_velocity_decay``). Joints, mesh and rotations share one gain
  schedule and one damped-velocity formula, so a predicted frame's joints, mesh and rotations
  move together (joints stay ``J_regressor . vertices``).
- ``root``: the camera translation; the whole body has inertia (``velocity_decay``).
- ``image``: 2D keypoints and the box, in pixels (``velocity_decay``).

The streaming tracker (``track``), the whole-video smoother (``offline``) and the evaluation's
bounds all read this module; nothing else states a noise, a decay or a field list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .config import TrackerConfig
from .filters import FieldFilter, GainSchedule, MotionNoise, damped_travel

__all__ = [
    "FieldGroup",
    "MotionModel",
    "PREDICTED_CONFIDENCE_CAP",
    "SMOOTHED_FIELDS",
    "damped_travel",
]

PREDICTED_CONFIDENCE_CAP = 0.9  # a predicted frame is always below the detection it came from
# Fields the whole-video smoother solves (rotations are slerped; the record keeps no mesh).
SMOOTHED_FIELDS = ("joints_3d", "camera_translation", "keypoints_2d", "bbox")
COMPACT_FIELDS = ("vertices",)  # 20 670 coordinates: float32 filter state halves a session

# One-Euro speed coefficient per field: its cut-off rises by beta Hz per unit of speed, and the
# units differ (metres/s, pixels/s). Tuned on the CMU walk capture with 20 mm noise: joint error
# 30.4 -> 22.7 mm and jitter 75.6 -> 20.2 mm/frame^2 (beta 0.05 lagged: 49.5 mm).
ONE_EURO_MIN_CUTOFF_HZ = 1.0
ONE_EURO_BETA = {
    "joints_3d": 5.0,
    "vertices": 5.0,
    "camera_translation": 5.0,
    "keypoints_2d": 0.02,
    "bbox": 0.02,
}


@dataclass(frozen=True)
class FieldGroup:
    """Pose fields observed together and moving alike: one noise model, one decay."""

    name: str
    fields: tuple[str, ...]  # the first is the lead: its innovation and error are reported
    noise: MotionNoise
    decay: float

    def new_filter(self) -> FieldFilter:
        return FieldFilter(self.noise, self.decay, COMPACT_FIELDS)


@dataclass(frozen=True)
class MotionModel:
    """The field groups and confidence rule of one :class:`TrackerConfig`."""

    groups: tuple[FieldGroup, ...]
    confidence_error_scale_m: float
    smoother_accel_m: float  # the whole-video smoother's body acceleration (tuned by eval)

    @classmethod
    def from_config(cls, config: TrackerConfig) -> MotionModel:
        body = MotionNoise(config.joint_noise_m, config.joint_accel_m, 0.05)
        root = MotionNoise(config.root_noise_m, config.root_accel_m, 0.1)
        pixels = MotionNoise(config.pixel_noise, config.pixel_accel, 20.0)
        return cls(
            groups=(
                FieldGroup(
                    "body",
                    ("joints_3d", "vertices", "rotations"),
                    body,
                    config.joint_velocity_decay,
                ),  # fmt: skip
                FieldGroup("root", ("camera_translation",), root, config.velocity_decay),
                FieldGroup("image", ("keypoints_2d", "bbox"), pixels, config.velocity_decay),
            ),
            confidence_error_scale_m=config.confidence_error_scale_m,
            smoother_accel_m=config.smoother_accel_m,
        )

    @property
    def body(self) -> FieldGroup:
        return self.groups[0]

    def group_of(self, field: str) -> FieldGroup:
        return next(g for g in self.groups if field in g.fields)

    def smoother_noise(self, field: str) -> MotionNoise:
        noise = self.group_of(field).noise
        if field == "joints_3d":
            return MotionNoise(noise.r_std, self.smoother_accel_m, noise.v0_std)
        return noise

    def expected_error_m(self, schedule: GainSchedule, gap: int) -> float:
        """Expected 3D error (metres, one joint) ``gap`` frames after the last update."""
        return math.sqrt(3.0) * schedule.position_std(gap)

    def settled_schedule(self) -> GainSchedule:
        """The body schedule as after a run of detections (for filled frames of a video)."""
        schedule = GainSchedule(self.body.noise, self.body.decay)
        schedule.start()
        for _ in range(10):
            schedule.update(1)
        return schedule

    def predicted_confidence(self, score: float, expected_error_m: float) -> float:
        """``score x 0.9 x exp(-expected_error / confidence_error_scale_m)``: strictly below the
        detection it came from, falling as the expected error grows."""
        decay = math.exp(-expected_error_m / self.confidence_error_scale_m)
        return round(score * PREDICTED_CONFIDENCE_CAP * decay, 4)
