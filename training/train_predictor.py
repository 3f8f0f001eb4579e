"""Train the learned short-horizon predictor (``tracking.learned_prediction``) on CMU capture.

    PYTHONPATH=service/src .venv/bin/python -m training.train_predictor --out predictor.npz

Each example is what the tracker holds when a frame is missed: the last ``WINDOW`` frames up to
the newest detection, with 0-30 mm of noise per coordinate and bursts of missed frames filled
linearly (as the tracker fills them), and the clean next ``HORIZON`` frames to forecast. The
motions are mirrored too, and moved onto other skeletons (bones rescaled). The loss is the mean
joint distance, each future frame weighted by how often a burst of 1-8 missed frames asks for
it. Torch on the CPU (2 threads, a few minutes);
the weights are written for numpy inference. Seeded: the same data gives the same weights.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from pose_service.skeleton import SMPL_PARENTS
from pose_service.tracking.learned_prediction import (
    LearnedPredictor,
    dct_basis,
    fill_gaps,
    mirrored,
)

from .mocap import DEFAULT_DIR, Motion, load_motions

WINDOW = 20  # past frames the network sees (0.67 s at 30 frames/s)
COEFFICIENTS = 8  # DCT coefficients kept of the past offsets
HORIZON = 8  # future frames forecast: the longest burst the evaluation hides
HIDDEN = 96  # two hidden layers: 0.12M parameters
MAX_NOISE_M = 0.03  # per-coordinate noise of the inputs, drawn per example in [0, this]
MAX_BURSTS = 3  # missed bursts inside an input window, each 1-8 frames
# Skeletons differ (the capture's Character Creator rig, SMPL from HMR2, MediaPipe mapped onto
# SMPL): each example's body is scaled by this much overall and each bone by as much again.
BODY_SCALE, BONE_SCALE = 0.15, 0.15
EPOCHS = 15
BATCH = 256
SEED = 0


def examples(motions: list[Motion]) -> tuple[np.ndarray, np.ndarray]:
    """Every (past window, future) pair of the motions and their mirror images."""
    past, future = [], []
    for motion in motions:
        for joints in (motion.joints, mirrored(motion.joints)):
            count = len(joints) - WINDOW - HORIZON + 1
            if count <= 0:
                continue
            idx = np.arange(count)[:, None]
            past.append(joints[idx + np.arange(WINDOW)])
            future.append(joints[idx + WINDOW + np.arange(HORIZON)])
    return np.concatenate(past).astype(np.float32), np.concatenate(future).astype(np.float32)


def rescaled(
    past: np.ndarray, future: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The same motions on other skeletons: every bone (joint minus its parent) scaled by a
    factor drawn per example, the body as a whole and each bone on top."""
    body = rng.uniform(1 - BODY_SCALE, 1 + BODY_SCALE, (len(past), 1))
    bones = body * rng.uniform(1 - BONE_SCALE, 1 + BONE_SCALE, (len(past), 24))
    bones = bones.astype(np.float32)[:, None, :, None]
    out = []
    for joints in (past, future):
        new = np.zeros_like(joints)
        for child, parent in enumerate(SMPL_PARENTS):
            if parent >= 0:
                bone = joints[:, :, child] - joints[:, :, parent]
                new[:, :, child] = new[:, :, parent] + bones[:, :, child] * bone
        out.append(new)
    return out[0], out[1]


def degraded(past: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What the tracker would hold: noisy detections (pelvis exactly 0), bursts missed and
    filled, sometimes a track younger than the window (its start held)."""
    B = len(past)
    sigma = rng.uniform(0.0, MAX_NOISE_M, (B, 1, 1, 1)).astype(np.float32)
    noisy = past + rng.standard_normal(past.shape, dtype=np.float32) * sigma
    noisy[:, :, 0] = 0.0
    frames = np.arange(WINDOW)
    observed = np.ones((B, WINDOW), dtype=bool)
    for _ in range(MAX_BURSTS):
        start = rng.integers(0, WINDOW - 1, (B, 1))
        length = rng.integers(1, 9, (B, 1))
        use = rng.random((B, 1)) < 0.6
        observed &= ~(use & (frames >= start) & (frames < start + length))
    young = rng.random(B) < 0.1
    first = rng.integers(0, WINDOW - 1, B)
    observed &= ~(young[:, None] & (frames < first[:, None]))
    observed[:, -1] = True  # the newest frame of the window is the last detection
    return fill_gaps(noisy, observed)


def horizon_weights() -> np.ndarray:
    """How often a missed frame is k frames after its last detection, bursts of 1-8 equally
    likely: (9 - k) / 36."""
    k = np.arange(1, HORIZON + 1)
    return (9 - k) / (9 - k).sum()


class Network(torch.nn.Module):
    def __init__(self, inputs: int, outputs: int) -> None:
        super().__init__()
        self.layers = torch.nn.ModuleList(
            [
                torch.nn.Linear(inputs, HIDDEN),
                torch.nn.Linear(HIDDEN, HIDDEN),
                torch.nn.Linear(HIDDEN, outputs),
            ]
        )
        torch.nn.init.zeros_(self.layers[-1].weight)  # starts as "hold the newest frame"
        torch.nn.init.zeros_(self.layers[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        return self.layers[-1](x)


def _shell(mean: np.ndarray, std: np.ndarray, posture: bool) -> LearnedPredictor:
    """The predictor's feature code with no layers yet (for the inputs and targets)."""
    basis = dct_basis(WINDOW, COEFFICIENTS)
    return LearnedPredictor(WINDOW, HORIZON, basis, mean, std, (), posture)


def _targets(shell: LearnedPredictor, windows: np.ndarray, future: np.ndarray, axes: np.ndarray):
    newest = np.einsum("bij,bkj->bki", axes, windows[:, -1])
    body = np.einsum("bij,btkj->btki", axes, future)
    return (body - newest[:, None]).reshape(len(future), -1)


def _batch(shell, past, future, rng):
    past, future = rescaled(past, future, rng)
    windows = degraded(past, rng)
    inputs, axes = shell.features(windows)
    return inputs, _targets(shell, windows, future, axes)


def _loss(net, inputs, targets, weights) -> torch.Tensor:
    pred = net(inputs).reshape(len(inputs), HORIZON, -1, 3)
    dist = torch.linalg.norm(pred - targets.reshape(pred.shape), dim=-1).mean(-1)
    return (dist * weights).sum(-1).mean()


def train(
    motions: list[Motion], epochs: int, log=print, posture: bool = False
) -> tuple[dict[str, np.ndarray], dict]:
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    rng = np.random.default_rng(SEED)
    train_past, train_future = examples([m for m in motions if m.split == "train"])
    val_past, val_future = examples([m for m in motions if m.split == "validation"])
    shell = _shell(np.zeros(1), np.ones(1), posture)
    probe, _ = _batch(shell, train_past, train_future, rng)
    mean, std = probe.mean(0), probe.std(0) + 1e-3
    shell = _shell(mean, std, posture)
    weights = torch.tensor(horizon_weights(), dtype=torch.float32)
    val_in, val_out = _batch(shell, val_past, val_future, np.random.default_rng(SEED + 1))
    val_in = torch.tensor((val_in - mean) / std, dtype=torch.float32)
    val_out = torch.tensor(val_out, dtype=torch.float32)
    net = Network(probe.shape[1], HORIZON * 72)
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-3)
    steps = epochs * (len(train_past) // BATCH)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps, eta_min=1e-5)
    log(f"{len(train_past)} training windows, {len(val_past)} validation windows, "
        f"{sum(p.numel() for p in net.parameters())} parameters")  # fmt: skip
    best: tuple[float, dict[str, np.ndarray]] = (np.inf, {})
    history = []
    for epoch in range(epochs):
        start = time.perf_counter()
        inputs, targets = _batch(shell, train_past, train_future, rng)
        inputs = torch.tensor((inputs - mean) / std, dtype=torch.float32)
        targets = torch.tensor(targets, dtype=torch.float32)
        order = torch.randperm(len(inputs))
        net.train()
        for first in range(0, len(order) - BATCH + 1, BATCH):
            pick = order[first : first + BATCH]
            loss = _loss(net, inputs[pick], targets[pick], weights)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
        net.eval()
        with torch.no_grad():
            val = float(_loss(net, val_in, val_out, weights)) * 1000.0
        history.append(val)
        if val < best[0]:
            best = (val, {k: v.detach().numpy().copy() for k, v in net.state_dict().items()})
        log(f"epoch {epoch + 1:>3}: validation {val:.2f} mm ({time.perf_counter() - start:.1f} s)")
    state = best[1]
    arrays = {
        "window": np.array(WINDOW),
        "horizon": np.array(HORIZON),
        "coefficients": np.array(COEFFICIENTS),
        "mean": mean.astype(np.float32),
        "std": std.astype(np.float32),
        "layers": np.array(3),
        "posture": np.array(posture),
    }
    for i in range(3):  # float16 on disk: half the size, forecasts moved by < 0.3 mm
        arrays[f"w{i}"] = state[f"layers.{i}.weight"].T.astype(np.float16)
        arrays[f"b{i}"] = state[f"layers.{i}.bias"].astype(np.float16)
    return arrays, {"validation_mm": history, "best_validation_mm": best[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DIR, help="the BVH files")
    parser.add_argument("--out", type=Path, required=True, help="where to write the .npz")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument(
        "--posture", action="store_true", help="the newest pose as an input too (not shipped)"
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    arrays, summary = train(load_motions(args.data), args.epochs, posture=args.posture)
    np.savez_compressed(args.out, **arrays)
    print(f"best validation {summary['best_validation_mm']:.2f} mm (weighted joint distance); "
          f"{args.out} written in {time.perf_counter() - start:.0f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
