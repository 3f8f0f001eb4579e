"""Extrapolation and interpolation keep rotations on SO(3)."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from pose_service.tracking.motion import damped_steps, extrapolate, interpolate, measure_velocity
from pose_service.types import PersonPose


def pose_with_rotation(angle_deg: float, x: float) -> PersonPose:
    rotations = Rotation.from_euler("y", [[angle_deg]] * 24, degrees=True).as_matrix()
    return PersonPose(
        joints_3d=np.full((24, 3), x, dtype=np.float32),
        keypoints_2d=np.zeros((24, 2), dtype=np.float32),
        joint_confidence=np.ones(24, dtype=np.float32),
        score=1.0,
        bbox=np.array([0, 0, 10, 10], dtype=np.float32),
        rotations=rotations.astype(np.float32),
    )


def test_damped_steps():
    assert damped_steps(0, 0.9) == 0.0
    assert damped_steps(3, 1.0) == 3.0
    assert damped_steps(2, 0.5) == 0.5 + 0.25


def test_constant_turn_is_extrapolated_as_a_rotation():
    a, b = pose_with_rotation(10, 0.0), pose_with_rotation(20, 0.1)
    velocity = measure_velocity(a, b, 1)
    ahead = extrapolate(b, velocity, 2, decay=1.0)
    angles = Rotation.from_matrix(ahead.rotations).as_euler("yxz", degrees=True)[:, 0]
    np.testing.assert_allclose(angles, 40.0, atol=1e-3)
    np.testing.assert_allclose(ahead.joints_3d, 0.3, atol=1e-6)
    dets = np.linalg.det(ahead.rotations)
    np.testing.assert_allclose(dets, 1.0, atol=1e-5)


def test_interpolation_slerps_rotations():
    a, b = pose_with_rotation(0, 0.0), pose_with_rotation(90, 1.0)
    mid = interpolate(a, b, 0.5)
    angles = Rotation.from_matrix(mid.rotations).as_euler("yxz", degrees=True)[:, 0]
    np.testing.assert_allclose(angles, 45.0, atol=1e-3)
    np.testing.assert_allclose(mid.joints_3d, 0.5, atol=1e-6)
