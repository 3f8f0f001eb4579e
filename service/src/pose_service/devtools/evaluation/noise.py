"""How simulated detections err: independent per-frame noise, or a real estimator's errors.

``iid``: every coordinate of every frame gets independent Gaussian noise (the old harness).
Its acceleration error is far above a real estimator's (~75 mm/frame^2 at 20 mm), because a
real estimator's error is mostly the same from one frame to the next.

``correlated``: a per-sequence bias (each joint off by a fixed amount all along), a slow drift
(a first-order autoregressive process with a time constant of ``drift_frames``) and a small
jitter, sized to match a published per-frame estimator: SPIN on 3DPW, MPJPE 87.6 mm and
acceleration error 30.8 mm/frame^2 (SmoothNet's README). Only the jitter and the drift's
wobble move the acceleration error; all three make the MPJPE.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

NOISE_MODELS = ("iid", "correlated")
SPIN_3DPW_MPJPE_MM = 87.6  # SmoothNet's README: SPIN on 3DPW, per-frame MPJPE ...
SPIN_3DPW_ACCEL_MM = 30.8  # ... and acceleration error (mm/frame^2)
NORM_MEAN = math.sqrt(8.0 / math.pi)  # mean length of an isotropic 3D Gaussian, per sigma
SCORED_SHARE = 23.0 / 24.0  # the pelvis is the body frame's origin: no error, still averaged


@dataclass(frozen=True)
class CorrelatedNoise:
    """Per-coordinate standard deviations (mm) of the three parts, and the drift's time
    constant in frames."""

    bias_mm: float
    drift_mm: float
    drift_frames: float
    jitter_mm: float

    @classmethod
    def matched(
        cls,
        mpjpe_mm: float = SPIN_3DPW_MPJPE_MM,
        accel_mm: float = SPIN_3DPW_ACCEL_MM,
        drift_share: float = 0.5,
        drift_frames: float = 30.0,
    ) -> CorrelatedNoise:
        """The noise whose expected MPJPE and acceleration error (the harness's metrics, the
        pelvis included at 0) are the given ones; ``drift_share`` of the slow error drifts
        (time constant ``drift_frames``), the rest is a fixed bias.

        Per coordinate: total variance V = b^2 + d^2 + j^2; the second difference of the
        jitter has variance 6 j^2, of the drift c d^2 with c = 6 - 8 rho + 2 rho^2."""
        total = (mpjpe_mm / (NORM_MEAN * SCORED_SHARE)) ** 2
        accel = (accel_mm / (NORM_MEAN * SCORED_SHARE)) ** 2
        rho = math.exp(-1.0 / drift_frames)
        c = 6.0 - 8.0 * rho + 2.0 * rho * rho
        jitter = (accel - c * drift_share * total) / (6.0 - c * drift_share)
        if not 0.0 < jitter < total:
            raise ValueError(
                f"no correlated noise gives MPJPE {mpjpe_mm} mm with acceleration error "
                f"{accel_mm} mm/frame^2 at drift share {drift_share}"
            )
        slow = total - jitter
        return cls(
            bias_mm=math.sqrt((1.0 - drift_share) * slow),
            drift_mm=math.sqrt(drift_share * slow),
            drift_frames=drift_frames,
            jitter_mm=math.sqrt(jitter),
        )

    def sample(self, rng: np.random.Generator, frames: int, shape: tuple[int, ...]) -> np.ndarray:
        """Errors (metres) for ``frames`` frames of values of ``shape``."""
        rho = math.exp(-1.0 / self.drift_frames)
        drift = np.empty((frames, *shape))
        drift[0] = rng.normal(0.0, self.drift_mm, shape)
        step = self.drift_mm * math.sqrt(1.0 - rho * rho)
        for t in range(1, frames):
            drift[t] = rho * drift[t - 1] + rng.normal(0.0, step, shape)
        bias = rng.normal(0.0, self.bias_mm, shape)
        jitter = rng.normal(0.0, self.jitter_mm, (frames, *shape))
        return (bias + drift + jitter) / 1000.0


def detection_errors(
    model: str, noise_mm: float, rng: np.random.Generator, frames: int
) -> tuple[np.ndarray, np.ndarray]:
    """Errors (metres) of ``frames`` detections under ``model``: of the 24 joints (T, 24, 3)
    and of the root (T, 3); ``iid`` with ``noise_mm`` per coordinate (drawn frame by frame,
    joints then root, as the harness always has: the same seed gives the same detections), or
    ``correlated`` (SPIN on 3DPW, :class:`CorrelatedNoise`)."""
    if model == "iid":
        sigma = noise_mm / 1000.0
        joints, root = np.empty((frames, 24, 3)), np.empty((frames, 3))
        for t in range(frames):
            joints[t] = rng.normal(0.0, sigma, (24, 3))
            root[t] = rng.normal(0.0, sigma, 3)
        return joints, root
    if model == "correlated":
        noise = CorrelatedNoise.matched()
        return noise.sample(rng, frames, (24, 3)), noise.sample(rng, frames, (3,))
    raise ValueError(f"unknown noise model {model!r} (one of {', '.join(NOISE_MODELS)})")
