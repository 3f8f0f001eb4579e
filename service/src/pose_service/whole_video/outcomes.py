"""A whole video's frames, filled and smoothed, as the per-frame outcomes the API answers with."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..pipeline import FrameOutcome
from ..tracking.offline import fill_video
from ..tracking.track import Track
from ..types import Frame, TrackedPose


@dataclass
class WholeVideo:
    """Every frame of one video, and what produced them."""

    outcomes: list[FrameOutcome]
    truncated: bool = False  # the track kept only its last frames (``track_record_max_frames``)
    tracker: str = "service"  # or "phalp"
    phalp_track_id: int | None = None


def filled_track(
    track: Track, frame_size: tuple[int, int], session_id: str, model_version: str
) -> WholeVideo:
    """Every recorded frame of a track, gaps filled and smoothed (``offline.fill_video``)."""
    record = track.record
    if record is None:
        return WholeVideo([])
    numbers, observations, track_ids = record.snapshot()
    answers = fill_video(observations, track.config, track_ids)
    outcomes = frame_outcomes(
        numbers, answers, frame_size, session_id, model_version, "whole_video"
    )
    return WholeVideo(outcomes, truncated=bool(record.truncated))


def frame_outcomes(
    numbers: list[int],
    answers: list[TrackedPose],
    frame_size: tuple[int, int],
    session_id: str,
    model_version: str,
    rule: str,
) -> list[FrameOutcome]:
    """One outcome per frame, on a placeholder frame of the video's size (answers need no
    pixels)."""
    return [
        FrameOutcome(
            frame=_placeholder(*frame_size, number),
            tracked=tracked,
            session_id=session_id,
            session_rule=rule,
            model_version=model_version,
        )
        for number, tracked in zip(numbers, answers, strict=True)
    ]


def _placeholder(width: int, height: int, frame_number: int) -> Frame:
    """A frame of the right size that costs no memory."""
    return Frame(np.broadcast_to(np.zeros(1, np.uint8), (height, width, 3)), frame_number)
