"""A whole video's frames, filled and smoothed, as the per-frame outcomes the API answers with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..streaming.outcome import FrameOutcome
from ..tracking.offline import fill_video
from ..tracking.track import Track
from ..types import Frame, PersonPose, TrackedPose

STRETCH_IDS = 1 << 16  # track ids of one stretch of a video (the record keeps them in uint16)


@dataclass
class WholeVideo:
    """One whole video's per-frame outcomes, and what produced them (a job's or a session's
    result; :class:`~.videos.WholeVideoService` hands them out)."""

    outcomes: list[FrameOutcome]
    truncated: bool = False  # the track kept only its first frames (``track_record_max_frames``)
    tracker: str = "service"  # or "phalp"
    phalp_track_id: int | None = None


def filled_track(
    track: Track, frame_size: tuple[int, int], session_id: str, model_version: str
) -> WholeVideo:
    """Every recorded frame of a track, gaps filled and smoothed (``offline.fill_video``)."""
    return filled_tracks([track], frame_size, session_id, model_version)


def filled_tracks(
    tracks: Sequence[Track], frame_size: tuple[int, int], session_id: str, model_version: str
) -> WholeVideo:
    """Every recorded frame of a video's tracks (one per stretch of time it was streamed in,
    ``tracking.segments``), in time order, gaps filled and smoothed: each stretch's tracks
    apart from the others', nothing carried across a jump."""
    frames: dict[int, tuple[PersonPose | None, int]] = {}
    truncated = False
    for index, track in enumerate(tracks):
        if track.record is None:
            continue
        numbers, observations, track_ids = track.record.snapshot()
        truncated = truncated or bool(track.record.truncated)
        for number, observed, track_id in zip(numbers, observations, track_ids, strict=True):
            # Track ids stay apart per stretch (0: no track yet, in any of them).
            frames.setdefault(number, (observed, track_id and index * STRETCH_IDS + track_id))
    if not frames or not tracks:
        return WholeVideo([], truncated=truncated)
    numbers = sorted(frames)
    answers = fill_video(
        [frames[n][0] for n in numbers], tracks[0].config, [frames[n][1] for n in numbers]
    )
    outcomes = frame_outcomes(
        numbers, answers, frame_size, session_id, model_version, "whole_video"
    )
    return WholeVideo(outcomes, truncated=truncated)


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
