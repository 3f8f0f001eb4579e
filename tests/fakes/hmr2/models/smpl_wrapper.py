"""Fake of ``hmr2.models.smpl_wrapper`` (4D-Humans ``hmr2/models/smpl_wrapper.py``).

As upstream, ``SMPL`` subclasses ``smplx.SMPLLayer`` and overrides ``forward``: the joints are
re-indexed into OpenPose BODY_25 order with ``joint_map`` and 19 extra joints are regressed from
the vertices, so ``joints`` is (B, 44, 3) and its first 24 rows are NOT the SMPL skeleton.
"""

from __future__ import annotations

import numpy as np
import smplx
import torch

SMPL_TO_OPENPOSE = [24, 12, 17, 19, 21, 16, 18, 20, 0, 2, 5, 8, 1, 4,
                    7, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34]  # fmt: skip


class SMPL(smplx.SMPLLayer):
    def __init__(self, *args: object, joint_regressor_extra: str | None = None,
                 update_hips: bool = False, **kwargs: object) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        rng = np.random.default_rng(11)
        extra = rng.random((19, smplx.NUM_VERTICES))
        extra /= extra.sum(axis=1, keepdims=True)
        self.register_buffer("joint_regressor_extra", torch.tensor(extra, dtype=torch.float32))
        self.register_buffer("joint_map", torch.tensor(SMPL_TO_OPENPOSE, dtype=torch.long))
        self.update_hips = update_hips

    def forward(self, *args: object, **kwargs: object) -> smplx.SMPLOutput:
        smpl_output = super().forward(*args, **kwargs)
        joints = smpl_output.joints[:, self.joint_map, :]
        extra = torch.einsum("jv,nvc->njc", self.joint_regressor_extra, smpl_output.vertices)
        smpl_output.joints = torch.cat([joints, extra], dim=1)
        return smpl_output
