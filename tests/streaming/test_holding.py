"""``streaming.holding``: held missed frames filled from both sides, never across tracks."""

from __future__ import annotations

from pose_service.streaming.holding import Lookahead, should_hold
from pose_service.tracking.lookahead import fill_between
from pose_service.tracking.track import Track, TrackerConfig
from tests.streaming.test_hints import truth_person

CONFIG = TrackerConfig(record_max_frames=0)


def _track(detected: range) -> Track:
    track = Track(CONFIG)
    for n in detected:
        track.step(n, [truth_person(n)])
    return track


def test_held_frames_are_filled_by_the_next_detection_of_their_track():
    track, book = _track(range(10)), Lookahead(4)
    held = []
    for n in (10, 11):
        answer = track.step(n, [])
        assert should_hold(answer, book.frames)
        held.append(book.hold("v", track, n, n, answer))
    done = book.stepped("v", track, 12, track.step(12, [truth_person(12)]))
    assert done == held and all(h.done.is_set() and h.filled for h in held)
    assert [h.answer.source for h in held] == ["interpolated", "interpolated"]
    assert [h.answer.frames_since_detection for h in held] == [1, 2]
    assert track.history[11].source == "interpolated"  # late frames next to it see the fill
    assert book.filled == 2 and len(book) == 0


def test_a_detection_of_another_track_or_beyond_the_window_fills_nothing():
    track, other, book = _track(range(10)), _track(range(10)), Lookahead(2)
    held = book.hold("v", track, 10, 10, track.step(10, []))
    assert book.stepped("v", other, 11, other.step(11, [truth_person(11)])) == []  # another stretch
    track.step(11, [])
    assert book.stepped("v", track, 13, track.step(13, [truth_person(13)])) == []  # 3 frames on
    assert not held.done.is_set()
    assert book.release_unless(lambda h: False) == [held] and held.answer.source == "predicted"


def test_fill_between_needs_a_detection_before_the_gap():
    track = Track(CONFIG)
    track.step(0, [])
    track.step(1, [truth_person(1)])
    assert fill_between(track, [0], 1) == {}


def test_late_frames_and_detections_are_never_held():
    track = _track(range(5))
    assert not should_hold(track.step(5, [truth_person(5)]), 4)
    assert not should_hold(track.step(3, []), 4)  # a late frame
    assert not should_hold(track.step(6, []), 0)
