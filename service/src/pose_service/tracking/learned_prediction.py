"""A learned short-horizon forecast of body-frame joints (an MLP in the spirit of siMLPe).

Given the last ``window`` frames of a track's detected body-frame joints (missed frames inside
the window filled linearly between the detections around them), it forecasts the next
``horizon`` frames. The motion is first put in the body's own frame (hips along x, spine up,
averaged over the window), so the camera's viewpoint does not matter; the past enters as its
offsets from the newest frame, compressed to the first DCT coefficients (smooth trends, not
the detections' noise); the output is each future frame's offset from the newest frame.

Inference is numpy only (a few small matrix products, well under a millisecond); the weights
are an ``.npz`` written by ``training/train_predictor.py``, which builds its inputs with the
functions here, so training and serving share one implementation of the features.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from ..skeleton import JOINT_INDEX, LEFT_RIGHT_PAIRS, NUM_JOINTS

_LEFT_HIP, _RIGHT_HIP = JOINT_INDEX["left_hip"], JOINT_INDEX["right_hip"]
_NECK = JOINT_INDEX["neck"]
WEIGHTS = Path(__file__).with_name("predictor_weights.npz")  # training/train_predictor.py


def dct_basis(frames: int, coefficients: int) -> np.ndarray:
    """Orthonormal DCT-II rows (coefficients, frames): the smoothest temporal patterns first."""
    n = np.arange(frames)
    basis = np.cos(np.pi * (n[None, :] + 0.5) * np.arange(coefficients)[:, None] / frames)
    basis[0] *= np.sqrt(1.0 / frames)
    basis[1:] *= np.sqrt(2.0 / frames)
    return basis


def body_axes(windows: np.ndarray) -> np.ndarray:
    """Rotations (B, 3, 3) into each window's body frame: x from the right hip to the left,
    y along the spine (pelvis to neck), z their cross product; averaged over the window so a
    noisy frame does not turn it."""
    across = (windows[:, :, _LEFT_HIP] - windows[:, :, _RIGHT_HIP]).mean(axis=1)
    up = (windows[:, :, _NECK] - windows[:, :, 0]).mean(axis=1)
    x = across / np.maximum(np.linalg.norm(across, axis=-1, keepdims=True), 1e-6)
    up = up - (up * x).sum(-1, keepdims=True) * x
    y = up / np.maximum(np.linalg.norm(up, axis=-1, keepdims=True), 1e-6)
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=1)


def mirrored(joints: np.ndarray) -> np.ndarray:
    """The same motion seen in a mirror (left and right swapped, x negated): (..., 24, 3)."""
    out = joints.copy()
    for left, right in LEFT_RIGHT_PAIRS:
        out[..., [left, right], :] = joints[..., [right, left], :]
    out[..., 0] *= -1.0
    return out


def fill_gaps(windows: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Windows (B, W, 24, 3) with their unobserved frames (``observed`` (B, W) False) filled:
    linear between the detections around them, the oldest detection before the first one.
    The newest frame of each window must be observed."""
    frames = np.arange(windows.shape[1])
    before = np.maximum.accumulate(np.where(observed, frames, -1), axis=1)
    after = np.minimum.accumulate(np.where(observed, frames, frames[-1])[:, ::-1], axis=1)[:, ::-1]
    before = np.where(before < 0, after, before)
    span = np.maximum(after - before, 1)
    share = ((frames - before) / span)[..., None, None].astype(windows.dtype)
    rows = np.arange(len(windows))[:, None]
    return (1.0 - share) * windows[rows, before] + share * windows[rows, after]


def window_of(
    frames: Sequence[int], joints: Sequence[np.ndarray], window: int
) -> np.ndarray | None:
    """The ``window`` frames (1, W, 24, 3) ending at the newest of the detections at ``frames``
    (ascending), gaps filled by :func:`fill_gaps`; None without detections."""
    if not frames:
        return None
    newest = frames[-1]
    stack = np.zeros((1, window, NUM_JOINTS, 3))
    observed = np.zeros((1, window), dtype=bool)
    for frame, value in zip(frames, joints, strict=True):
        slot = frame - newest + window - 1
        if 0 <= slot < window:
            stack[0, slot], observed[0, slot] = value, True
    return fill_gaps(stack, observed)


@dataclass(frozen=True)
class LearnedPredictor:
    """The MLP and its input layout, as trained (see ``training/train_predictor.py``)."""

    window: int
    horizon: int
    basis: np.ndarray  # (K, window) DCT rows the past offsets are projected on
    mean: np.ndarray  # input normalisation
    std: np.ndarray
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]  # (weight (in, out), bias) per layer
    posture: bool = True  # whether the newest pose itself is an input (else its offsets only)

    @classmethod
    def load(cls, path: str | Path) -> LearnedPredictor:
        with np.load(path) as data:
            count = int(data["layers"])
            layers = tuple(
                (np.ascontiguousarray(data[f"w{i}"], np.float32), data[f"b{i}"].astype(np.float32))
                for i in range(count)
            )
            window, horizon = int(data["window"]), int(data["horizon"])
            basis = dct_basis(window, int(data["coefficients"])).astype(np.float32)
            posture = bool(data["posture"]) if "posture" in data.files else True
            return cls(window, horizon, basis, data["mean"], data["std"], layers, posture)

    @property
    def parameters(self) -> int:
        return sum(w.size + b.size for w, b in self.layers)

    def features(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Network inputs (B, F) of windows (B, W, 24, 3), and the body-frame rotations."""
        axes = body_axes(windows)
        body = np.einsum("bij,btkj->btki", axes, windows)  # joints in the body frame
        newest = body[:, -1]
        offsets = (body - newest[:, None]).reshape(len(body), self.window, -1)
        trend = np.einsum("kt,btc->bkc", self.basis, offsets).reshape(len(body), -1)
        if not self.posture:
            return trend, axes
        return np.concatenate([trend, newest.reshape(len(body), -1)], axis=1), axes

    def outputs_to_joints(
        self, outputs: np.ndarray, windows: np.ndarray, axes: np.ndarray
    ) -> np.ndarray:
        """Network outputs (B, H*72): offsets from the newest frame in the body frame, back
        in the camera frame (B, H, 24, 3), the pelvis at the origin."""
        newest = np.einsum("bij,bkj->bki", axes, windows[:, -1])
        future = newest[:, None] + outputs.reshape(len(outputs), self.horizon, NUM_JOINTS, 3)
        joints = np.einsum("bji,btkj->btki", axes, future)
        joints[:, :, 0] = 0.0
        return joints

    def forward(self, inputs: np.ndarray) -> np.ndarray:
        h = ((inputs - self.mean) / self.std).astype(np.float32)
        for i, (w, b) in enumerate(self.layers):
            h = np.einsum("bi,io->bo", h, w) + b  # not BLAS: its threads stall under load
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        return h

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """The next ``horizon`` frames (B, H, 24, 3) after each window (B, W, 24, 3)."""
        windows = np.asarray(windows, dtype=np.float64)
        inputs, axes = self.features(windows)
        return self.outputs_to_joints(self.forward(inputs), windows, axes)


@cache
def shipped_predictor() -> LearnedPredictor:
    """The predictor trained on CMU capture that ships with the package (loaded once)."""
    return LearnedPredictor.load(WEIGHTS)


def forecast(
    predictor: LearnedPredictor, detections: Iterable[tuple[int, np.ndarray]]
) -> np.ndarray | None:
    """The next ``horizon`` frames (H, 24, 3) after the newest of a track's detections
    ((frame, body-frame joints) pairs); None without any."""
    ordered = sorted(detections, key=lambda item: item[0])
    frames = [frame for frame, _ in ordered]
    window = window_of(frames, [joints for _, joints in ordered], predictor.window)
    return None if window is None else predictor.predict(window)[0].astype(np.float32)
