"""Fake of ``detectron2.config`` (``detectron2/config/lazy.py``, ``instantiate.py``).

``LazyConfig.load(path)`` returns the parts of ``cascade_mask_rcnn_vitdet_h_75ep.py`` that the
estimator reads or writes: ``train.init_checkpoint`` (the MAE backbone URL until overridden),
``model.roi_heads.box_predictors`` (3 cascade stages, ``test_score_thresh`` 0.05) and
``dataloader.test.mapper`` (a ``DatasetMapper`` config: ``ResizeShortestEdge(1024, 1024)``,
``image_format`` "RGB"). ``instantiate`` builds the object a config's ``_target_`` names.
"""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

from .. import _fake


class LazyConfig:
    @staticmethod
    def load(filename: str, keys: Any = None) -> SimpleNamespace:
        if not os.path.isfile(filename):
            raise FileNotFoundError(filename)
        cfg = SimpleNamespace(
            train=SimpleNamespace(
                init_checkpoint="detectron2://ImageNetPretrained/MAE/mae_pretrain_vit_huge_p14to16.pth"
            ),
            model=SimpleNamespace(
                _target_="GeneralizedRCNN",
                roi_heads=SimpleNamespace(
                    box_predictors=[SimpleNamespace(test_score_thresh=0.05) for _ in range(3)]
                ),
            ),
            dataloader=SimpleNamespace(
                test=SimpleNamespace(
                    mapper=SimpleNamespace(
                        _target_="DatasetMapper",
                        is_train=False,
                        augmentations=[
                            SimpleNamespace(
                                _target_="ResizeShortestEdge", short_edge_length=1024, max_size=1024
                            )
                        ],
                        image_format="RGB",
                    )
                )
            ),
        )
        _fake.CONFIGS.append(cfg)
        return cfg


def instantiate(cfg: Any) -> Any:
    from ..data import transforms as T
    from ..modeling import GeneralizedRCNN

    target = cfg._target_
    if target == "GeneralizedRCNN":
        return GeneralizedRCNN(cfg)
    if target == "DatasetMapper":
        augs = [T.ResizeShortestEdge(a.short_edge_length, a.max_size) for a in cfg.augmentations]
        return SimpleNamespace(
            is_train=cfg.is_train,
            augmentations=T.AugmentationList(augs),
            image_format=cfg.image_format,
        )
    raise ValueError(f"fake instantiate cannot build {target}")
