"""The frame stepper's counters about the estimator, per video: how many frames were estimated
from the track's box since the detector last ran (``POSE_SERVICE_DETECT_EVERY_FRAMES``), and how
many frames in a row were answered by looking again (``rescue``).

They live in the session's ``stream_state`` (so they expire and are saved with their video) but
only this module reads or writes them.
"""

from __future__ import annotations

from ..sessions.router import Session

_SINCE_DETECTOR = "frames_since_detector"
_RESCUE_STREAK = "rescue_streak"


class EstimatorCounters:
    """A view of one session's counters."""

    def __init__(self, session: Session) -> None:
        self._state = session.stream_state

    @property
    def frames_since_detector(self) -> int:
        """Frames estimated from the track's box since the detector ran."""
        return self._state.get(_SINCE_DETECTOR, 0)

    @property
    def rescue_streak(self) -> int:
        """Frames in a row answered by looking again."""
        return self._state.get(_RESCUE_STREAK, 0)

    def estimated(self, detector_ran: bool) -> None:
        """The estimator looked at a frame of the video (with or without its detector)."""
        self._state[_SINCE_DETECTOR] = 0 if detector_ran else self.frames_since_detector + 1

    def answered(self, rescued: bool) -> None:
        """A frame of the video was answered, by looking again or not."""
        self._state[_RESCUE_STREAK] = self.rescue_streak + 1 if rescued else 0
