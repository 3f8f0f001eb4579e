"""Which detection continues a track, and whether it is coherent with it.

- association: mean keypoint distance to the track's prediction, in box diagonals;
- coherence: a detection that jumps (in the image, in its size in the image or in 3D body pose)
  or that fits the track much better with left and right swapped (the classic monocular
  failure) is not trusted;
- salience: which person a new track starts on (confident and large: the main subject).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..skeleton import LEFT_RIGHT_PAIRS, NUM_JOINTS
from ..types import PersonPose

MIN_JOINT_CONFIDENCE = 0.3  # joints below this do not count in association costs
FLIP_MIN_DISTANCE_M = 0.05  # below this mean joint distance a "flip" is noise, not a swap
MIN_SPREAD_PX = 1.0  # a size below a pixel says nothing (and keeps the ratios finite)
SPREAD_FOLLOW = 0.3  # share of a new detection's size in the track's running size
# The most a person's size in the picture changed between two frames on the real runner clip
# (5.4%): over a gap the size gate widens by this much a frame, so a person who really grew
# smaller while the track coasted is still taken when found again.
SIZE_CHANGE_PER_FRAME = 1.054


@dataclass(frozen=True)
class Gates:
    """How far a detection may be from the track's prediction and still continue it."""

    image: float  # mean keypoint distance, in box diagonals
    body_m: float  # mean body-frame 3D joint distance, metres
    flip_ratio: float  # left/right-swapped pose this much closer to the track = a flip
    scale: float  # keypoint spread this many times smaller than the track's = a jump


def _usable(predicted: PersonPose, candidate: PersonPose) -> np.ndarray:
    """The joints both poses are confident of (all of them when fewer than three are)."""
    usable = (predicted.joint_confidence >= MIN_JOINT_CONFIDENCE) & (
        candidate.joint_confidence >= MIN_JOINT_CONFIDENCE
    )
    return usable if usable.sum() >= 3 else np.ones_like(usable)


def association_cost(predicted: PersonPose, candidate: PersonPose) -> float:
    """Mean keypoint distance between two poses, in units of the predicted box diagonal."""
    x0, y0, x1, y1 = predicted.bbox
    diagonal = max(math.hypot(x1 - x0, y1 - y0), 1.0)
    usable = _usable(predicted, candidate)
    distances = np.linalg.norm(
        predicted.keypoints_2d[usable] - candidate.keypoints_2d[usable], axis=1
    )
    return float(distances.mean() / diagonal)


def joint_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean 3D distance between two (24, 3) body-frame skeletons, metres."""
    return float(np.linalg.norm(a - b, axis=1).mean())


def swap_sides(joints: np.ndarray) -> np.ndarray:
    """The skeleton with every left joint exchanged for its right counterpart."""
    out = joints.copy()
    for left, right in LEFT_RIGHT_PAIRS:
        out[[left, right]] = joints[[right, left]]
    return out


def person_salience(person: PersonPose) -> float:
    """Which person to start a track on: confident and large (the main subject)."""
    x0, y0, x1, y1 = person.bbox
    return person.score * math.sqrt(max((x1 - x0) * (y1 - y0), 1.0))


def keypoint_spread(person: PersonPose) -> float:
    """The person's size in the picture, whatever the pose's position: the root mean square
    distance of every keypoint from their centroid, pixels."""
    points = person.keypoints_2d
    spread = float(np.sqrt(((points - points.mean(axis=0)) ** 2).sum(axis=1).mean()))
    return max(spread, MIN_SPREAD_PX)


def follow_spread(size: float, detected: PersonPose) -> float:
    """The track's running size after an accepted detection: a geometric moving average, so
    one frame that collapsed every keypoint does not become the size the next is held to."""
    kept = math.log(max(size, MIN_SPREAD_PX))
    new = math.log(keypoint_spread(detected))
    return math.exp((1.0 - SPREAD_FOLLOW) * kept + SPREAD_FOLLOW * new)


def incoherence(
    predicted: PersonPose,
    candidate: PersonPose,
    cost: float,
    gates: Gates,
    size: float | None = None,
    gap: int = 1,
) -> tuple[list[str], dict[str, float]]:
    """Why a detection is inconsistent with the track (empty when it is fine), and the scores.

    - ``jump``: keypoints further than ``gates.image`` box diagonals from the prediction, the 3D
      body pose further than ``gates.body_m`` (mean joint distance), or the keypoints' spread
      more than ``gates.scale`` times smaller than the track's running ``size``
      (:func:`follow_spread`; the prediction's spread without one), a limit that widens by
      ``SIZE_CHANGE_PER_FRAME`` for every frame of a ``gap`` after the first. A person's size in
      the picture changes by a few per cent a frame (at most 5.4% on the real runner clip); an
      estimator that collapses every keypoint into the part of the body it sees on a dark or
      blurred frame shrinks it 1.4-2.3x, and its velocity would carry the prediction off the
      person. The check is one-sided: a larger pose that passes the other gates is the estimator
      seeing the whole person again (a track started on a collapsed pose must be able to grow
      back), and a real change of size over a long gap re-acquires like any other jump;
    - ``left_right_flip``: the pose with left and right swapped fits the track much better.
    """
    distance = joint_distance(predicted.joints_3d, candidate.joints_3d)
    reference = keypoint_spread(predicted) if size is None else size
    ratio = keypoint_spread(candidate) / max(reference, MIN_SPREAD_PX)
    scores = {"association_cost": cost, "joint_distance_m": distance, "spread_ratio": ratio}
    flags = []
    limit = gates.scale * SIZE_CHANGE_PER_FRAME ** max(gap - 1, 0)
    if cost > gates.image or distance > gates.body_m or ratio * limit < 1.0:
        flags.append("jump")
    if candidate.joints_3d.shape[0] == NUM_JOINTS and distance > FLIP_MIN_DISTANCE_M:
        flipped = joint_distance(predicted.joints_3d, swap_sides(candidate.joints_3d))
        scores["flipped_distance_m"] = flipped
        if flipped < gates.flip_ratio * distance:
            flags.append("left_right_flip")
    return flags, scores
