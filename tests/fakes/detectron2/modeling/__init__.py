"""Stand-in for the ``detectron2.modeling.GeneralizedRCNN`` that ``instantiate(cfg.model)``
builds from the ViTDet LazyConfig. As upstream, ``model(list_of_dicts)`` takes
``{"image": (3, h, w) float32 tensor, "height": H, "width": W}`` and returns
``[{"instances": Instances}]`` with ``pred_boxes`` (Boxes, x0 y0 x1 y1 in H x W pixels),
``scores`` (float32) and ``pred_classes`` (int64), scores sorted high to low.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .. import _fake
from ..structures import Boxes, Instances


class GeneralizedRCNN(nn.Module):
    def __init__(self, cfg: Any) -> None:
        super().__init__()
        self.register_buffer("pixel_mean", torch.zeros(3, 1, 1))
        self.loaded_from: str | None = None
        self.score_thresholds = [p.test_score_thresh for p in cfg.roi_heads.box_predictors]

    @property
    def device(self) -> torch.device:
        return self.pixel_mean.device

    def forward(self, batched_inputs: list[dict[str, Any]]) -> list[dict[str, Instances]]:
        assert self.loaded_from is not None, "weights were never loaded"
        _fake.CALLS.append(batched_inputs)
        outputs = []
        for item in batched_inputs:
            image = item["image"]
            assert image.dtype == torch.float32 and image.shape[0] == 3
            height, width = item["height"], item["width"]
            dets = sorted(
                (d for d in _fake.DETECTIONS if d[4] >= min(self.score_thresholds)),
                key=lambda d: -d[4],
            )
            boxes = torch.tensor([d[:4] for d in dets], dtype=torch.float32).reshape(-1, 4)
            instances = Instances(
                (height, width),
                pred_boxes=Boxes(boxes.to(self.device)),
                scores=torch.tensor([d[4] for d in dets], dtype=torch.float32),
                pred_classes=torch.tensor([d[5] for d in dets], dtype=torch.int64),
            )
            outputs.append({"instances": instances})
        return outputs
