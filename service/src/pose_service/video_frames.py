"""Reading a video file's frames (OpenCV), RGB, optionally resized the way the backend does.

The backend extracts frames with ffmpeg scaled to a fixed width (640) and an even height; the
demo, the evaluation on a real clip and the whole-video uploads all read videos here, so the
three see the same pixels for the same file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np


def backend_size(width: int, height: int, target_width: int) -> tuple[int, int]:
    """The backend's frame size for a ``width`` x ``height`` video: ``target_width`` wide, the
    height scaled to match and rounded to an even number (as ffmpeg's ``scale=W:-2``)."""
    return target_width, int(round(height * target_width / width / 2) * 2)


def video_shape(path: str | Path) -> tuple[int, int, int] | None:
    """Frame count, width and height from the container (nothing decoded); None when OpenCV
    cannot read the file as a video."""
    import cv2  # OpenCV comes with the lite extra (mediapipe)

    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            return None
        props = (cv2.CAP_PROP_FRAME_COUNT, cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT)
        count, width, height = (int(capture.get(prop)) for prop in props)
    finally:
        capture.release()
    return (count, width, height) if min(count, width, height) > 0 else None


def video_fps(path: str | Path) -> float | None:
    """Frames per second from the container; None when it does not say (or not a video)."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        fps = float(capture.get(cv2.CAP_PROP_FPS)) if capture.isOpened() else 0.0
    finally:
        capture.release()
    return fps if 0.0 < fps < 1000.0 else None


def read_frames(
    path: str | Path, width: int | None = None, max_pixels: int | None = None
) -> Iterator[np.ndarray]:
    """Every frame of the video as an (H, W, 3) uint8 RGB array, in order.

    ``width``: resize to the backend's size (:func:`backend_size`, area interpolation); none
    keeps the decoded size. ``max_pixels``: a decoded frame larger than this raises
    ``ValueError`` (an upload's container may understate its frames' size).
    """
    import cv2

    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise FileNotFoundError(f"cannot open video {path}")
    try:
        number = 0
        while True:
            ok, bgr = capture.read()
            if not ok:
                return
            if max_pixels is not None and bgr.shape[0] * bgr.shape[1] > max_pixels:
                raise ValueError(f"frame {number} exceeds {max_pixels} pixels")
            if width and bgr.shape[1] != width:
                size = backend_size(bgr.shape[1], bgr.shape[0], width)
                bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
            yield np.ascontiguousarray(bgr[..., ::-1])
            number += 1
    finally:
        capture.release()
