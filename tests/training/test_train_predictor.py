"""The training script: its data split, its augmentations, and weights the service can load."""

from __future__ import annotations

import numpy as np
import pytest

from pose_service.skeleton import SMPL_PARENTS
from pose_service.tracking.learned_prediction import LearnedPredictor
from tests.support.motion import walking_sequence
from training import mocap
from training import train_predictor as tp


def test_the_split_is_by_file_and_every_split_has_motions_of_several_subjects():
    names = sorted(mocap.source()["files"])
    splits = {name: mocap.split_of(name) for name in names}
    for split in mocap.SPLITS:
        subjects = {name[:3] for name, s in splits.items() if s == split}
        assert len(subjects) >= 3, split
    assert not any("131" in name for name in names)  # the evaluation's subject is not here


def test_bursts_leave_the_newest_frame_observed_and_noise_keeps_the_pelvis_at_zero():
    rng = np.random.default_rng(0)
    past = np.repeat(walking_sequence(tp.WINDOW)["joints_3d"][None], 64, axis=0)
    windows = tp.degraded(past.astype(np.float32), rng)
    assert np.all(windows[:, :, 0] == 0.0)
    assert np.abs(windows[:, -1] - past[:, -1]).max() < 0.2  # the detection, noisy


def test_other_skeletons_scale_each_bone_and_keep_its_direction():
    rng = np.random.default_rng(1)
    joints = walking_sequence(tp.WINDOW + tp.HORIZON)["joints_3d"].astype(np.float32)
    past, future = tp.rescaled(joints[None, : tp.WINDOW], joints[None, tp.WINDOW :], rng)
    for child, parent in enumerate(SMPL_PARENTS[1:], start=1):
        old = joints[: tp.WINDOW, child] - joints[: tp.WINDOW, parent]
        new = past[0, :, child] - past[0, :, parent]
        ratio = np.linalg.norm(new, axis=-1) / np.linalg.norm(old, axis=-1)
        assert np.allclose(ratio, ratio[0], atol=1e-4)  # one factor per bone, all frames
        cosine = (old * new).sum(-1) / np.linalg.norm(old, axis=-1) / np.linalg.norm(new, axis=-1)
        assert np.all(cosine > 0.9999)
    assert future.shape == (1, tp.HORIZON, 24, 3)


def test_one_epoch_writes_weights_the_service_loads(tmp_path):
    pytest.importorskip("torch")
    motion = walking_sequence(120)["joints_3d"]
    motions = [
        mocap.Motion("a/0", "train", motion),
        mocap.Motion("b/0", "validation", motion[::-1].copy()),
    ]
    arrays, summary = tp.train(motions, epochs=1, log=lambda line: None)
    path = tmp_path / "weights.npz"
    np.savez_compressed(path, **arrays)
    predictor = LearnedPredictor.load(path)
    assert predictor.window == tp.WINDOW and predictor.horizon == tp.HORIZON
    assert len(summary["validation_mm"]) == 1
    future = predictor.predict(motion[None, : tp.WINDOW].astype(np.float64))
    assert future.shape == (1, tp.HORIZON, 24, 3) and np.isfinite(future).all()
