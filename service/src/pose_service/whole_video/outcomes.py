"""A whole video's frames, filled and smoothed: the domain value a job or a session's whole track
gives back (the API renders it; no frame pixels are kept or faked)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..tracking.offline import fill_video
from ..tracking.track import Track
from ..types import PersonPose, TrackedPose

STRETCH_IDS = 1 << 16  # track ids of one stretch of a video (the record keeps them in uint16)
WHOLE_VIDEO_RULE = "whole_video"  # the session rule a filled track answers with


@dataclass(frozen=True)
class VideoFrame:
    """One frame of a whole video: its number and its pose (observed or filled)."""

    frame_number: int
    tracked: TrackedPose


@dataclass
class WholeVideo:
    """One whole video's frames, and the facts every frame's answer shares: the video's frame
    size, the session (or job) id and rule it was tracked under, the model that estimated it."""

    frames: list[VideoFrame]
    frame_size: tuple[int, int]  # (width, height); (0, 0) when no frame said
    session_id: str
    session_rule: str
    model_version: str
    truncated: bool = False  # the track kept only its first frames (``track_record_max_frames``)
    tracker: str = "service"  # or "phalp"
    phalp_track_id: int | None = None


def video_frames(numbers: Sequence[int], answers: Sequence[TrackedPose]) -> list[VideoFrame]:
    """Frame numbers and their poses, paired (as many of each)."""
    return [VideoFrame(n, tracked) for n, tracked in zip(numbers, answers, strict=True)]


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
    video = WholeVideo([], frame_size, session_id, WHOLE_VIDEO_RULE, model_version, truncated)
    if not frames or not tracks:
        return video
    numbers = sorted(frames)
    answers = fill_video(
        [frames[n][0] for n in numbers], tracks[0].config, [frames[n][1] for n in numbers]
    )
    video.frames = video_frames(numbers, answers)
    return video
