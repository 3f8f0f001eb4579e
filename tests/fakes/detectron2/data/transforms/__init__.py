"""Fake of ``detectron2.data.transforms`` (``augmentation.py``, ``augmentation_impl.py``).

As upstream, calling an augmentation (list) on an ``AugInput`` returns the transform, whose
``apply_image`` resizes an (H, W, C) array; ``ResizeShortestEdge`` scales the short side to
``short_edge_length`` unless the long side would pass ``max_size``.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class AugInput:
    def __init__(self, image: np.ndarray, *, boxes: Any = None, sem_seg: Any = None) -> None:
        self.image = image


class ResizeTransform:
    def __init__(self, h: int, w: int, new_h: int, new_w: int) -> None:
        self.h, self.w, self.new_h, self.new_w = h, w, new_h, new_w

    def apply_image(self, img: np.ndarray) -> np.ndarray:
        assert img.shape[:2] == (self.h, self.w)
        rows = (np.arange(self.new_h) * self.h / self.new_h).astype(int)
        cols = (np.arange(self.new_w) * self.w / self.new_w).astype(int)
        return img[rows][:, cols]


class ResizeShortestEdge:
    def __init__(self, short_edge_length: int, max_size: int = 10**9) -> None:
        self.short_edge_length, self.max_size = short_edge_length, max_size

    def __call__(self, aug_input: AugInput) -> ResizeTransform:
        h, w = aug_input.image.shape[:2]
        scale = self.short_edge_length / min(h, w)
        scale = min(scale, self.max_size / max(h, w))
        tfm = ResizeTransform(h, w, int(h * scale + 0.5), int(w * scale + 0.5))
        aug_input.image = tfm.apply_image(aug_input.image)
        return tfm


class AugmentationList:
    def __init__(self, augs: list[Any]) -> None:
        self.augs = augs

    def __call__(self, aug_input: AugInput) -> Any:
        tfms = [aug(aug_input) for aug in self.augs]
        return tfms[0] if len(tfms) == 1 else _TransformList(tfms)


class _TransformList:
    def __init__(self, tfms: list[Any]) -> None:
        self.tfms = tfms

    def apply_image(self, img: np.ndarray) -> np.ndarray:
        for t in self.tfms:
            img = t.apply_image(img)
        return img
