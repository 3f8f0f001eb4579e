"""HMR2's crop camera moved to the full image, and the per-joint confidence we report.

HMR2 predicts a weak-perspective camera ``[s, tx, ty]`` for its 256-pixel crop, whose focal
length is ``EXTRA.FOCAL_LENGTH`` (5000) on ``MODEL.IMAGE_SIZE`` (256) pixels. 4D-Humans' demo
places the body in the full image with ``hmr2.utils.renderer.cam_crop_to_full``: same body, a
camera of focal ``5000 / 256 * max(W, H)`` with its principal point at the image centre. That
module imports pyrender at import time, so the (short) formula is written out here in numpy.
"""

from __future__ import annotations

import numpy as np

from ...camera import project


def full_image_focal(width: int, height: int, focal: float = 5000.0, crop: float = 256.0) -> float:
    """Focal length (pixels) of the full-image camera: ``focal / crop * max(W, H)``."""
    return float(focal) / float(crop) * float(max(width, height))


def crop_to_full_translation(
    pred_cam: np.ndarray,
    box_center: np.ndarray,
    box_size: np.ndarray,
    width: float | np.ndarray,
    height: float | np.ndarray,
    focal_length: float | np.ndarray,
) -> np.ndarray:
    """Camera translation (B, 3), metres, that puts each crop's body into the full image.

    ``width``, ``height`` and ``focal_length`` are one image's, or (B,) arrays when the crops
    come from several frames.

    The crop's scale ``s`` covers ``b * s`` image pixels per 2 body units, so depth is
    ``2 f / (b s)``; the crop centre's offset from the image centre becomes an extra x/y shift
    at that depth.
    """
    pred_cam = np.asarray(pred_cam, dtype=np.float64).reshape(-1, 3)
    center = np.asarray(box_center, dtype=np.float64).reshape(-1, 2)
    size = np.asarray(box_size, dtype=np.float64).reshape(-1)
    bs = size * pred_cam[:, 0] + 1e-9
    tz = 2.0 * focal_length / bs
    tx = 2.0 * (center[:, 0] - width / 2.0) / bs + pred_cam[:, 1]
    ty = 2.0 * (center[:, 1] - height / 2.0) / bs + pred_cam[:, 2]
    return np.stack([tx, ty, tz], axis=-1).astype(np.float32)


def project_to_image(
    points: np.ndarray, translation: np.ndarray, focal_length: float, width: int, height: int
) -> np.ndarray:
    """Pixels of body-frame points seen by the full-image camera (principal point centred)."""
    return project(
        np.asarray(points, dtype=np.float32), translation, focal_length, width, height
    ).astype(np.float32)


OUTSIDE_FRAME_FACTOR = 0.5  # a joint projected outside the frame was not seen, only inferred


def joint_confidence(score: float, keypoints_2d: np.ndarray, width: int, height: int) -> np.ndarray:
    """Per-joint confidence for an HMR2 person: HMR2 itself gives none.

    What we do know honestly: how sure the detector is that a person is there (its score), and
    whether a joint lands inside the frame at all. So every joint gets the detector score, halved
    for joints projected outside the image (they are the model's guess at an unseen body part).
    This is not a per-joint visibility estimate and must not be read as one.
    """
    kp = np.asarray(keypoints_2d, dtype=np.float32)
    inside = (kp[:, 0] >= 0) & (kp[:, 0] < width) & (kp[:, 1] >= 0) & (kp[:, 1] < height)
    conf = np.full(len(kp), float(np.clip(score, 0.0, 1.0)), dtype=np.float32)
    conf[~inside] *= OUTSIDE_FRAME_FACTOR
    return conf
