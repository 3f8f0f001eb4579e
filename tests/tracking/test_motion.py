"""The motion model: one damped-velocity formula for every field; rotations stay on SO(3)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from pose_service.tracking.filters import FieldFilter, MotionNoise, damped_travel
from pose_service.tracking.interpolation import interpolate
from pose_service.tracking.track import Track, TrackerConfig
from pose_service.types import PersonPose

NOISE = MotionNoise(r_std=0.02, q_std=0.006, v0_std=0.05)


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


def test_damped_travel_is_the_kalman_transition():
    """x' = x + v, then v' = decay * v: one frame moves a whole velocity, later ones less."""
    assert damped_travel(0, 0.9) == 0.0
    assert damped_travel(1, 0.7) == 1.0
    assert damped_travel(3, 1.0) == 3.0
    assert damped_travel(2, 0.5) == pytest.approx(1.0 + 0.5)
    assert damped_travel(5, 0.7) == pytest.approx(1 + 0.7 + 0.7**2 + 0.7**3 + 0.7**4)


def test_filter_prediction_moves_by_the_damped_travel():
    f = FieldFilter(NOISE, decay=0.7)
    f.start({"joints_3d": np.zeros((24, 3))})
    for t in range(1, 30):  # a steady walk: the filter's velocity settles
        f.update({"joints_3d": np.full((24, 3), 0.01 * t)}, 1)
    state = f.states["joints_3d"]
    for gap in (1, 3, 8):
        ahead = f.predicted(gap)["joints_3d"]
        np.testing.assert_allclose(ahead, state.x + state.v * damped_travel(gap, 0.7), atol=1e-6)


def test_a_constant_turn_is_predicted_as_a_rotation():
    f = FieldFilter(NOISE, decay=1.0)
    angles = np.radians(np.arange(0, 200, 10.0))
    f.start({"rotations": Rotation.from_euler("y", [[angles[0]]] * 24).as_matrix()})
    for a in angles[1:]:
        f.update({"rotations": Rotation.from_euler("y", [[a]] * 24).as_matrix()}, 1)
    ahead = f.predicted(2)["rotations"]
    np.testing.assert_allclose(np.linalg.det(ahead), 1.0, atol=1e-5)
    predicted = Rotation.from_matrix(ahead).as_euler("yxz", degrees=True)[:, 0]
    np.testing.assert_allclose(predicted, 190 + 20 - 360, atol=1.0)  # still turning 10°/frame


def _moving_person(t: int, regressor: np.ndarray, mesh0: np.ndarray) -> PersonPose:
    """A person whose mesh translates and whose every rotation turns at a constant rate;
    its joints are ``regressor @ mesh`` (as HMR2's are)."""
    vertices = mesh0 + np.array([0.02, 0.0, 0.01]) * t
    angle = 0.05 * t
    rotations = Rotation.from_rotvec(np.tile([0.0, angle, 0.0], (24, 1))).as_matrix()
    return PersonPose(
        joints_3d=(regressor @ vertices).astype(np.float32),
        keypoints_2d=np.full((24, 2), 100.0 + 2.0 * t, dtype=np.float32),
        joint_confidence=np.ones(24, dtype=np.float32),
        score=0.9,
        bbox=np.array([50 + 2 * t, 20, 150 + 2 * t, 220], dtype=np.float32),
        camera_translation=np.array([0.0, 0.0, 5.0], dtype=np.float32),
        vertices=vertices.astype(np.float32),
        rotations=rotations.astype(np.float32),
    )


def test_a_predicted_frame_has_joints_mesh_and_rotations_that_agree():
    """One gain schedule and one travel formula for the body: predicted joints are still the
    regressor applied to the predicted mesh, and the mesh and the rotations have covered the
    same share of their motion."""
    rng = np.random.default_rng(0)
    mesh0 = rng.normal(0, 0.3, (60, 3))
    regressor = rng.random((24, 60))
    regressor /= regressor.sum(axis=1, keepdims=True)
    track = Track(TrackerConfig())
    for t in range(12):
        assert track.step(t, [_moving_person(t, regressor, mesh0)]).source == "detected"
    shares = []
    for gap in (1, 4):
        answer = track.step(11 + gap, [])
        assert answer.source == "predicted"
        pose = answer.pose
        np.testing.assert_allclose(pose.joints_3d, regressor @ pose.vertices, atol=1e-5)
        mesh_share = (pose.vertices - mesh0)[0, 0] / 0.02 - 11
        angle = Rotation.from_matrix(pose.rotations[0]).as_rotvec()[1]
        turn_share = angle / 0.05 - 11
        assert mesh_share == pytest.approx(turn_share, abs=1e-3)
        shares.append(mesh_share)
    assert shares[0] < shares[1]  # the prediction keeps moving on, all fields together


def test_interpolation_slerps_rotations():
    a, b = pose_with_rotation(0, 0.0), pose_with_rotation(90, 1.0)
    mid = interpolate(a, b, 0.5)
    angles = Rotation.from_matrix(mid.rotations).as_euler("yxz", degrees=True)[:, 0]
    np.testing.assert_allclose(angles, 45.0, atol=1e-3)
    np.testing.assert_allclose(mid.joints_3d, 0.5, atol=1e-6)


def test_slerp_of_every_joint_at_once_is_scipys_slerp_per_joint():
    from scipy.spatial.transform import Rotation, Slerp

    from pose_service.tracking.interpolation import slerp

    a = Rotation.random(24, random_state=1).as_matrix().astype(np.float32)
    b = Rotation.random(24, random_state=2).as_matrix().astype(np.float32)
    for t in (0.0, 0.3, 1.0):
        per_joint = np.stack(
            [Slerp([0, 1], Rotation.from_matrix(np.stack([a[j], b[j]])))([t]).as_matrix()[0]
             for j in range(24)]
        )  # fmt: skip
        assert np.allclose(slerp(a, b, t), per_joint, atol=1e-6)
