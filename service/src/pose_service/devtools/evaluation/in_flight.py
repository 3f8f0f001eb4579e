"""The streaming tracker as a client with K requests in flight sees it.

The backend's pool keeps 4 requests outstanding: when frame t is tracked, the frames after it
that the client has already sent are waiting for the model, so a missed frame can be held for
them (``tracking.lookahead``, the pipeline's own component). A held frame is an unanswered
request: it keeps its slot, so the client has sent at most K - 1 frames beyond the frames held
and the one being tracked. K = 1 is today's one-at-a-time streaming.
"""

from __future__ import annotations

from ...streaming.holding import HeldFrame, Lookahead, should_hold
from ...tracking.config import TrackerConfig
from ...tracking.track import Track
from ...types import PersonPose, TrackedPose

VIDEO = "sequence"  # the one video a replay streams


def stream_in_flight(
    detections: list[PersonPose | None], config: TrackerConfig, in_flight: int
) -> list[TrackedPose]:
    """Every frame's final answer when ``in_flight`` requests are kept outstanding."""
    track = Track(config)
    book = Lookahead(config.lookahead_frames)
    answers: list[TrackedPose] = []
    sent = 0
    for t, detection in enumerate(detections):
        # The client tops its requests up to ``in_flight`` unanswered ones (t being tracked).
        sent = max(sent, min(len(detections), t + max(in_flight - len(book), 1)))

        def in_hand(frame: int, last_sent: int = sent - 1, now: int = t) -> bool:
            """Whether a frame after ``frame`` within the look-ahead is sent, not yet tracked."""
            return min(frame + book.frames, last_sent) > now

        answer = track.step(t, [] if detection is None else [detection])
        answers.append(answer)
        for held in book.stepped(VIDEO, track, t, answer):
            answers[held.time_index] = held.answer
        if should_hold(answer, book.frames) and in_hand(t):
            book.hold(VIDEO, track, t, t, answer)
        released: list[HeldFrame] = book.release_unless(lambda h: in_hand(h.time_index))
        for held in released:
            answers[held.time_index] = held.answer
    return answers
