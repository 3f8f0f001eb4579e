"""Drawing the pose on a frame: for ``visualize: true`` (PIL, RGB), and coloured by where the
pose came from with its confidence (OpenCV, BGR) for the demo's annotated video and the rendered
outputs of video jobs; and the video writer both of those use."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from .skeleton import SMPL_PARENTS

DETECTED_COLOUR = (40, 220, 90)
PREDICTED_COLOUR = (255, 170, 0)
VIDEO_FPS = 30.0  # the backend's clips
# Where each frame's pose came from -> BGR colour (OpenCV; the demo's timeline uses them too).
SOURCE_COLOURS: dict[str, tuple[int, int, int]] = {
    "detected": (80, 200, 60),
    "rescued": (230, 160, 20),
    "predicted": (30, 140, 255),
    "interpolated": (40, 220, 230),
    "none": (120, 120, 120),
}


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


def pose_source(has_pose: bool, source: str | None, flags: Sequence[str]) -> str:
    """``detected`` / ``rescued`` / ``predicted`` / ``interpolated`` / ``none``: the key of
    :data:`SOURCE_COLOURS` for a frame's answer."""
    if not has_pose:
        return "none"
    if source == "detected" and "rescued" in flags:
        return "rescued"
    return source or "none"


def draw_pose(
    bgr: np.ndarray, points: np.ndarray | None, source: str, confidence: float
) -> np.ndarray:
    """A copy of the BGR frame with the skeleton (``points``: 24 image keypoints, or None) in
    the colour of its ``source`` and a label (source, confidence). OpenCV comes with the lite
    extra (mediapipe requires it) and with 4D-Humans."""
    import cv2

    out = bgr.copy()
    colour = SOURCE_COLOURS[source]
    thickness = max(2, int(max(out.shape[:2]) / 400))
    if points is not None:
        for joint, parent in enumerate(SMPL_PARENTS):
            if parent >= 0:
                a, b = points[joint], points[parent]
                cv2.line(out, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), colour, thickness)
        for x, y in points:
            cv2.circle(out, (int(x), int(y)), thickness + 1, colour, -1)
    label = f"{source}  conf {confidence:.2f}"
    cv2.rectangle(out, (0, 0), (8 + 9 * len(label), 26), (0, 0, 0), -1)
    cv2.putText(out, label, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, colour, 1, cv2.LINE_AA)
    return out


def open_video_writer(path: Path, width: int, height: int, fps: float = VIDEO_FPS) -> Any:
    """An OpenCV MPEG-4 writer for BGR frames of this size (release it when done)."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {path}")
    return writer
