"""A missed frame filled from both sides once a later frame of its stretch of time is detected:
the whole-video mode's smoother (``offline.fill_video``) over the track's recent answers, marked
``interpolated`` with that smoother's confidence. The frame stepper holds the missed frames
that wait for it (``streaming.holding``).
"""

from __future__ import annotations

from ..types import PersonPose, TrackedPose
from .offline import fill_video
from .track import Track

# Frames before the detection ahead of the gap that the smoother sees: enough for the velocity
# at the gap's start (measured: ``pose-service eval --in-flight 4``), and a bounded cost inside
# the model's turn.
FILL_CONTEXT_FRAMES = 4


def fill_between(track: Track, missed: list[int], detected: int) -> dict[int, TrackedPose]:
    """The whole-video smoother's answers for the ``missed`` frames before the detected frame
    ``detected``, from the track's recent answers (detections on both sides): only frames it
    interpolates between two detections of one track (a stretch without a detection before it
    in the history keeps its prediction)."""
    history = track.history
    detections_before = [
        t for t, answer in history.items() if t < min(missed) and answer.source == "detected"
    ]
    if not detections_before:
        return {}
    first = max(min(history), max(detections_before) - FILL_CONTEXT_FRAMES)
    frames = range(first, detected + 1)
    observations: list[PersonPose | None] = []
    track_ids: list[int] = []
    for t in frames:
        answer = history.get(t)
        detected_here = answer is not None and answer.source == "detected"
        observations.append(answer.pose if detected_here else None)  # type: ignore[union-attr]
        track_ids.append((answer.track_id or 0) if answer is not None else 0)
    answers = fill_video(observations, track.config, track_ids)
    out = {}
    for t in missed:
        answer = answers[t - first] if first <= t <= detected else None
        if answer is not None and answer.source == "interpolated":
            out[t] = answer
    return out
