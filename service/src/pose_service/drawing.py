"""Drawing the pose on the frame, for ``visualize: true`` (skeleton lines and joints)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from .skeleton import SMPL_PARENTS

DETECTED_COLOUR = (40, 220, 90)
PREDICTED_COLOUR = (255, 170, 0)


def draw_skeleton(rgb: np.ndarray, keypoints_2d: np.ndarray, predicted: bool) -> np.ndarray:
    """A copy of the frame with the SMPL skeleton drawn (orange when predicted)."""
    image = Image.fromarray(rgb)
    pen = ImageDraw.Draw(image)
    colour = PREDICTED_COLOUR if predicted else DETECTED_COLOUR
    width = max(2, int(max(image.size) / 400))
    for child, parent in enumerate(SMPL_PARENTS):
        if parent >= 0:
            a, b = keypoints_2d[parent], keypoints_2d[child]
            pen.line(
                [(float(a[0]), float(a[1])), (float(b[0]), float(b[1]))], fill=colour, width=width
            )
    r = width + 1
    for x, y in keypoints_2d:
        pen.ellipse([float(x) - r, float(y) - r, float(x) + r, float(y) + r], fill=colour)
    return np.asarray(image)
