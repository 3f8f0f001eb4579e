"""What the frame stepper answers for one frame (the API renders it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..types import Frame, TrackedPose
from .holding import HeldFrame


@dataclass
class FrameOutcome:
    """Everything the API needs to answer one frame."""

    frame: Frame
    tracked: TrackedPose
    session_id: str
    session_rule: str
    model_version: str
    timings_ms: dict[str, float] = field(default_factory=dict)
    batch_frames: int = 1  # frames that shared the estimator pass with this one (itself included)
    held: HeldFrame | None = None  # a missed frame waiting for its video's later frames
