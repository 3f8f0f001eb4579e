"""Synthetic but physically plausible motion for tracker and replay tests.

A rough SMPL rest skeleton (metres, x right, y down, z forward) swings its limbs sinusoidally
and translates across the view: smooth motion with known ground truth in 3D and in pixels.
"""

from __future__ import annotations

import numpy as np

from pose_service.camera import project, scaled_focal_length

# Approximate SMPL rest joint positions (metres, y down), SMPL joint order.
REST = np.array([
    [0.0, 0.0, 0.0], [0.06, 0.09, 0.0], [-0.06, 0.09, 0.0], [0.0, -0.11, 0.0],
    [0.10, 0.46, 0.0], [-0.10, 0.46, 0.0], [0.0, -0.25, 0.0], [0.09, 0.86, 0.0],
    [-0.09, 0.86, 0.0], [0.0, -0.30, 0.0], [0.11, 0.92, -0.1], [-0.11, 0.92, -0.1],
    [0.0, -0.51, 0.0], [0.08, -0.42, 0.0], [-0.08, -0.42, 0.0], [0.0, -0.60, 0.0],
    [0.17, -0.44, 0.0], [-0.17, -0.44, 0.0], [0.43, -0.43, 0.0], [-0.43, -0.43, 0.0],
    [0.68, -0.43, 0.0], [-0.68, -0.43, 0.0], [0.76, -0.43, 0.0], [-0.76, -0.43, 0.0],
], dtype=np.float32)  # fmt: skip

WIDTH, HEIGHT = 640, 360


def walking_sequence(frames: int, fps: float = 30.0) -> dict[str, np.ndarray]:
    """Joints (T,24,3), camera translation (T,3) and keypoints (T,24,2) of a smooth motion."""
    t = np.arange(frames, dtype=np.float32) / fps
    joints = np.repeat(REST[None], frames, axis=0).copy()
    swing = 0.25 * np.sin(2 * np.pi * 1.2 * t)
    for knee, ankle, sign in ((4, 7, 1), (5, 8, -1)):
        joints[:, knee, 2] += sign * swing
        joints[:, ankle, 2] += sign * swing * 1.6
    for elbow, wrist, hand, sign in ((18, 20, 22, -1), (19, 21, 23, 1)):
        joints[:, elbow, 1] += 0.1 * sign * swing
        joints[:, wrist, 1] += 0.2 * sign * swing
        joints[:, hand, 1] += 0.22 * sign * swing
    translation = np.stack(
        [-1.2 + 0.8 * t, 0.1 + 0.02 * np.sin(2 * np.pi * 2.4 * t), 60.0 + 0.0 * t], axis=1
    ).astype(np.float32)
    focal = scaled_focal_length(WIDTH, HEIGHT)
    keypoints = np.stack(
        [project(joints[i], translation[i], focal, WIDTH, HEIGHT) for i in range(frames)]
    ).astype(np.float32)
    return {"joints_3d": joints, "camera_translation": translation, "keypoints_2d": keypoints}


def write_replay(
    path: str, frames: int, detected: np.ndarray, with_mesh: bool = False, seed: int = 0
) -> dict[str, np.ndarray]:
    """A replay ``.npz`` of the walking sequence (optionally with a stand-in mesh)."""
    data = walking_sequence(frames)
    data["detected"] = detected.astype(bool)
    data["joint_confidence"] = np.full((frames, 24), 0.9, dtype=np.float32)
    data["score"] = np.full(frames, 0.95, dtype=np.float32)
    if with_mesh:
        rng = np.random.default_rng(seed)
        offsets = rng.normal(0, 0.02, (6890, 3)).astype(np.float32)
        owner = rng.integers(0, 24, 6890)
        data["vertices"] = data["joints_3d"][:, owner] + offsets[None]
        data["faces"] = rng.integers(0, 6890, (13776, 3)).astype(np.int32)
    data["model_version"] = np.array("replay-walk")
    np.savez(path, **data)
    return data
