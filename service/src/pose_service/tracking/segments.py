"""A video's tracks over the stretches of time its frames are continuous in.

A track predicts, interpolates and smooths from the frames next to a frame in time. When a frame's
picture jumps away from the frame before it (the frames are not neighbours in time: another part
of the video, a cut, or the backend's string-sorted order before it is recognised), nothing of
the track before the jump is true of it. So a jump starts a new :class:`Segment` with a track of
its own, and the frames before it keep theirs: frames arriving string-sorted interleave several
runs of consecutive frames (``frame-100 ... frame-109`` between ``frame-10`` and ``frame-11``),
each continuing its own segment.

A frame continues the segment whose newest frame is at most ``max_forward_gap`` before it in
time, or fills in one whose frames surround it (a late frame), if its picture is close to that
segment's: within ``jump_ratio`` times the video's usual difference between neighbouring frames,
and never more than ``jump_floor`` grey levels beyond it. Of several, the continuation and then
the closer picture wins. At most ``max_segments`` are kept (the least recently used goes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import TrackerConfig
from .frame_order import picture_difference
from .track import Track


@dataclass(frozen=True)
class SegmentRules:
    """When two frames are not neighbours in time (a jump), by their pictures."""

    jump_ratio: float = 4.0  # times the usual neighbour difference ...
    jump_floor: float = 8.0  # ... but a difference up to this (grey levels) is never a jump
    max_forward_gap: int = 15  # frames a continuation may skip
    max_segments: int = 8
    usual_weight: float = 0.1  # how fast the usual neighbour difference follows the video


@dataclass
class Segment:
    """One continuous stretch: its track, and the newest picture at each end."""

    track: Track
    first: int  # time index of its first frame
    newest_picture: np.ndarray | None = None
    first_picture: np.ndarray | None = None
    used: int = 0

    @property
    def newest(self) -> int:
        return self.track.newest_frame


@dataclass
class Segments:
    """The segments of one video (see the module docstring)."""

    config: TrackerConfig
    rules: SegmentRules = field(default_factory=SegmentRules)
    segments: list[Segment] = field(default_factory=list)
    usual: float | None = None  # running mean difference between neighbouring frames
    _uses: int = 0

    @classmethod
    def of(cls, track: Track) -> Segments:
        """The segments of a video whose frames so far are the one stretch ``track`` tracked."""
        first = min(track.history, default=0)
        return cls(track.config, segments=[Segment(track, first, used=1)], _uses=1)

    @property
    def main(self) -> Track:
        """The track of the segment used last (a video in order has only one)."""
        if not self.segments:
            self.segments.append(Segment(Track(self.config), 0))
        return max(self.segments, key=lambda s: s.used).track

    def jump_limit(self) -> float:
        """The picture difference beyond which two frames are not neighbours in time."""
        if self.usual is None:
            return self.rules.jump_floor
        return max(self.rules.jump_floor, self.rules.jump_ratio * self.usual)

    def place(self, time_index: int, thumbnail: np.ndarray | None) -> tuple[Track, bool]:
        """The track for the frame at ``time_index``, and whether it starts a new segment."""
        self._uses += 1
        chosen = self._choose(time_index, thumbnail)
        started = chosen is None
        if chosen is None:
            chosen = Segment(Track(self.config), time_index, first_picture=thumbnail)
            chosen.used = self._uses
            self.segments.append(chosen)
            if len(self.segments) > self.rules.max_segments:  # the least recently used goes
                self.segments.remove(min(self.segments, key=lambda s: s.used))
        elif thumbnail is not None and chosen.newest_picture is not None:
            difference = picture_difference(thumbnail, chosen.newest_picture)
            weight = self.rules.usual_weight
            self.usual = difference if self.usual is None else (
                (1 - weight) * self.usual + weight * difference
            )  # fmt: skip
        chosen.used = self._uses
        if time_index > chosen.newest:
            chosen.newest_picture = thumbnail
        if time_index < chosen.first:
            chosen.first, chosen.first_picture = time_index, thumbnail
        if chosen.newest_picture is None:
            chosen.newest_picture = thumbnail
        return chosen.track, started

    def tracks(self) -> list[Track]:
        """Every stretch's track, in time order of their first frames."""
        return [s.track for s in sorted(self.segments, key=lambda s: s.first)]

    def forget_unstepped(self, track: Track) -> None:
        """Drop ``track``'s segment if it never stepped a frame (its frame was not answered)."""
        self.segments = [s for s in self.segments if s.track is not track or s.newest >= 0]

    def reset(self) -> None:
        """Forget every segment (their time indices turned out wrong)."""
        self.segments.clear()
        self.usual = None

    def _choose(self, time_index: int, thumbnail: np.ndarray | None) -> Segment | None:
        limit = self.jump_limit()
        best: tuple[tuple[bool, float], Segment] | None = None
        for segment in self.segments:
            if segment.newest < 0:  # stepped nothing yet
                key_picture = segment.newest_picture
                continuation = True
            elif segment.newest < time_index <= segment.newest + self.rules.max_forward_gap:
                key_picture, continuation = segment.newest_picture, True
            elif segment.first <= time_index <= segment.newest:
                key_picture, continuation = segment.newest_picture, False
            elif segment.first - self.rules.max_forward_gap <= time_index < segment.first:
                key_picture, continuation = segment.first_picture, False
            else:
                continue
            difference = picture_difference(thumbnail, key_picture)
            if difference > limit:
                continue
            key = (not continuation, difference)
            if best is None or key < best[0]:
                best = (key, segment)
        return None if best is None else best[1]

    # --- saving ----------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {
            "usual": self.usual,
            "uses": self._uses,
            "segments": [
                {
                    "track": s.track.to_state(),
                    "first": s.first,
                    "newest_picture": s.newest_picture,
                    "first_picture": s.first_picture,
                    "used": s.used,
                }
                for s in self.segments
            ],
        }

    @classmethod
    def from_state(cls, config: TrackerConfig, saved: dict[str, Any]) -> Segments:
        segments = cls(config)
        segments.usual = None if saved["usual"] is None else float(saved["usual"])
        segments._uses = int(saved["uses"])
        for s in saved["segments"]:
            segments.segments.append(
                Segment(
                    Track.from_state(config, s["track"]),
                    int(s["first"]),
                    s["newest_picture"],
                    s["first_picture"],
                    int(s["used"]),
                )
            )
        return segments
