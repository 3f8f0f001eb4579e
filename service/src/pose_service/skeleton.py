"""The SMPL skeleton the contract names, and the joint angles measured on it.

The 24 names are SMPL's own joints in SMPL order (what ``smplx.SMPL`` returns as its first 24
joints), not OpenPose keypoints: the old service mislabelled BODY_25 rows with these names.
"""

from __future__ import annotations

import numpy as np

SMPL_JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hand", "right_hand",
)  # fmt: skip
NUM_JOINTS = len(SMPL_JOINT_NAMES)
JOINT_INDEX = {name: i for i, name in enumerate(SMPL_JOINT_NAMES)}

# SMPL kinematic tree: parent of each joint (-1 for the root).
SMPL_PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21,
)  # fmt: skip

LEFT_RIGHT_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (JOINT_INDEX[n], JOINT_INDEX["right_" + n[5:]])
    for n in SMPL_JOINT_NAMES
    if n.startswith("left_")
)

# Each angle is measured AT the joint its name says, between the two segments meeting there.
# (a, vertex, b): angle at `vertex` between vertex->a and vertex->b; 180 degrees = straight.
JOINT_ANGLE_TRIPLETS: dict[str, tuple[str, str, str]] = {
    "left_knee": ("left_hip", "left_knee", "left_ankle"),
    "right_knee": ("right_hip", "right_knee", "right_ankle"),
    "left_hip": ("left_shoulder", "left_hip", "left_knee"),
    "right_hip": ("right_shoulder", "right_hip", "right_knee"),
    "left_elbow": ("left_shoulder", "left_elbow", "left_wrist"),
    "right_elbow": ("right_shoulder", "right_elbow", "right_wrist"),
    "left_shoulder": ("left_hip", "left_shoulder", "left_elbow"),
    "right_shoulder": ("right_hip", "right_shoulder", "right_elbow"),
    "spine": ("pelvis", "spine2", "neck"),
}
_TRIPLET_INDEX = np.array(
    [[JOINT_INDEX[a], JOINT_INDEX[v], JOINT_INDEX[b]] for a, v, b in JOINT_ANGLE_TRIPLETS.values()]
)


def joint_angles_deg(joints_3d: np.ndarray) -> dict[str, float]:
    """Angles (degrees) at the named joints of a (24, 3) SMPL skeleton."""
    a = joints_3d[_TRIPLET_INDEX[:, 0]]
    v = joints_3d[_TRIPLET_INDEX[:, 1]]
    b = joints_3d[_TRIPLET_INDEX[:, 2]]
    u, w = a - v, b - v
    denom = np.linalg.norm(u, axis=1) * np.linalg.norm(w, axis=1)
    cos = np.einsum("ij,ij->i", u, w) / np.maximum(denom, 1e-9)
    angles = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    return {name: round(float(x), 2) for name, x in zip(JOINT_ANGLE_TRIPLETS, angles, strict=True)}
