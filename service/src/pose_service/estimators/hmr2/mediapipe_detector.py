"""A light person detector for HMR2 on a CPU: MediaPipe Pose's box around the person it finds.

ViTDet-H costs ~65 s per 1080p frame on two CPU cores (detectron2's RegNetY-4GF Mask R-CNN,
which 4D-Humans offers as the faster option, ~6.6 s), so on a CPU host HMR2 gets its crop from
the ``lite`` estimator's MediaPipe Pose instead: one person per frame, ~0.1 s. The box is the
one the lite estimator reports (around its confident keypoints), padded as a confirmed track
box is (``box_hint.box_around_joints``: keypoints stop short of the head top and the feet).
Same interface as :class:`~.vitdet_detector.ViTDetPersonDetector`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...config import Settings
from ...types import Frame
from ..lite import MediaPipeEstimator
from .box_hint import box_around_joints
from .vitdet_detector import PERSON_CLASS


class MediaPipePersonDetector:
    """Boxes (at most one) of the person MediaPipe Pose finds in an RGB image."""

    name = "mediapipe"

    def __init__(self, pose: MediaPipeEstimator) -> None:
        self._pose = pose

    @classmethod
    def build(cls, settings: Settings) -> MediaPipePersonDetector:
        pose = MediaPipeEstimator(settings)
        pose.load()
        return cls(pose)

    def detect_many(
        self, images: Sequence[np.ndarray]
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per image: boxes (N, 4) x0 y0 x1 y1, scores (N,), classes (N,), N = 0 or 1."""
        results = []
        for rgb in images:
            people = self._pose.estimate(Frame(rgb)).people
            corners = [np.asarray(p.bbox, dtype=np.float32).reshape(2, 2) for p in people]
            boxes = np.array([box_around_joints(c, rgb.shape[1], rgb.shape[0]) for c in corners])
            results.append(
                (
                    boxes.astype(np.float32).reshape(-1, 4),
                    np.array([p.score for p in people], dtype=np.float32),
                    np.full(len(people), PERSON_CLASS, dtype=np.int64),
                )
            )
        return results
