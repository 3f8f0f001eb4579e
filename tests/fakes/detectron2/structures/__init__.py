"""Fake of ``detectron2.structures`` (``boxes.py``, ``instances.py``): ``Boxes``, ``Instances``."""

from __future__ import annotations

from typing import Any

import torch


class Boxes:
    def __init__(self, tensor: torch.Tensor) -> None:
        self.tensor = tensor.reshape(-1, 4)

    def to(self, device: Any) -> Boxes:
        return Boxes(self.tensor.to(device))

    def __len__(self) -> int:
        return self.tensor.shape[0]


class Instances:
    def __init__(self, image_size: tuple[int, int], **kwargs: Any) -> None:
        self._image_size = image_size
        self._fields: dict[str, Any] = dict(kwargs)

    @property
    def image_size(self) -> tuple[int, int]:
        return self._image_size

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._fields[name]
        except KeyError as exc:
            raise AttributeError(f"Cannot find field '{name}' in the given Instances!") from exc

    def set(self, name: str, value: Any) -> None:
        self._fields[name] = value

    def to(self, device: Any) -> Instances:
        return Instances(self._image_size, **{k: v.to(device) for k, v in self._fields.items()})

    def __len__(self) -> int:
        for value in self._fields.values():
            return len(value)
        return 0
