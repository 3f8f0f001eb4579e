"""The embedded CPU estimator: MediaPipe Pose (0.10.21, model shipped in the wheel).

Runs anywhere with no download and no torch, so it is the default for the demo and the tests
on real video. One person per frame, SMPL joint names (see ``mediapipe_to_smpl``), no mesh.
``static_image_mode=True`` keeps it stateless: one instance may serve interleaved videos.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np

from ..camera import scaled_focal_length, solve_translation
from ..config import Settings
from ..types import Estimate, Frame, PersonPose
from .base import Estimator, ModelUnavailable, warm_up_frame
from .mediapipe_to_smpl import to_smpl
from .search_region import search_region


class MediaPipeEstimator(Estimator):
    """MediaPipe Pose behind the estimator interface."""

    name = "lite"
    rescues = True  # MediaPipe on a crop around the track's box finds small, blurred people
    rescues_first = True  # the crop needs no full-frame pass before it
    reframes = True  # MediaPipe on a blurred crop depends on the framing

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._pose: Any = None
        self._version = "unknown"

    def load(self) -> None:
        try:
            import mediapipe as mp
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ModelUnavailable(
                "MediaPipe Pose (the lite estimator, and hmr2's person detector on a CPU) needs "
                "mediapipe==0.10.21 (wheels up to Python 3.12; later releases dropped its Pose "
                "solution): pip install 'pose-service[lite]' on Python 3.10-3.12 (this is "
                f"{sys.version_info[0]}.{sys.version_info[1]}; with hmr2, set "
                "POSE_SERVICE_HMR2_DETECTOR=vitdet)"
            ) from exc
        self._version = mp.__version__
        self._pose = mp.solutions.pose.Pose(
            static_image_mode=True,
            model_complexity=self._settings.lite_model_complexity,
            min_detection_confidence=self._settings.lite_min_detection_confidence,
        )

    @property
    def model_version(self) -> str:
        return f"mediapipe-pose-{self._version}-c{self._settings.lite_model_complexity}"

    def estimate(self, frame: Frame) -> Estimate:
        if self._pose is None:
            raise ModelUnavailable("the lite estimator is not loaded")
        start = time.perf_counter()
        result = self._pose.process(frame.rgb)
        timings = {"pose": (time.perf_counter() - start) * 1000.0}
        if result.pose_landmarks is None or result.pose_world_landmarks is None:
            return Estimate([], self.model_version, timings)
        person = self._to_person(result, frame.width, frame.height)
        return Estimate([person], self.model_version, timings)

    def rescue(self, frame: Frame, box: np.ndarray, first: Estimate | None = None) -> Estimate:
        """MediaPipe on the square region around the track's search box
        (``POSE_SERVICE_RESCUE_REGION_SCALE``): MediaPipe resizes its input to a fixed size,
        so a person who is small in the whole frame is large in the crop."""
        if self._pose is None:
            raise ModelUnavailable("the lite estimator is not loaded")
        region = search_region(box, frame.width, frame.height, self._settings.rescue_region_scale)
        if region is None:
            return Estimate([], self.model_version, {}, detector_ran=False)
        x0, y0, x1, y1 = region
        start = time.perf_counter()
        result = self._pose.process(np.ascontiguousarray(frame.rgb[y0:y1, x0:x1]))
        timings = {"rescue": (time.perf_counter() - start) * 1000.0}
        if result.pose_landmarks is None or result.pose_world_landmarks is None:
            return Estimate([], self.model_version, timings, detector_ran=False)
        person = self._to_person(result, frame.width, frame.height, region)
        return Estimate([person], self.model_version, timings, detector_ran=False)

    def _to_person(
        self,
        result: Any,
        width: int,
        height: int,
        region: tuple[int, int, int, int] | None = None,
    ) -> PersonPose:
        """The person in full-frame pixels (``region``: the crop MediaPipe saw, if any)."""
        x0, y0, x1, y1 = region or (0, 0, width, height)
        image = np.array(
            [
                (x0 + p.x * (x1 - x0), y0 + p.y * (y1 - y0), p.visibility)
                for p in result.pose_landmarks.landmark
            ],
            dtype=np.float32,
        )
        world = np.array(
            [(p.x, p.y, p.z) for p in result.pose_world_landmarks.landmark], dtype=np.float32
        )
        keypoints_2d = to_smpl(image[:, :2])
        confidence = np.clip(to_smpl(image[:, 2:3])[:, 0], 0.0, 1.0)
        joints_3d = to_smpl(world)  # metres, hip-centred, x right, y down, z away from camera
        focal = scaled_focal_length(width, height)
        translation = solve_translation(
            joints_3d, keypoints_2d, np.maximum(confidence, 1e-3), focal, width, height
        )
        visible = image[image[:, 2] > 0.5, :2]
        pts = visible if len(visible) >= 2 else image[:, :2]
        bbox = np.array([*pts.min(axis=0), *pts.max(axis=0)], dtype=np.float32)
        return PersonPose(
            joints_3d=joints_3d,
            keypoints_2d=keypoints_2d,
            joint_confidence=confidence.astype(np.float32),
            score=float(np.mean(confidence)),
            bbox=bbox,
            camera_translation=translation,
            focal_length=focal,
        )

    def warm_up(self) -> None:
        """One pass over a black frame (the detector's first run)."""
        self.estimate(warm_up_frame())

    def verify_install(self) -> dict[str, str]:
        """Loading is the check: MediaPipe's model ships in its wheel and builds in a second."""
        self.load()
        return {"device": "cpu", "mediapipe": self._version}

    def model_status(self) -> dict[str, str]:
        return {"mediapipe_pose": "loaded" if self._pose is not None else "not_loaded"}

    def model_roles(self) -> dict[str, str]:
        """MediaPipe Pose finds the person and gives the 3D joints: it fills both roles."""
        return {"hmr2": "mediapipe_pose", "vitdet": "mediapipe_pose"}

    def describe(self) -> dict[str, object]:
        return {"device": "cpu", "mediapipe": self._version}
