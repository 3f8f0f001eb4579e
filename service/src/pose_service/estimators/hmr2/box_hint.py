"""Detect on reacquire: HMR2 on the crop the track predicts, checked, instead of ViTDet.

ViTDet-H costs several times HMR2 per frame. While a video's track is confirmed, the person's
box in the next frame is known well enough from the track (its Kalman-predicted box), which
the frame carries as its hint. The ``hmr2`` estimator decides: a box worth a crop
(``usable_hint``) is cropped and HMR2 runs there alone; any other goes to the detector. The
result is trusted only if the body HMR2 found sits in that box (``confirms_hint``); otherwise
the detector runs on the same frame. A confirmed person's box is rebuilt from its projected
joints (``box_around_joints``) so the next frame's crop follows the body, not the stale
prediction.
"""

from __future__ import annotations

import numpy as np

MIN_INSIDE_SHARE = 0.7  # of the joints' box that must lie inside the hinted box
MIN_HEIGHT_SHARE = 0.3  # joints' box height / hinted box height: a body, not a speck
JOINT_BOX_PADDING = 0.12  # of the joints' box height added around it: head top, feet, hands
MIN_HINT_SIDE_PX = 16.0  # a predicted box smaller than this is no crop to run HMR2 on
MIN_HINT_INSIDE_SHARE = 0.5  # of the predicted box that must lie inside the image


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Area shared by two x0 y0 x1 y1 boxes."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return width * height


def usable_hint(box: np.ndarray, width: int, height: int) -> bool:
    """True when a predicted box is worth a crop: finite, not tiny, mostly inside the image
    (a person walking out of the frame gets the detector instead)."""
    if not np.all(np.isfinite(box)):
        return False
    x0, y0, x1, y1 = (float(v) for v in box)
    if x1 - x0 < MIN_HINT_SIDE_PX or y1 - y0 < MIN_HINT_SIDE_PX:
        return False
    inside = _overlap((x0, y0, x1, y1), (0.0, 0.0, float(width), float(height)))
    return inside >= MIN_HINT_INSIDE_SHARE * (x1 - x0) * (y1 - y0)


def joint_box(keypoints: np.ndarray) -> np.ndarray:
    """The tight (4,) x0 y0 x1 y1 box of projected joints."""
    return np.array([*keypoints.min(axis=0), *keypoints.max(axis=0)], dtype=np.float32)


def confirms_hint(keypoints: np.ndarray, hint_box: np.ndarray) -> bool:
    """True when the projected joints HMR2 found lie in the hinted box and fill a fair part of
    it; False when the crop held no body where the track expected one."""
    if not np.all(np.isfinite(keypoints)):
        return False
    joints = tuple(float(v) for v in joint_box(keypoints))
    hint = tuple(float(v) for v in hint_box)
    area = max(joints[2] - joints[0], 1.0) * max(joints[3] - joints[1], 1.0)
    inside_share = _overlap(joints, hint) / area
    height_share = (joints[3] - joints[1]) / max(hint[3] - hint[1], 1.0)
    return inside_share >= MIN_INSIDE_SHARE and height_share >= MIN_HEIGHT_SHARE


def box_around_joints(keypoints: np.ndarray, width: int, height: int) -> np.ndarray:
    """A person box from projected joints: their extent, padded, clipped to the image."""
    x0, y0, x1, y1 = joint_box(keypoints)
    pad = JOINT_BOX_PADDING * max(y1 - y0, x1 - x0, 1.0)
    box = np.array([x0 - pad, y0 - pad, x1 + pad, y1 + pad], dtype=np.float32)
    return np.clip(box, 0.0, np.array([width, height, width, height], dtype=np.float32))
