"""A pose between two observations: linear for positions, slerp for rotations.

Positions (joints, keypoints, camera translation, mesh, box) move in their own vector spaces;
joint rotations, when the estimator gives them, are interpolated on SO(3) so that they stay
rotations. (Prediction beyond the last observation is the motion model's: ``motion_model``.)
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.spatial.transform import Rotation

from ..types import PersonPose

# PersonPose fields that move linearly (vector spaces).
LINEAR_FIELDS = ("joints_3d", "keypoints_2d", "camera_translation", "vertices", "bbox")


def ordered_box(box: np.ndarray) -> np.ndarray:
    """Boxes (..., 4) as (x0, y0, x1, y1) with x0 <= x1 and y0 <= y1: each corner moves by its
    own velocity in a prediction, and a shrinking box's would otherwise cross over."""
    xs, ys = box[..., 0::2], box[..., 1::2]
    return np.stack(
        [xs.min(axis=-1), ys.min(axis=-1), xs.max(axis=-1), ys.max(axis=-1)], axis=-1
    ).astype(box.dtype)


def slerp(before: np.ndarray, after: np.ndarray, t: float) -> np.ndarray:
    """Rotation matrices (..., 3, 3) a fraction ``t`` along the shortest arc from ``before`` to
    ``after``, every joint at once (one scipy call, not one per joint: a filled frame of the
    hmr2 mesh has 24)."""
    shape = before.shape
    start = Rotation.from_matrix(before.reshape(-1, 3, 3))
    step = start.inv() * Rotation.from_matrix(after.reshape(-1, 3, 3))
    moved = start * Rotation.from_rotvec(step.as_rotvec() * t)
    return moved.as_matrix().reshape(shape).astype(before.dtype)


def interpolate(before: PersonPose, after: PersonPose, t: float) -> PersonPose:
    """The pose a fraction ``t`` (0..1) of the way from ``before`` to ``after`` (slerp on SO(3))."""
    changes = {}
    for name in LINEAR_FIELDS:
        a, b = getattr(before, name), getattr(after, name)
        if a is not None and b is not None and a.shape == b.shape:
            changes[name] = ((1.0 - t) * a + t * b).astype(np.float32)
    if before.rotations is not None and after.rotations is not None:
        changes["rotations"] = slerp(before.rotations, after.rotations, t)
    changes["joint_confidence"] = np.minimum(before.joint_confidence, after.joint_confidence)
    changes["score"] = min(before.score, after.score)
    return dataclasses.replace(before, **changes)
