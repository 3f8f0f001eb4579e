"""Motion filters for pose coordinates: a damped constant-velocity Kalman filter (causal and
Rauch-Tung-Striebel smoothed) and a One-Euro filter.

Every coordinate of a field (72 joint coordinates, 48 keypoint coordinates, ...) gets the same
motion model and the same noise, and they are all observed (or missed) together, so they share
one 2x2 covariance: the filter costs a few vector operations per frame whatever the field size.
The model: ``x' = x + v``, ``v' = decay * v`` plus white acceleration noise ``q`` per frame;
measurements ``z = x + noise`` with variance ``r``. ``decay < 1`` pulls predictions in long gaps
back towards "stand still" instead of drifting off at the last velocity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MotionNoise:
    """Noise model of one field: measurement std ``r_std`` and acceleration std ``q_std``
    (both in the field's units, per frame), and the initial velocity std on acquisition."""

    r_std: float
    q_std: float
    v0_std: float


def _transition(decay: float) -> np.ndarray:
    return np.array([[1.0, 1.0], [0.0, decay]])


def _process(q_std: float) -> np.ndarray:
    q = q_std * q_std
    return q * np.array([[0.25, 0.5], [0.5, 1.0]])


class KalmanCV:
    """Damped constant-velocity Kalman filter over an array of coordinates (any shape)."""

    def __init__(self, noise: MotionNoise, decay: float) -> None:
        self.noise, self.decay = noise, decay
        self.F = _transition(decay)
        self.Q = _process(noise.q_std)
        self.x: np.ndarray | None = None
        self.v: np.ndarray | None = None
        self.P = np.zeros((2, 2))

    def start(self, z: np.ndarray) -> None:
        self.x = z.astype(np.float64)
        self.v = np.zeros_like(self.x)
        self.P = np.diag([self.noise.r_std**2, self.noise.v0_std**2])

    def predicted(self, steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """State (x, v) and covariance ``steps`` frames ahead, without changing the filter."""
        assert self.x is not None and self.v is not None
        P = self.predicted_cov(steps)
        if self.decay >= 1.0:
            travel, vscale = float(steps), 1.0
        else:
            travel = (1.0 - self.decay**steps) / (1.0 - self.decay)
            vscale = self.decay**steps
        return self.x + self.v * travel, self.v * vscale, P

    def update(self, z: np.ndarray, steps: int) -> float:
        """Advance ``steps`` frames and fold in the measurement ``z``; returns the normalised
        innovation (mean squared residual over the predicted variance: ~1 when consistent)."""
        x, v, P = self.predicted(steps)
        p00, p01, p11 = float(P[0, 0]), float(P[0, 1]), float(P[1, 1])
        s = p00 + self.noise.r_std**2
        g0, g1 = p00 / s, p01 / s
        residual = z - x
        self.x = x + g0 * residual
        self.v = v + g1 * residual
        self.P = np.array([[p00 - g0 * p00, p01 - g0 * p01], [p01 - g1 * p00, p11 - g1 * p01]])
        return float(np.vdot(residual, residual)) / max(residual.size, 1) / s

    def position_std(self, steps: int) -> float:
        """Expected error std of one coordinate ``steps`` frames after the last update."""
        return math.sqrt(max(float(self.predicted_cov(steps)[0, 0]), 0.0))

    def predicted_cov(self, steps: int) -> np.ndarray:
        """``F P F' + Q`` applied ``steps`` times, written out for the symmetric 2x2 ``P``
        (numpy's call overhead is most of a 2x2 matmul; this runs several times a frame)."""
        P = self.P
        if steps <= 0:
            return P
        p00, p01, p11 = float(P[0, 0]), float(P[0, 1]), float(P[1, 1])
        d, q = self.decay, self.noise.q_std * self.noise.q_std
        for _ in range(steps):
            p00, p01, p11 = (
                p00 + 2.0 * p01 + p11 + 0.25 * q,
                d * (p01 + p11) + 0.5 * q,
                d * d * p11 + q,
            )
        return np.array([[p00, p01], [p01, p11]])


def rts_smooth(
    observations: np.ndarray, observed: np.ndarray, noise: MotionNoise, decay: float = 1.0
) -> np.ndarray:
    """Bidirectional (Rauch-Tung-Striebel) smoothing of a (T, ...) sequence with gaps.

    Frames with ``observed`` False are filled by the smoother (a cubic-like bridge between the
    detections around them); only the span between the first and last observation is solved,
    the caller decides what to do beyond it. Returns smoothed positions and velocities (2, T, ...).
    """
    T = len(observations)
    shape = observations.shape[1:]
    F, Q, r = _transition(decay), _process(noise.q_std), noise.r_std**2
    xs = np.zeros((T, 2, *shape))
    Ps = np.zeros((T, 2, 2))
    xp = np.zeros((T, 2, *shape))
    Pp = np.zeros((T, 2, 2))
    first = int(np.argmax(observed))
    state = np.zeros((2, *shape))
    state[0] = observations[first]
    P = np.diag([r, noise.v0_std**2])
    for t in range(first, T):
        if t > first:
            state = np.tensordot(F, state, axes=1)
            P = F @ P @ F.T + Q
        xp[t], Pp[t] = state, P
        if observed[t]:
            s = P[0, 0] + r
            gain = P[:, 0] / s
            residual = observations[t] - state[0]
            state = state + gain.reshape(2, *([1] * len(shape))) * residual
            P = P - np.outer(gain, P[0, :])
        xs[t], Ps[t] = state, P
    last = T - 1 - int(np.argmax(observed[::-1]))
    out = xs.copy()
    for t in range(last - 1, first - 1, -1):
        C = Ps[t] @ F.T @ np.linalg.inv(Pp[t + 1])
        out[t] = xs[t] + np.tensordot(C, out[t + 1] - xp[t + 1], axes=1)
    return np.moveaxis(out, 1, 0)


class OneEuro:
    """One-Euro filter (Casiez et al. 2012): causal smoothing whose cut-off rises with speed,
    so slow jitter is removed and fast motion is followed without visible lag."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.05, d_cutoff: float = 1.0,
                 rate: float = 30.0) -> None:  # fmt: skip
        self.min_cutoff, self.beta, self.d_cutoff, self.rate = min_cutoff, beta, d_cutoff, rate
        self.x: np.ndarray | None = None
        self.dx: np.ndarray | None = None

    def _alpha(self, cutoff: np.ndarray | float, frames: int) -> np.ndarray | float:
        tau = 1.0 / (2.0 * math.pi * cutoff)
        te = max(frames, 1) / self.rate
        return 1.0 / (1.0 + tau / te)

    def __call__(self, z: np.ndarray, frames: int = 1) -> np.ndarray:
        if self.x is None or self.dx is None or self.x.shape != z.shape:
            self.x, self.dx = z.astype(np.float64), np.zeros(z.shape)
            return z
        dz = (z - self.x) * self.rate / max(frames, 1)
        a_d = self._alpha(self.d_cutoff, frames)
        self.dx = a_d * dz + (1 - a_d) * self.dx
        a = self._alpha(self.min_cutoff + self.beta * np.abs(self.dx), frames)
        self.x = a * z + (1 - a) * self.x
        return self.x.astype(z.dtype)
