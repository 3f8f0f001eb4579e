"""Fake of ``smplx`` (vchoutas/smplx 0.1.28, ``smplx/body_models.py``): ``SMPLLayer`` only.

Like the real layer, ``forward`` takes rotation matrices (``global_orient`` (B,1,3,3),
``body_pose`` (B,23,3,3), ``betas`` (B,10)), poses the template by forward kinematics and
skinning, and returns an ``SMPLOutput`` whose ``joints`` are the 24 kinematic SMPL joints
followed by 11 joints picked from vertices (nose, eyes, ears, toes, heels): (B, 35, 3).
The body itself is a random but fixed toy: only shapes and the joint semantics are real.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

NUM_VERTICES = 6890
NUM_FACES = 13776
SMPL_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]
# smplx's VertexJointSelector for SMPL: nose, reye, leye, rear, lear, then 6 foot vertices.
EXTRA_VERTEX_IDS = [332, 6260, 2800, 4071, 583, 3216, 3226, 3387, 6617, 6624, 6787]


@dataclass
class SMPLOutput:
    """Fake of ``smplx.utils.SMPLOutput`` (the fields HMR2 reads)."""

    vertices: torch.Tensor | None = None
    joints: torch.Tensor | None = None
    betas: torch.Tensor | None = None
    global_orient: torch.Tensor | None = None
    body_pose: torch.Tensor | None = None
    full_pose: torch.Tensor | None = None


class SMPLLayer(nn.Module):
    """Fake of ``smplx.SMPLLayer``."""

    NUM_JOINTS = 23
    NUM_BODY_JOINTS = 23

    def __init__(self, *args: object, num_betas: int = 10, **kwargs: object) -> None:
        super().__init__()
        rng = np.random.default_rng(7)
        template = rng.normal(0.0, 0.15, (NUM_VERTICES, 3)) * np.array([0.6, 2.5, 0.3])
        regressor = np.zeros((24, NUM_VERTICES))
        for j in range(24):
            regressor[j, rng.choice(NUM_VERTICES, 12, replace=False)] = 1.0 / 12
        self.num_betas = num_betas
        self.register_buffer("v_template", torch.tensor(template, dtype=torch.float32))
        self.register_buffer("J_regressor", torch.tensor(regressor, dtype=torch.float32))
        self.register_buffer(
            "shapedirs",
            torch.tensor(rng.normal(0, 0.01, (NUM_VERTICES, 3, num_betas)), dtype=torch.float32),
        )
        joints = regressor @ template
        nearest = np.argmin(((template[:, None, :] - joints[None]) ** 2).sum(-1), axis=1)
        self.register_buffer("vertex_joint", torch.tensor(nearest, dtype=torch.long))
        self.faces = rng.integers(0, NUM_VERTICES, (NUM_FACES, 3)).astype(np.uint32)
        self.register_buffer("faces_tensor", torch.tensor(self.faces.astype(np.int64)))

    def forward(
        self,
        betas: torch.Tensor | None = None,
        body_pose: torch.Tensor | None = None,
        global_orient: torch.Tensor | None = None,
        transl: torch.Tensor | None = None,
        return_verts: bool = True,
        return_full_pose: bool = False,
        pose2rot: bool = True,
        **kwargs: object,
    ) -> SMPLOutput:
        batch = max(len(v) for v in (betas, body_pose, global_orient) if v is not None)
        dtype = self.shapedirs.dtype
        if global_orient is None:
            global_orient = torch.eye(3, dtype=dtype).expand(batch, 1, 3, 3)
        if body_pose is None:
            body_pose = torch.eye(3, dtype=dtype).expand(batch, 23, 3, 3)
        if betas is None:
            betas = torch.zeros(batch, self.num_betas, dtype=dtype)
        full_pose = torch.cat(
            [global_orient.reshape(-1, 1, 3, 3), body_pose.reshape(-1, 23, 3, 3)], dim=1
        )
        v_shaped = self.v_template + torch.einsum("vcb,nb->nvc", self.shapedirs, betas)
        rest = torch.einsum("jv,nvc->njc", self.J_regressor, v_shaped)
        rots, posed = [], []
        for j, parent in enumerate(SMPL_PARENTS):
            if parent < 0:
                rots.append(full_pose[:, 0])
                posed.append(rest[:, 0])
            else:
                rots.append(rots[parent] @ full_pose[:, j])
                offset = (rest[:, j] - rest[:, parent]).unsqueeze(-1)
                posed.append(posed[parent] + (rots[parent] @ offset).squeeze(-1))
        world_rot = torch.stack(rots, dim=1)
        joints = torch.stack(posed, dim=1)  # the kinematic joints (lbs' J_transformed)
        k = self.vertex_joint
        local = (v_shaped - rest[:, k]).unsqueeze(-1)
        vertices = (world_rot[:, k] @ local).squeeze(-1) + joints[:, k]
        joints = torch.cat([joints, vertices[:, EXTRA_VERTEX_IDS]], dim=1)
        if transl is not None:
            joints = joints + transl.unsqueeze(1)
            vertices = vertices + transl.unsqueeze(1)
        return SMPLOutput(
            vertices=vertices if return_verts else None,
            joints=joints,
            betas=betas,
            global_orient=global_orient,
            body_pose=body_pose,
            full_pose=full_pose if return_full_pose else None,
        )
