"""Simulated per-frame detections: the truth plus noise, with frames missed in bursts."""

from __future__ import annotations

import numpy as np

from ..camera import project
from ..demo import burst_miss_mask
from ..types import PersonPose
from .sequences import FOCAL_PX, IMAGE_SIZE, Sequence


def miss_mask(
    frames: int, share: float, burst: tuple[int, int], first: int, seed: int
) -> np.ndarray:
    """Which frames the estimator misses: ``share`` of them in bursts, the first ``first``."""
    return burst_miss_mask(frames, share, burst, seed, miss_first=first)


def detections(
    sequence: Sequence, missed: np.ndarray, noise_mm: float, seed: int
) -> list[PersonPose | None]:
    """One detection per frame (None where missed): Gaussian noise of ``noise_mm`` on every
    3D coordinate (joints and root), keypoints projected from the noisy 3D pose."""
    rng = np.random.default_rng(seed + 1)
    sigma = noise_mm / 1000.0
    out: list[PersonPose | None] = []
    for t in range(sequence.frames):
        joints = sequence.joints_3d[t] + rng.normal(0, sigma, (24, 3))
        joints[0] = 0.0  # body frame: the pelvis is the origin by definition
        root = sequence.translation[t] + rng.normal(0, sigma, 3)
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
