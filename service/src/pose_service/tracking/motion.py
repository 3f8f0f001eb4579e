"""A pose between two observations: linear for positions, slerp for rotations.

Positions (joints, keypoints, camera translation, mesh, box) move in their own vector spaces;
joint rotations, when the estimator gives them, are interpolated on SO(3) so that they stay
rotations. (Prediction beyond the last observation is the motion model's: ``motion_model``.)
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

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
