"""How a pose moves between observations: damped constant velocity, and interpolation.

Positions (joints, keypoints, camera translation, mesh, box) move in their own vector spaces;
joint rotations, when the estimator gives them, move on SO(3) (angular velocity in the tangent
space, composed with the exponential map) so that predicted rotations stay rotations.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from ..types import PersonPose

# PersonPose fields that move linearly (vector spaces).
LINEAR_FIELDS = ("joints_3d", "keypoints_2d", "camera_translation", "vertices", "bbox")


def damped_steps(gap: int, decay: float) -> float:
    """How many frames of velocity a ``gap``-frame extrapolation applies: sum of decay**i."""
    if gap <= 0:
        return 0.0
    if decay >= 1.0:
        return float(gap)
    return decay * (1.0 - decay**gap) / (1.0 - decay)


@dataclasses.dataclass
class Velocity:
    """Per-frame rates of change of a pose's fields."""

    linear: dict[str, np.ndarray]
    angular: np.ndarray | None = None  # (24, 3) rotation vectors per frame, body-local

    @classmethod
    def zero(cls) -> Velocity:
        return cls({}, None)


def measure_velocity(previous: PersonPose, current: PersonPose, frames: int) -> Velocity:
    """Velocity between two observations ``frames`` apart."""
    frames = max(frames, 1)
    linear = {}
    for name in LINEAR_FIELDS:
        a, b = getattr(previous, name), getattr(current, name)
        if a is not None and b is not None and a.shape == b.shape:
            linear[name] = (b - a) / frames
    angular = None
    if previous.rotations is not None and current.rotations is not None:
        delta = Rotation.from_matrix(previous.rotations).inv() * Rotation.from_matrix(
            current.rotations
        )
        angular = (delta.as_rotvec() / frames).astype(np.float32)
    return Velocity(linear, angular)


def blend_velocity(old: Velocity, new: Velocity, weight_new: float) -> Velocity:
    """Exponential moving average of velocities (fields missing on one side take the other)."""
    linear = {}
    for name, value in new.linear.items():
        prior = old.linear.get(name)
        linear[name] = (
            value
            if prior is None or prior.shape != value.shape
            else weight_new * value + (1.0 - weight_new) * prior
        )
    angular = new.angular
    if new.angular is not None and old.angular is not None:
        angular = weight_new * new.angular + (1.0 - weight_new) * old.angular
    return Velocity(linear, angular)


def extrapolate(pose: PersonPose, velocity: Velocity, gap: int, decay: float) -> PersonPose:
    """The pose ``gap`` frames after ``pose``, moving with damped ``velocity``."""
    steps = damped_steps(gap, decay)
    changes = {}
    for name, rate in velocity.linear.items():
        value = getattr(pose, name)
        if value is not None and value.shape == rate.shape:
            changes[name] = (value + rate * steps).astype(np.float32)
    if pose.rotations is not None and velocity.angular is not None:
        turn = Rotation.from_rotvec(velocity.angular * steps)
        changes["rotations"] = (
            (Rotation.from_matrix(pose.rotations) * turn).as_matrix().astype(np.float32)
        )
    return dataclasses.replace(pose, **changes)


def interpolate(before: PersonPose, after: PersonPose, t: float) -> PersonPose:
    """The pose a fraction ``t`` (0..1) of the way from ``before`` to ``after`` (slerp on SO(3))."""
    changes = {}
    for name in LINEAR_FIELDS:
        a, b = getattr(before, name), getattr(after, name)
        if a is not None and b is not None and a.shape == b.shape:
            changes[name] = ((1.0 - t) * a + t * b).astype(np.float32)
    if before.rotations is not None and after.rotations is not None:
        out = np.empty_like(before.rotations)
        for j in range(len(before.rotations)):
            pair = Rotation.from_matrix(np.stack([before.rotations[j], after.rotations[j]]))
            out[j] = Slerp([0.0, 1.0], pair)([t]).as_matrix()[0]
        changes["rotations"] = out
    changes["joint_confidence"] = np.minimum(before.joint_confidence, after.joint_confidence)
    changes["score"] = min(before.score, after.score)
    return dataclasses.replace(before, **changes)
