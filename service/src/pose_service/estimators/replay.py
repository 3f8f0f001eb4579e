"""Plays back a recorded per-frame sequence, for deterministic tests and benchmarks.

The ``.npz`` holds, for T recorded frames: ``joints_3d`` (T,24,3), ``keypoints_2d`` (T,24,2),
``detected`` (T,) bool, and optionally ``joint_confidence`` (T,24), ``camera_translation``
(T,3), ``vertices`` (T,V,3), ``faces`` (F,3), ``score`` (T,), ``model_version`` (str).
Frame ``n`` of a request plays row ``n % T``. ``replay_delay_ms`` stands in for model latency.
With ``POSE_SERVICE_BATCH_FRAMES`` > 1 it also takes several frames per pass and then waits the
delay once per pass: an idealised batching model for exercising the scheduler under real
gunicorn, not a claim about any GPU (``benchmarks/gpu_detect`` measures that).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..camera import scaled_focal_length
from ..config import Settings
from ..types import Estimate, Frame, PersonPose
from .base import Estimator, ModelUnavailable

REQUIRED_ARRAYS = ("joints_3d", "keypoints_2d", "detected")


class ReplayEstimator(Estimator):
    """Answers each frame with the recorded row for its ``frame_number``."""

    name = "replay"
    batches_frames = True  # one simulated delay per pass, as hmr2 batches

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._data: dict[str, np.ndarray] | None = None

    def load(self) -> None:
        path = Path(self._settings.replay_path)
        if not self._settings.replay_path or not path.is_file():
            raise ModelUnavailable(
                f"replay estimator needs POSE_SERVICE_REPLAY_PATH to name an .npz file ({path})"
            )
        with np.load(path, allow_pickle=False) as archive:
            data = {key: archive[key] for key in archive.files}
        missing = [k for k in REQUIRED_ARRAYS if k not in data]
        if missing:
            raise ModelUnavailable(f"{path} lacks arrays {missing}")
        self._data = data

    @property
    def model_version(self) -> str:
        if self._data is not None and "model_version" in self._data:
            return str(self._data["model_version"])
        return "replay"

    def estimate(self, frame: Frame) -> Estimate:
        return self.estimate_batch([frame])[0]

    def estimate_batch(self, frames: Sequence[Frame]) -> list[Estimate]:
        """Each frame's recorded row, after one ``replay_delay_ms`` for the whole pass."""
        if self._data is None:
            raise ModelUnavailable("the replay estimator is not loaded")
        start = time.perf_counter()
        if self._settings.replay_delay_ms > 0:
            time.sleep(self._settings.replay_delay_ms / 1000.0)
        data = self._data
        estimates = []
        for frame in frames:
            row = frame.frame_number % len(data["detected"])
            people = [self._person(row, frame)] if bool(data["detected"][row]) else []
            estimates.append(Estimate(people, self.model_version, {}))
        elapsed_ms = (time.perf_counter() - start) * 1e3
        for estimate in estimates:
            estimate.timings_ms["pose"] = elapsed_ms
        return estimates

    def _person(self, row: int, frame: Frame) -> PersonPose:
        data = self._data
        assert data is not None
        keypoints = data["keypoints_2d"][row].astype(np.float32)
        conf = (
            data["joint_confidence"][row].astype(np.float32)
            if "joint_confidence" in data
            else np.ones(len(keypoints), dtype=np.float32)
        )
        return PersonPose(
            joints_3d=data["joints_3d"][row].astype(np.float32),
            keypoints_2d=keypoints,
            joint_confidence=conf,
            score=float(data["score"][row]) if "score" in data else 0.95,
            bbox=np.array([*keypoints.min(axis=0), *keypoints.max(axis=0)], dtype=np.float32),
            camera_translation=(
                data["camera_translation"][row].astype(np.float32)
                if "camera_translation" in data
                else None
            ),
            focal_length=scaled_focal_length(frame.width, frame.height),
            vertices=data["vertices"][row].astype(np.float32) if "vertices" in data else None,
        )

    def verify_install(self) -> dict[str, str]:
        """Loading is the check: the recording is read in full, as load() reads it."""
        self.load()
        return {"replay": self._settings.replay_path}

    def model_status(self) -> dict[str, str]:
        return {"replay": "loaded" if self._data is not None else "not_loaded"}

    def model_roles(self) -> dict[str, str]:
        """The recording holds both the person found and their 3D joints."""
        return {"hmr2": "replay", "vitdet": "replay"}

    def describe(self) -> dict[str, object]:
        return {"device": "cpu", "replay_path": self._settings.replay_path}

    def faces(self) -> np.ndarray | None:
        """The recorded mesh's triangles, if the recording has a mesh."""
        if self._data is not None and "faces" in self._data:
            return self._data["faces"].astype(np.int32)
        return None
