"""Harder footage made from real footage, deterministically: a development aid for measuring
re-detection, not proof (a synthetic degradation is not a real hard clip; reports say so).

Each degradation maps one RGB frame (and its index, for the ones that move or add noise) to a
frame of the same size, so a person's position in the result is a known function of their
position in the original: the undegraded run is the reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


class InPlace:
    """A degradation that moves no pixel: points stay where they are, sizes stay the same."""

    scale = 1.0

    def map_points(self, points: np.ndarray, width: int, height: int) -> np.ndarray:
        return points


@dataclass(frozen=True)
class SmallSubject:
    """The frame shrunk by ``scale`` and centred on black: everyone in it becomes small (a
    subject far from the camera); pixel ``p`` of the original lands at ``p * scale + offset``."""

    scale: float

    def offset(self, width: int, height: int) -> np.ndarray:
        w, h = int(width * self.scale), int(height * self.scale)
        return np.array([(width - w) // 2, (height - h) // 2], dtype=np.float32)

    def __call__(self, rgb: np.ndarray, index: int) -> np.ndarray:
        height, width = rgb.shape[:2]
        w, h = int(width * self.scale), int(height * self.scale)
        x0, y0 = (int(v) for v in self.offset(width, height))
        out = np.zeros_like(rgb)
        out[y0 : y0 + h, x0 : x0 + w] = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
        return out

    def map_points(self, points: np.ndarray, width: int, height: int) -> np.ndarray:
        """Where original pixel coordinates (..., 2) are in the degraded frame."""
        return points * self.scale + self.offset(width, height)


@dataclass(frozen=True)
class MotionBlur(InPlace):
    """Horizontal motion blur over ``length`` pixels (a fast pan or a slow shutter)."""

    length: int

    def __call__(self, rgb: np.ndarray, index: int) -> np.ndarray:
        kernel = np.zeros((self.length, self.length), np.float32)
        kernel[self.length // 2, :] = 1.0 / self.length
        return cv2.filter2D(rgb, -1, kernel)


@dataclass(frozen=True)
class LowLight(InPlace):
    """Dark and noisy: gamma ``gamma``, gain ``gain``, Gaussian sensor noise ``noise`` (grey
    levels), seeded by the frame index."""

    gamma: float
    gain: float
    noise: float

    def __call__(self, rgb: np.ndarray, index: int) -> np.ndarray:
        rng = np.random.default_rng(index)
        dark = (rgb.astype(np.float32) / 255.0) ** self.gamma * self.gain * 255.0
        return np.clip(dark + rng.normal(0.0, self.noise, rgb.shape), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Occluder(InPlace):
    """A grey vertical bar ``width_share`` of the frame wide sweeping across it once every
    ``period`` frames (a passer-by, a pillar as the camera pans)."""

    width_share: float
    period: int

    def __call__(self, rgb: np.ndarray, index: int) -> np.ndarray:
        height, width = rgb.shape[:2]
        bar = int(width * self.width_share)
        x0 = int((index % self.period) / self.period * (width + bar)) - bar
        out = rgb.copy()
        out[:, max(x0, 0) : max(x0 + bar, 0)] = 128
        return out


@dataclass(frozen=True)
class Chain:
    """Several degradations, in order."""

    steps: tuple[SmallSubject | InPlace, ...]

    def __call__(self, rgb: np.ndarray, index: int) -> np.ndarray:
        for step in self.steps:
            rgb = step(rgb, index)
        return rgb

    @property
    def scale(self) -> float:
        return float(np.prod([step.scale for step in self.steps]))

    def map_points(self, points: np.ndarray, width: int, height: int) -> np.ndarray:
        for step in self.steps:
            points = step.map_points(points, width, height)
        return points


# The cases the re-detection report measures (benchmarks/redetection.py).
CASES: dict[str, SmallSubject | Chain] = {
    "small": SmallSubject(0.45),
    "small_blur": Chain((SmallSubject(0.5), MotionBlur(9))),
    "small_dark": Chain((SmallSubject(0.5), LowLight(1.6, 0.45, 5.0))),
    "small_occluded": Chain((SmallSubject(0.5), Occluder(0.06, 45))),
}
