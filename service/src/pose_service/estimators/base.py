"""The one small interface every per-frame pose estimator implements.

Estimators know nothing about HTTP, sessions or tracks: a frame goes in, people come out.
They are created unloaded (cheap) and loaded once per process by the app's loader thread.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from ..types import Estimate, Frame


class ModelUnavailable(RuntimeError):
    """The estimator cannot run (missing files, missing package): a configuration problem."""


class TransientInferenceError(RuntimeError):
    """This frame failed for a reason that may pass (e.g. CUDA out of memory): retryable, 503."""


@runtime_checkable
class Estimator(Protocol):
    """Per-frame pose estimation."""

    name: str
    # Optional class attribute ``takes_box_hints = True``: the estimator uses ``Frame.hint`` (the
    # track's predicted box) to skip its person detector; the pipeline sends hints only then.

    def load(self) -> None:
        """Load weights into memory (and onto the device). Called once, off the request path."""

    def verify_install(self) -> dict[str, str]:
        """Check in seconds, without reading weights, that :meth:`load` will find everything
        (``pose-service verify-install``, run by the provisioning); what was checked. Raises
        :class:`ModelUnavailable` naming the fix."""

    def estimate(self, frame: Frame) -> Estimate:
        """Find the people in one frame. Must not keep per-video state."""

    def model_status(self) -> dict[str, str]:
        """Per-model ``"loaded"`` / ``"not_loaded"``, e.g. ``{"hmr2": ..., "vitdet": ...}``."""

    def describe(self) -> dict[str, object]:
        """Facts for /health: device, versions, paths."""

    def faces(self) -> np.ndarray | None:
        """The mesh's constant (F, 3) triangles, or None for estimators without a mesh."""
