"""MediaPipe Pose's 33 landmarks mapped onto the 24 SMPL joints the contract names.

MediaPipe has no pelvis, spine, collar or hand joints, so each SMPL joint is derived from
landmarks that bracket it (weights below). Hips, knees, ankles, shoulders, elbows and wrists are
MediaPipe's own landmarks; the rest are interpolations along the body whose fractions follow
SMPL's mean skeleton. The same weights are applied to image keypoints, world points and scores.
"""

from __future__ import annotations

import numpy as np

from ..skeleton import NUM_JOINTS, SMPL_JOINT_NAMES

# MediaPipe Pose landmark indices (mp.solutions.pose.PoseLandmark).
MP = {
    "nose": 0, "left_ear": 7, "right_ear": 8, "left_shoulder": 11, "right_shoulder": 12,
    "left_elbow": 13, "right_elbow": 14, "left_wrist": 15, "right_wrist": 16, "left_pinky": 17,
    "right_pinky": 18, "left_index": 19, "right_index": 20, "left_hip": 23, "right_hip": 24,
    "left_knee": 25, "right_knee": 26, "left_ankle": 27, "right_ankle": 28, "left_heel": 29,
    "right_heel": 30, "left_foot_index": 31, "right_foot_index": 32,
}  # fmt: skip
NUM_MEDIAPIPE_LANDMARKS = 33


def _mid(a: str, b: str) -> dict[str, float]:
    return {a: 0.5, b: 0.5}


def _along(frm: dict[str, float], to: dict[str, float], t: float) -> dict[str, float]:
    """Weights of the point a fraction ``t`` of the way from ``frm`` to ``to``."""
    out: dict[str, float] = {}
    for k, w in frm.items():
        out[k] = out.get(k, 0.0) + (1 - t) * w
    for k, w in to.items():
        out[k] = out.get(k, 0.0) + t * w
    return out


_HIPS = _mid("left_hip", "right_hip")
_SHOULDERS = _mid("left_shoulder", "right_shoulder")
_EARS = _mid("left_ear", "right_ear")

# SMPL joint -> weights over MediaPipe landmarks, and how it is derived.
DERIVATION: dict[str, dict[str, float]] = {
    "pelvis": _HIPS,  # SMPL's root sits between the hip joints
    "left_hip": {"left_hip": 1.0},
    "right_hip": {"right_hip": 1.0},
    "spine1": _along(_HIPS, _SHOULDERS, 0.22),  # lower lumbar
    "left_knee": {"left_knee": 1.0},
    "right_knee": {"right_knee": 1.0},
    "spine2": _along(_HIPS, _SHOULDERS, 0.45),  # upper lumbar
    "left_ankle": {"left_ankle": 1.0},
    "right_ankle": {"right_ankle": 1.0},
    "spine3": _along(_HIPS, _SHOULDERS, 0.68),  # chest
    "left_foot": _along(_mid("left_heel", "left_foot_index"), {"left_foot_index": 1.0}, 0.5),
    "right_foot": _along(_mid("right_heel", "right_foot_index"), {"right_foot_index": 1.0}, 0.5),
    "neck": _along(_SHOULDERS, _EARS, 0.25),  # base of the neck, above the shoulder line
    "left_collar": _along(_SHOULDERS, {"left_shoulder": 1.0}, 0.35),  # sternoclavicular area
    "right_collar": _along(_SHOULDERS, {"right_shoulder": 1.0}, 0.35),
    "head": _along(_EARS, {"nose": 1.0}, 0.2),  # centre of the head, between the ears
    "left_shoulder": {"left_shoulder": 1.0},
    "right_shoulder": {"right_shoulder": 1.0},
    "left_elbow": {"left_elbow": 1.0},
    "right_elbow": {"right_elbow": 1.0},
    "left_wrist": {"left_wrist": 1.0},
    "right_wrist": {"right_wrist": 1.0},
    "left_hand": _mid("left_index", "left_pinky"),  # knuckles
    "right_hand": _mid("right_index", "right_pinky"),
}


def _matrix() -> np.ndarray:
    m = np.zeros((NUM_JOINTS, NUM_MEDIAPIPE_LANDMARKS), dtype=np.float32)
    for j, name in enumerate(SMPL_JOINT_NAMES):
        for landmark, weight in DERIVATION[name].items():
            m[j, MP[landmark]] += weight
    return m


MEDIAPIPE_TO_SMPL = _matrix()  # (24, 33): rows sum to 1


def to_smpl(landmarks: np.ndarray) -> np.ndarray:
    """(33, D) MediaPipe values -> (24, D) SMPL-joint values (points or scores)."""
    return MEDIAPIPE_TO_SMPL @ landmarks
