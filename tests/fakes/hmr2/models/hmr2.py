"""Fake of ``hmr2.models.hmr2`` (4D-Humans ``hmr2/models/hmr2.py``): the ``HMR2`` module.

Mirrors ``HMR2(cfg, init_renderer=True)`` (the renderers are built only when asked),
Lightning's ``load_from_checkpoint(checkpoint_path, map_location=None, hparams_file=None,
strict=None, weights_only=None, **kwargs)`` (kwargs go to ``__init__``), torch >= 2.6's refusal
to unpickle the checkpoint with ``weights_only`` left on, and ``forward(batch)``'s output: keys
``pred_cam`` (B,3), ``pred_smpl_params`` {``global_orient`` (B,1,3,3), ``body_pose``
(B,23,3,3), ``betas`` (B,10)}, ``pred_cam_t`` (B,3), ``focal_length`` (B,2),
``pred_keypoints_3d`` (B,44,3), ``pred_vertices`` (B,6890,3), ``pred_keypoints_2d`` (B,44,2).
The "network" is a deterministic function of the crop, not a model.
"""

from __future__ import annotations

import os
import pickle
from typing import Any

import torch
from torch import nn

from .. import _fake
from .smpl_wrapper import SMPL


def _rot(axis: int, angle: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(angle), torch.sin(angle)
    one, zero = torch.ones_like(angle), torch.zeros_like(angle)
    if axis == 0:
        rows = [[one, zero, zero], [zero, c, -s], [zero, s, c]]
    elif axis == 1:
        rows = [[c, zero, s], [zero, one, zero], [-s, zero, c]]
    else:
        rows = [[c, -s, zero], [s, c, zero], [zero, zero, one]]
    return torch.stack([torch.stack(r, dim=-1) for r in rows], dim=-2)


class SkeletonRenderer:
    def __init__(self, cfg: Any) -> None:
        _fake.RENDERERS_BUILT.append("SkeletonRenderer")


class MeshRenderer:
    def __init__(self, cfg: Any, faces: Any = None) -> None:
        _fake.RENDERERS_BUILT.append("MeshRenderer")


class HMR2(nn.Module):
    def __init__(self, cfg: Any, init_renderer: bool = True) -> None:
        super().__init__()
        self.cfg = cfg
        smpl_cfg = {k.lower(): v for k, v in dict(cfg.SMPL).items()}
        self.smpl = SMPL(**smpl_cfg)
        self.register_buffer("initialized", torch.tensor(False))
        if init_renderer:
            self.renderer = SkeletonRenderer(self.cfg)
            self.mesh_renderer = MeshRenderer(self.cfg, faces=self.smpl.faces)
        else:
            self.renderer = None
            self.mesh_renderer = None

    @classmethod
    def load_from_checkpoint(
        cls,
        checkpoint_path: str,
        map_location: Any = None,
        hparams_file: str | None = None,
        strict: bool | None = None,
        weights_only: bool | None = None,
        **kwargs: Any,
    ) -> HMR2:
        _fake.LOAD_CALLS.append(
            {"checkpoint_path": checkpoint_path, "map_location": map_location,
             "strict": strict, "weights_only": weights_only, **kwargs}
        )  # fmt: skip
        with open(checkpoint_path, "rb"):
            pass
        if weights_only is None:  # torch >= 2.6 default, unless the operator forced it off
            weights_only = os.environ.get("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "0") != "1"
        if weights_only:
            raise pickle.UnpicklingError(
                "Weights only load failed. ... Unsupported global: yacs.config.CfgNode"
            )
        return cls(**{k: v for k, v in kwargs.items() if k in ("cfg", "init_renderer")})

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        x = batch["img"]
        if _fake.FORWARD_HOOK is not None:
            _fake.FORWARD_HOOK(batch)
        assert x.ndim == 4 and x.shape[1:] == (3, 256, 256), x.shape
        assert x.dtype == torch.float32, x.dtype
        _fake.FORWARD_BATCHES.append(x.detach().clone())
        n = x.shape[0]
        feature = x[:, :, :, 32:-32].mean(dim=(1, 2, 3))  # the ViT sees the 192 central columns
        # Each sample's output depends on its own crop only, as the real network's in eval mode
        # (no batch statistics): a crop gives the same answer in any batch, at any position.
        index = torch.remainder(feature.abs() * 7.0, 3.0)
        global_orient = _rot(0, torch.full((n,), torch.pi)) @ _rot(1, 0.3 * index + 0.1)
        joint_angles = (
            0.05 * torch.arange(1, 24, dtype=torch.float32)[None] + 0.01 * feature[:, None]
        )
        body_pose = _rot(2, joint_angles) @ _rot(0, 0.5 * joint_angles)
        betas = 0.1 * torch.ones(n, 10) + 0.01 * index[:, None]
        if _fake.PRED_CAM is not None:
            pred_cam = torch.tensor(_fake.PRED_CAM, dtype=torch.float32).expand(n, 3).clone()
        else:
            pred_cam = torch.stack([0.8 + 0.1 * index, 0.02 + 0 * index, -0.05 + 0 * index], -1)
        pred_smpl_params = {
            "global_orient": global_orient.reshape(n, 1, 3, 3),
            "body_pose": body_pose.reshape(n, 23, 3, 3),
            "betas": betas,
        }
        focal = self.cfg.EXTRA.FOCAL_LENGTH * torch.ones(n, 2)
        pred_cam_t = torch.stack(
            [pred_cam[:, 1], pred_cam[:, 2],
             2 * focal[:, 0] / (self.cfg.MODEL.IMAGE_SIZE * pred_cam[:, 0] + 1e-9)], dim=-1
        )  # fmt: skip
        smpl_output = self.smpl(**{k: v.float() for k, v in pred_smpl_params.items()},
                                pose2rot=False)  # fmt: skip
        keypoints_3d = smpl_output.joints.reshape(n, -1, 3)
        cam = keypoints_3d + pred_cam_t[:, None]
        keypoints_2d = focal[:, None] / self.cfg.MODEL.IMAGE_SIZE * cam[..., :2] / cam[..., 2:]
        out = {
            "pred_cam": pred_cam,
            "pred_smpl_params": {k: v.clone() for k, v in pred_smpl_params.items()},
            "pred_cam_t": pred_cam_t,
            "focal_length": focal,
            "pred_keypoints_3d": keypoints_3d,
            "pred_vertices": smpl_output.vertices.reshape(n, -1, 3),
            "pred_keypoints_2d": keypoints_2d,
        }
        _fake.FORWARD_OUTPUTS.append(out)
        return out
