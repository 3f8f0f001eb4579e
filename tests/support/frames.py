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
    from pose_service.demo import video_frames_png

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
