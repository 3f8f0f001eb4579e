"""Test controls and call records for the fake ``hmr2`` (no real counterpart)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

LOAD_CALLS: list[dict[str, Any]] = []  # kwargs of every HMR2.load_from_checkpoint call
LOAD_HMR2_CALLS: list[str] = []  # hmr2.models.load_hmr2 calls (builds a renderer)
DOWNLOADS: list[str] = []  # hmr2.models.download_models calls
RENDERERS_BUILT: list[str] = []  # renderer classes constructed
FORWARD_BATCHES: list[Any] = []  # batch['img'] of every HMR2 forward pass
FORWARD_OUTPUTS: list[dict[str, Any]] = []
FORWARD_HOOK: Callable[[Any], None] | None = None  # called with the batch before forward
PRED_CAM: tuple[float, float, float] | None = None  # override of the predicted crop camera


def reset() -> None:
    global FORWARD_HOOK, PRED_CAM
    for record in (LOAD_CALLS, LOAD_HMR2_CALLS, DOWNLOADS, RENDERERS_BUILT, FORWARD_BATCHES):
        record.clear()
    FORWARD_OUTPUTS.clear()
    FORWARD_HOOK = None
    PRED_CAM = None
