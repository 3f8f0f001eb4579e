"""Fake of ``hmr2.configs`` (4D-Humans ``hmr2/configs/__init__.py``).

``CACHE_DIR_4DHUMANS`` is derived from HOME at import time, as upstream. ``get_config`` reads
nothing but requires the file (yacs' ``merge_from_file`` opens it) and returns the values of
the released HMR2.0b ``model_config.yaml`` that inference uses; like upstream, it has no
``MODEL.BBOX_SHAPE`` (``load_hmr2`` adds it).
"""

from __future__ import annotations

import os
from typing import Any

CACHE_DIR = os.path.join(os.environ.get("HOME"), ".cache")
CACHE_DIR_4DHUMANS = os.path.join(CACHE_DIR, "4DHumans")


class CfgNode(dict):
    """Fake of ``yacs.config.CfgNode``: attribute access, freeze/defrost."""

    def __init__(self, values: dict[str, Any] | None = None) -> None:
        super().__init__()
        object.__setattr__(self, "_frozen", False)
        for key, value in (values or {}).items():
            self[key] = CfgNode(value) if isinstance(value, dict) else value

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    def __setattr__(self, name: str, value: Any) -> None:
        if self._frozen:
            raise AttributeError(f"Attempted to set {name} to {value}, but CfgNode is immutable")
        self[name] = value

    def freeze(self) -> None:
        self._set_frozen(True)

    def defrost(self) -> None:
        self._set_frozen(False)

    def _set_frozen(self, frozen: bool) -> None:
        object.__setattr__(self, "_frozen", frozen)
        for value in self.values():
            if isinstance(value, CfgNode):
                value._set_frozen(frozen)


def get_config(config_file: str, merge: bool = True, update_cachedir: bool = False) -> CfgNode:
    with open(config_file):  # yacs opens the file; a missing one raises FileNotFoundError
        pass
    cfg = CfgNode(
        {
            "MODEL": {
                "IMAGE_SIZE": 256,
                "IMAGE_MEAN": [0.485, 0.456, 0.406],
                "IMAGE_STD": [0.229, 0.224, 0.225],
                "BACKBONE": {"TYPE": "vit"},
            },
            "EXTRA": {"FOCAL_LENGTH": 5000},
            "SMPL": {
                "MODEL_PATH": "data/smpl",
                "GENDER": "neutral",
                "NUM_BODY_JOINTS": 23,
                "JOINT_REGRESSOR_EXTRA": "data/SMPL_to_J19.pkl",
                "MEAN_PARAMS": "data/smpl_mean_params.npz",
            },
        }
    )
    if update_cachedir:
        for key in ("MODEL_PATH", "JOINT_REGRESSOR_EXTRA", "MEAN_PARAMS"):
            cfg.SMPL[key] = os.path.join(CACHE_DIR_4DHUMANS, cfg.SMPL[key])
    cfg.freeze()
    return cfg
