"""Test controls and call records for the fake ``detectron2`` (no real counterpart)."""

from __future__ import annotations

from typing import Any

# What the detector "sees" in the next frames: (x0, y0, x1, y1, score, class) in input pixels.
DETECTIONS: list[tuple[float, float, float, float, float, int]] = []
CONFIGS: list[Any] = []  # every LazyConfig.load result
CHECKPOINTS: list[str] = []  # every DetectionCheckpointer.load path
CALLS: list[list[dict[str, Any]]] = []  # every detector call's inputs


def reset() -> None:
    for record in (DETECTIONS, CONFIGS, CHECKPOINTS, CALLS):
        record.clear()
