"""Fake of ``detectron2.checkpoint`` (``detectron2/checkpoint/detection_checkpoint.py``).

``DetectionCheckpointer(model).load(path)``: a URL would be fetched through iopath (a download
when not cached), so the fake refuses any URL; a local file must exist, as fvcore asserts.
"""

from __future__ import annotations

import os
from typing import Any

from .. import _fake


class DetectionCheckpointer:
    def __init__(self, model: Any, save_dir: str = "", *, save_to_disk: Any = None,
                 **checkpointables: Any) -> None:  # fmt: skip
        self.model = model

    def load(self, path: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if "://" in path:
            raise AssertionError(f"would resolve (and maybe download) a URL: {path}")
        assert os.path.isfile(path), f"Checkpoint {path} not found!"
        _fake.CHECKPOINTS.append(path)
        self.model.loaded_from = path
        return {}
