"""The full-image pinhole camera the contract's fields are expressed in (HMR2's convention)."""

from __future__ import annotations

import numpy as np

HMR2_FOCAL_LENGTH = 5000.0  # HMR2's training focal length for a 256-pixel crop
HMR2_CROP_SIZE = 256.0


def scaled_focal_length(width: int, height: int) -> float:
    """``5000 / 256 * max(W, H)``: the focal length HMR2's full-image camera uses."""
    return HMR2_FOCAL_LENGTH / HMR2_CROP_SIZE * float(max(width, height))


def answer_focal(focal: float | None, width: int, height: int) -> float:
    """The focal length an answer states (``scaled_focal_length``): the pose's own, else the
    full-image camera's of this frame size."""
    return float(focal) if focal else scaled_focal_length(width, height)


def project(
    points: np.ndarray, translation: np.ndarray, focal: float, width: int, height: int
) -> np.ndarray:
    """Pinhole projection of body-frame points moved by ``translation``; principal point centred."""
    cam = points + translation
    z = np.maximum(cam[:, 2:3], 1e-6)
    return cam[:, :2] * (focal / z) + np.array([width / 2.0, height / 2.0], dtype=points.dtype)


def solve_translation(
    points: np.ndarray,
    pixels: np.ndarray,
    weights: np.ndarray,
    focal: float,
    width: int,
    height: int,
) -> np.ndarray | None:
    """Camera translation that best projects ``points`` onto ``pixels`` (weighted least squares).

    For each point: ``u - cx = f (X + tx) / (Z + tz)`` is linear in ``(tx, ty, tz)``. Used by
    estimators that give metric joints and image keypoints but no camera (MediaPipe).
    """
    du = pixels[:, 0] - width / 2.0
    dv = pixels[:, 1] - height / 2.0
    n = len(points)
    a = np.zeros((2 * n, 3))
    b = np.zeros(2 * n)
    a[:n, 0] = focal
    a[:n, 2] = -du
    b[:n] = du * points[:, 2] - focal * points[:, 0]
    a[n:, 1] = focal
    a[n:, 2] = -dv
    b[n:] = dv * points[:, 2] - focal * points[:, 1]
    w = np.sqrt(np.concatenate([weights, weights]))
    solution, *_ = np.linalg.lstsq(a * w[:, None], b * w, rcond=None)
    if not np.all(np.isfinite(solution)) or solution[2] <= 0:
        return None
    return solution.astype(np.float32)


def weak_perspective(
    translation: np.ndarray, focal: float, width: int, height: int
) -> tuple[float, float, float] | None:
    """The weak-perspective camera ``(scale, tx, ty)`` equivalent to the full-image translation
    ``(tx, ty, tz)``, in HMR2's convention (its ``pred_cam`` [s, tx, ty] with ``tz = 2 f /
    (s b)``) with the whole image as the box: ``b = max(W, H)``, so ``scale = 2 f / (b tz)``.

    A body-frame point ``X`` then lands at ``scale * (X + t)`` in image coordinates normalised
    to [-1, 1] across the longer side from the centre, the perspective projection's value at the
    body's depth. None when the depth is not in front of the camera.
    """
    tx, ty, tz = (float(v) for v in translation)
    if not tz > 0:
        return None
    return 2.0 * focal / (float(max(width, height)) * tz), tx, ty
