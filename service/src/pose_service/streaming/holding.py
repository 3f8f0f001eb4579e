"""Missed frames held back while the frames after them are already in hand.

A client that keeps several requests in flight (the backend's pool keeps 4) has sent the frames
after a missed one before that one is answered. Rather than extrapolating, the missed frame's
answer waits for them, at most ``lookahead_frames`` frames and only for frames that have
arrived, and once a later frame of the same stretch of time is detected, the gap is filled from
both sides (``tracking.lookahead.fill_between``), marked ``interpolated``.

:class:`Lookahead` holds such frames; the caller says, after each frame it tracks, what is
still in hand (the frame stepper: frames waiting for the model; the evaluation: the frames a
simulated client has in flight). A held frame whose later frames are gone or all missed keeps
the prediction it was given. The forward state of the track is never touched: a fill only
revises the held frames' answers (and the history late frames are answered from).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from ..tracking.lookahead import fill_between
from ..tracking.track import Track
from ..types import TrackedPose


@dataclass(eq=False)
class HeldFrame:
    """A missed frame whose answer waits for the frames after it."""

    key: Hashable  # its video (the session)
    track: Track  # the stretch of time it belongs to (``segments``)
    time_index: int
    frame_number: int
    answer: TrackedPose  # the prediction it was given; the fill once one is found
    done: threading.Event = field(default_factory=threading.Event)
    filled: bool = False


def should_hold(answer: TrackedPose, frames: int) -> bool:
    """Whether an answer may wait for later frames: a prediction of a live track for a frame
    in order (not a late frame, which has its neighbours already), with look-ahead on."""
    return frames > 0 and answer.source == "predicted" and "late_frame" not in answer.flags


class Lookahead:
    """The held frames of every video, thread-safe."""

    def __init__(self, frames: int) -> None:
        self.frames = frames
        self._lock = threading.Lock()
        self._held: list[HeldFrame] = []
        self.filled = 0  # counters for the tests and the benchmarks
        self.released = 0

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, key: Hashable, track: Track, time_index: int, frame_number: int,
             answer: TrackedPose) -> HeldFrame:  # fmt: skip
        """Keep a missed frame's answer back until :meth:`stepped` fills it or
        :meth:`release_unless` gives it its prediction."""
        held = HeldFrame(key, track, time_index, frame_number, answer)
        with self._lock:
            self._held.append(held)
        return held

    def stepped(self, key: Hashable, track: Track, time_index: int,
                answer: TrackedPose) -> list[HeldFrame]:  # fmt: skip
        """A frame of ``key`` was tracked: when it is a detection of the same stretch within
        ``frames`` frames after held frames, fill them from both sides; those filled are done
        and returned."""
        if answer.source != "detected" or "late_frame" in answer.flags:
            return []
        with self._lock:
            waiting = [
                h for h in self._held
                if h.key == key and h.track is track
                and 0 < time_index - h.time_index <= self.frames
            ]  # fmt: skip
            if not waiting:
                return []
            fills = fill_between(track, [h.time_index for h in waiting], time_index)
            done = []
            for held in waiting:
                filled = fills.get(held.time_index)
                if filled is None:
                    continue
                filled.flags = [*held.answer.flags, *filled.flags]
                filled.scores = dict(held.answer.scores)
                held.answer, held.filled = filled, True
                track.revise(held.time_index, filled)
                done.append(held)
            self._finish(done)
            self.filled += len(done)
            return done

    def release_unless(self, in_hand: Callable[[HeldFrame], bool]) -> list[HeldFrame]:
        """Answer every held frame for which nothing that could fill it is in hand any more
        (``in_hand`` says whether something is), with its prediction."""
        with self._lock:
            gone = [h for h in self._held if not in_hand(h)]
            self._finish(gone)
            self.released += len(gone)
            return gone

    def release_all(self) -> list[HeldFrame]:
        """Answer every held frame with its prediction (a failed turn, a shutdown)."""
        return self.release_unless(lambda _: False)

    def _finish(self, frames: list[HeldFrame]) -> None:
        for held in frames:
            self._held.remove(held)
            held.done.set()
