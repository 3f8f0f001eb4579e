"""Where an estimator looks again for a tracked person: a square region around the track's
search box (``Track.search_box``), clipped to the frame. Shared by the estimators'
``rescue``."""

from __future__ import annotations

import numpy as np

MIN_REGION_PX = 16  # a smaller region holds no person an estimator could find


def search_region(
    box: np.ndarray, width: int, height: int, scale: float
) -> tuple[int, int, int, int] | None:
    """Pixel bounds ``(x0, y0, x1, y1)`` of a square ``scale`` times the box's longer side,
    centred on the box and clipped to the frame; None when little of it is in the picture."""
    x0, y0, x1, y1 = (float(v) for v in box)
    side = max(x1 - x0, y1 - y0, 1.0) * scale
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    left, top = int(max(cx - side / 2.0, 0.0)), int(max(cy - side / 2.0, 0.0))
    right, bottom = int(min(cx + side / 2.0, width)), int(min(cy + side / 2.0, height))
    if right - left < MIN_REGION_PX or bottom - top < MIN_REGION_PX:
        return None
    return left, top, right, bottom


def best_overlap(boxes: np.ndarray, box: np.ndarray) -> tuple[int, float]:
    """Index of the box in ``boxes`` (N, 4) overlapping ``box`` most, and that IoU (-1, 0.0
    when there are none)."""
    if not len(boxes):
        return -1, 0.0
    ix0 = np.maximum(boxes[:, 0], box[0])
    iy0 = np.maximum(boxes[:, 1], box[1])
    ix1 = np.minimum(boxes[:, 2], box[2])
    iy1 = np.minimum(boxes[:, 3], box[3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + (box[2] - box[0]) * (box[3] - box[1]) - inter
    iou = inter / np.maximum(union, 1e-6)
    best = int(np.argmax(iou))
    return best, float(iou[best])
