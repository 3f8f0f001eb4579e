"""Fake of ``hmr2.models`` (4D-Humans ``hmr2/models/__init__.py``).

Same names: ``SMPL``, ``HMR2``, ``download_models``, ``check_smpl_exists``,
``DEFAULT_CHECKPOINT``, ``load_hmr2(checkpoint_path)``. As upstream, ``load_hmr2`` has no
renderer flag and builds the renderer; ``download_models`` is recorded and refused here.
"""

from __future__ import annotations

import os

from .. import _fake
from ..configs import CACHE_DIR_4DHUMANS
from .hmr2 import HMR2
from .smpl_wrapper import SMPL

__all__ = ["HMR2", "SMPL", "DEFAULT_CHECKPOINT", "check_smpl_exists", "load_hmr2"]

DEFAULT_CHECKPOINT = (
    f"{CACHE_DIR_4DHUMANS}/logs/train/multiruns/hmr2/0/checkpoints/epoch=35-step=1000000.ckpt"
)


def download_models(folder: str = CACHE_DIR_4DHUMANS) -> None:
    _fake.DOWNLOADS.append(folder)
    raise AssertionError("the service must never call download_models")


def check_smpl_exists() -> bool:
    path = f"{CACHE_DIR_4DHUMANS}/data/smpl/SMPL_NEUTRAL.pkl"
    if not os.path.exists(path):
        raise FileNotFoundError(f"SMPL model not found. Please download it ... {path}")
    return True


def load_hmr2(checkpoint_path: str = DEFAULT_CHECKPOINT) -> tuple[HMR2, object]:
    from pathlib import Path

    from ..configs import get_config

    _fake.LOAD_HMR2_CALLS.append(checkpoint_path)
    cfg = get_config(str(Path(checkpoint_path).parent.parent / "model_config.yaml"), True, True)
    cfg.defrost()
    cfg.MODEL.BBOX_SHAPE = [192, 256]
    cfg.freeze()
    check_smpl_exists()
    return HMR2.load_from_checkpoint(checkpoint_path, strict=False, cfg=cfg), cfg
