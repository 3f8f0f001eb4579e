"""Detect on reacquire: HMR2 on the crop the track predicts, checked, instead of ViTDet.

ViTDet-H costs several times HMR2 per frame. While a video's track is confirmed, the person's
box in the next frame is known well enough from the track (its Kalman-predicted box): the
``hmr2`` estimator then crops there and runs HMR2 alone. The result is trusted only if the
body HMR2 found sits in that box (``confirms_hint``); otherwise the detector runs on the same
frame. A confirmed person's box is rebuilt from its projected joints (``box_around_joints``) so
the next frame's crop follows the body, not the stale prediction.
"""

from __future__ import annotations

import numpy as np

MIN_INSIDE_SHARE = 0.7  # of the joints' box that must lie inside the hinted box
MIN_HEIGHT_SHARE = 0.3  # joints' box height / hinted box height: a body, not a speck
JOINT_BOX_PADDING = 0.12  # of the joints' box height added around it: head top, feet, hands
MIN_HINT_SIDE_PX = 16.0  # a predicted box smaller than this is no crop to run HMR2 on
MIN_HINT_INSIDE_SHARE = 0.5  # of the predicted box that must lie inside the image


def usable_hint(box: np.ndarray, width: int, height: int) -> bool:
    """True when a predicted box is worth a crop: finite, not tiny, mostly inside the image
    (a person walking out of the frame gets the detector instead)."""
    if not np.all(np.isfinite(box)):
        return False
    x0, y0, x1, y1 = (float(v) for v in box)
    if x1 - x0 < MIN_HINT_SIDE_PX or y1 - y0 < MIN_HINT_SIDE_PX:
        return False
    inside_w = max(0.0, min(x1, width) - max(x0, 0.0))
    inside_h = max(0.0, min(y1, height) - max(y0, 0.0))
    return inside_w * inside_h >= MIN_HINT_INSIDE_SHARE * (x1 - x0) * (y1 - y0)


def joint_box(keypoints: np.ndarray) -> np.ndarray:
    """The tight (4,) x0 y0 x1 y1 box of projected joints."""
    return np.array([*keypoints.min(axis=0), *keypoints.max(axis=0)], dtype=np.float32)


def confirms_hint(keypoints: np.ndarray, hint_box: np.ndarray) -> bool:
    """True when the projected joints HMR2 found lie in the hinted box and fill a fair part of
    it; False when the crop held no body where the track expected one."""
    if not np.all(np.isfinite(keypoints)):
        return False
    jx0, jy0, jx1, jy1 = joint_box(keypoints)
    hx0, hy0, hx1, hy1 = (float(v) for v in hint_box)
    area = max(jx1 - jx0, 1.0) * max(jy1 - jy0, 1.0)
    inside_w = max(0.0, min(jx1, hx1) - max(jx0, hx0))
    inside_h = max(0.0, min(jy1, hy1) - max(jy0, hy0))
    inside_share = inside_w * inside_h / area
    height_share = (jy1 - jy0) / max(hy1 - hy0, 1.0)
    return inside_share >= MIN_INSIDE_SHARE and height_share >= MIN_HEIGHT_SHARE


def box_around_joints(keypoints: np.ndarray, width: int, height: int) -> np.ndarray:
    """A person box from projected joints: their extent, padded, clipped to the image."""
    x0, y0, x1, y1 = joint_box(keypoints)
    pad = JOINT_BOX_PADDING * max(y1 - y0, x1 - x0, 1.0)
    box = np.array([x0 - pad, y0 - pad, x1 + pad, y1 + pad], dtype=np.float32)
    return np.clip(box, 0.0, np.array([width, height, width, height], dtype=np.float32))
