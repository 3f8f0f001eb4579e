"""Simulated per-frame detections: the truth plus noise, with frames missed in bursts."""

from __future__ import annotations

import numpy as np

from ...camera import project
from ...types import PersonPose
from ..demo import burst_miss_mask
from .noise import detection_errors
from .sequences import FOCAL_PX, IMAGE_SIZE, Sequence


def miss_mask(
    frames: int, share: float, burst: tuple[int, int], first: int, seed: int
) -> np.ndarray:
    """Which frames the estimator misses: ``share`` of them in bursts, the first ``first``."""
    return burst_miss_mask(frames, share, burst, seed, miss_first=first)


def detections(
    sequence: Sequence, missed: np.ndarray, noise_mm: float, seed: int, noise_model: str = "iid"
) -> list[PersonPose | None]:
    """One detection per frame (None where missed): the truth plus the errors of
    ``noise_model`` (``noise.detection_errors``: independent ``noise_mm`` per coordinate, or
    SPIN-like correlated errors) on the joints and the root, keypoints projected from the noisy
    3D pose."""
    rng = np.random.default_rng(seed + 1)
    frames = sequence.frames
    joint_errors, root_errors = detection_errors(noise_model, noise_mm, rng, frames)
    out: list[PersonPose | None] = []
    for t in range(frames):
        joints = sequence.joints_3d[t] + joint_errors[t]
        joints[0] = 0.0  # body frame: the pelvis is the origin by definition
        root = sequence.translation[t] + root_errors[t]
        if missed[t]:
            out.append(None)
            continue
        keypoints = project(joints, root, FOCAL_PX, *IMAGE_SIZE).astype(np.float32)
        out.append(
            PersonPose(
                joints_3d=joints.astype(np.float32),
                keypoints_2d=keypoints,
                joint_confidence=np.full(24, 0.9, dtype=np.float32),
                score=0.9,
                bbox=np.array([*keypoints.min(0), *keypoints.max(0)], dtype=np.float32),
                camera_translation=root.astype(np.float32),
                focal_length=FOCAL_PX,
            )
        )
    return out
