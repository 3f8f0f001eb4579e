"""Values that cross module borders: what an estimator finds and what the tracker answers.

Arrays stay numpy until the HTTP edge converts them. Coordinates follow HMR2 / OpenCV:
x right, y down, z forward (away from the camera), metres; image points in pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

PoseSource = Literal["detected", "predicted", "interpolated"]


@dataclass(frozen=True)
class BoxHint:
    """Where a video's tracked person should be in this frame: an estimator with a costly
    person detector may crop there instead of detecting (see ``estimators.hmr2.box_hint``)."""

    box: np.ndarray  # (4,) float32 x0 y0 x1 y1, pixels
    score: float  # the detector score the track was last confirmed with


@dataclass(frozen=True)
class Frame:
    """One decoded video frame as the estimator sees it."""

    rgb: np.ndarray  # (H, W, 3) uint8, RGB
    frame_number: int = 0
    hint: BoxHint | None = None  # the track's predicted box; estimators may ignore it

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


@dataclass
class PersonPose:
    """One person's pose in one frame: a detection, or a prediction made from a track.

    ``joints_3d`` are the 24 SMPL joints in the camera-aligned body frame (root near the
    origin, metres); adding ``camera_translation`` places them in the camera frame.
    """

    joints_3d: np.ndarray  # (24, 3) float32, metres
    keypoints_2d: np.ndarray  # (24, 2) float32, image pixels
    joint_confidence: np.ndarray  # (24,) float32 in 0..1
    score: float  # detector / estimator confidence for the person, 0..1
    bbox: np.ndarray  # (4,) float32, x0 y0 x1 y1 pixels
    camera_translation: np.ndarray | None = None  # (3,) metres, full-image camera
    focal_length: float | None = None  # pixels, full-image camera
    vertices: np.ndarray | None = None  # (6890, 3) float32 metres, body frame
    rotations: np.ndarray | None = None  # (24, 3, 3) SMPL global_orient + body_pose, if known
    betas: np.ndarray | None = None  # (10,) SMPL shape, if known

    def depth(self) -> np.ndarray:
        """Per-joint distance from the camera plane (metres), or the body-frame z."""
        z = self.joints_3d[:, 2]
        if self.camera_translation is not None:
            z = z + self.camera_translation[2]
        return z


@dataclass
class Estimate:
    """What an estimator found in one frame: zero or more people."""

    people: list[PersonPose]
    model_version: str
    timings_ms: dict[str, float] = field(default_factory=dict)  # e.g. detect, pose
    detector_ran: bool = True  # False when the person was found from the frame's BoxHint
    # What the estimator may reuse if asked to look again at this frame (hmr2: the detector
    # pass's low-score person boxes); opaque to everyone else.
    candidates: object = None


@dataclass
class TrackedPose:
    """The tracker's answer for one frame of one video."""

    pose: PersonPose | None  # None when there is nothing to return (see ``error``)
    source: PoseSource | None
    tracking_confidence: float
    track_id: int | None
    frames_since_detection: int | None
    error: str | None = None  # why ``pose`` is None
    reason: str | None = None  # short machine code for ``error`` (for logs and clients)
    flags: list[str] = field(default_factory=list)  # e.g. "outlier_rejected", "reacquired"
    scores: dict[str, float] = field(default_factory=dict)  # association cost and the like
