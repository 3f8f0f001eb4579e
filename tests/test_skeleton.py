"""Joint angles are measured at the joint their name says."""

from __future__ import annotations

import numpy as np
import pytest

from pose_service.skeleton import JOINT_INDEX, SMPL_JOINT_NAMES, SMPL_PARENTS, joint_angles_deg


def test_smpl_names_and_tree():
    assert len(SMPL_JOINT_NAMES) == len(SMPL_PARENTS) == 24
    assert SMPL_JOINT_NAMES[0] == "pelvis" and SMPL_JOINT_NAMES[23] == "right_hand"
    assert SMPL_JOINT_NAMES[SMPL_PARENTS[JOINT_INDEX["left_knee"]]] == "left_hip"


def test_a_bent_knee_reads_ninety_degrees_and_only_at_the_knee():
    joints = np.zeros((24, 3), dtype=np.float32)
    joints[:, 1] = -np.arange(24) * 0.01  # a generic, non-degenerate pose
    joints[JOINT_INDEX["left_hip"]] = [0.0, 0.0, 0.0]
    joints[JOINT_INDEX["left_knee"]] = [0.0, 0.4, 0.0]
    joints[JOINT_INDEX["left_ankle"]] = [0.0, 0.4, 0.4]
    angles = joint_angles_deg(joints)
    assert angles["left_knee"] == pytest.approx(90.0)
    joints[JOINT_INDEX["left_ankle"]] = [0.0, 0.8, 0.0]
    assert joint_angles_deg(joints)["left_knee"] == pytest.approx(180.0)
