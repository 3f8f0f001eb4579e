"""Per-frame pose estimators, chosen by ``POSE_SERVICE_ESTIMATOR``.

- ``hmr2/``: 4D-Humans (ViTDet person detector + HMR2) on the GPU host; SMPL joints and mesh
  (the subpackage's docstring lists its modules).
- ``lite``: MediaPipe Pose on the CPU, mapped onto the SMPL joint names; no mesh, no download;
  ``mediapipe_to_smpl``: MediaPipe's 33 landmarks onto SMPL's 24 joints.
- ``replay``: plays back a recorded per-frame sequence (``.npz``) for deterministic tests.
- ``base``: the :class:`Estimator` interface, its optional capabilities and errors.
- ``search_region``: where a second look searches (box overlap), for any estimator.
- ``smpl_file``: the SMPL model file made chumpy-free.

Implementations are imported lazily so that the ``lite`` path never imports torch.
"""

from __future__ import annotations

from ..config import Settings
from .base import BodyModelEstimator, Estimator, ModelUnavailable, TransientInferenceError

__all__ = [
    "BodyModelEstimator",
    "Estimator",
    "ModelUnavailable",
    "TransientInferenceError",
    "create_estimator",
]


def create_estimator(settings: Settings) -> Estimator:
    """Build (but do not load) the estimator the settings name."""
    if settings.estimator == "lite":
        from .lite import MediaPipeEstimator

        return MediaPipeEstimator(settings)
    if settings.estimator == "replay":
        from .replay import ReplayEstimator

        return ReplayEstimator(settings)
    if settings.estimator == "hmr2":
        from .hmr2.estimator import HMR2Estimator

        return HMR2Estimator(settings)
    raise ModelUnavailable(f"unknown estimator {settings.estimator!r}")
