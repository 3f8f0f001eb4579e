"""Frames for requests: the real runner clip, and small synthetic pictures."""

from __future__ import annotations

import base64
import io
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
RUNNER_CLIP = next(
    p
    for p in (REPO / "data" / "runner-180f.mp4", REPO.parent / "shared/data/runner-180f.mp4")
    if p.is_file()
)


@lru_cache(maxsize=2)
def runner_pngs(width: int = 640) -> tuple[bytes, ...]:
    """All 180 frames of the real clip as PNG, resized like the backend's ffmpeg output."""
    from pose_service.devtools.demo import video_frames_png

    return tuple(video_frames_png(RUNNER_CLIP, width))


def png_bytes(
    width: int = 64,
    height: int = 36,
    colour: tuple[int, int, int] = (90, 120, 150),
    seed: int | None = None,
) -> bytes:
    if seed is None:
        pixels = np.zeros((height, width, 3), dtype=np.uint8) + np.array(colour, dtype=np.uint8)
    else:
        pixels = np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@lru_cache(maxsize=1)
def runner_thumbnails() -> tuple[np.ndarray, ...]:
    """The service's tiny grey picture of each frame of the real clip, at the backend's size."""
    from pose_service.imaging import thumbnail_grey
    from pose_service.video_frames import read_frames

    return tuple(thumbnail_grey(rgb) for rgb in read_frames(RUNNER_CLIP, 640))


def string_sorted(count: int) -> list[int]:
    """The time index at each position of the backend's string-sorted ``frame-%d.png`` list."""
    return [int(name) - 1 for name in sorted(str(k) for k in range(1, count + 1))]


def pool_order(count: int, seed: int = 0, block: int = 4) -> list[int]:
    """Positions 0..count-1 in the order the backend's 4-in-flight pool can deliver them:
    position 0 first (released at once), then each block of ``block`` shuffled (released
    together or overlapping; backend-calls.md §3 saw 0, 2, 3, 1)."""
    import random

    order = list(range(count))
    rng = random.Random(seed)
    for start in range(1, count, block):
        part = order[start : start + block]
        rng.shuffle(part)
        order[start : start + block] = part
    return order


def write_runner_cut(path: Path, frames: int = 12, width: int = 640) -> Path:
    """The real clip's first ``frames`` frames, ``width`` wide (the backend's size), as an
    MPEG-4 file at its 30 fps: a short real upload."""
    import cv2

    from pose_service.video_frames import read_frames

    writer = None
    try:
        for number, rgb in enumerate(read_frames(RUNNER_CLIP, width)):
            if number == frames:
                break
            if writer is None:
                fourcc = cv2.VideoWriter_fourcc(*"mp4v")
                writer = cv2.VideoWriter(str(path), fourcc, 30.0, (rgb.shape[1], rgb.shape[0]))
            writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    finally:
        if writer is not None:
            writer.release()
    return path
