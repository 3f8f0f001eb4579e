"""A jump in the picture starts a new stretch of the video with a track of its own."""

from __future__ import annotations

import numpy as np

from pose_service.tracking.config import TrackerConfig
from pose_service.tracking.segments import Segments
from tests.support.frames import runner_thumbnails


def test_neighbouring_frames_share_one_track_and_a_jump_starts_another():
    pictures = runner_thumbnails()
    segments = Segments(TrackerConfig())
    tracks = []
    for t in range(10):  # frames 0-9 of the clip
        track, started = segments.place(t, pictures[t])
        track.step(t, [])
        tracks.append((track, started))
    assert len({id(t) for t, _ in tracks}) == 1 and [s for _, s in tracks] == [True] + [False] * 9
    jump, started = segments.place(10, pictures[120])  # numbered 10, shows frame 120
    assert started and jump is not tracks[0][0]
    jump.step(10, [])
    back, started = segments.place(11, pictures[10])  # frame 10's picture: the first stretch
    assert not started and back is tracks[0][0]
    back.step(11, [])
    on, started = segments.place(12, pictures[121])
    assert not started and on is jump


def test_the_usual_neighbour_difference_sets_the_jump_limit():
    pictures = runner_thumbnails()
    segments = Segments(TrackerConfig())
    assert segments.jump_limit() == segments.rules.jump_floor
    for t in range(30):
        segments.place(t, pictures[t])[0].step(t, [])
    assert 0.5 < segments.usual < 2.0  # the real clip: ~1.1 grey levels between neighbours
    assert segments.jump_limit() == segments.rules.jump_floor


def test_reset_forgets_every_stretch():
    segments = Segments(TrackerConfig())
    first, _ = segments.place(0, np.zeros((9, 16), np.float32))
    segments.reset()
    again, started = segments.place(0, np.zeros((9, 16), np.float32))
    assert started and again is not first


def test_past_the_cap_the_new_stretch_is_kept_and_the_least_recently_used_goes():
    """A cut every 10 frames (each a different grey): one new stretch per cut, never more."""
    segments = Segments(TrackerConfig())
    starts = []
    for t in range(100):
        track, started = segments.place(t, np.full((9, 16), 40.0 + 10 * (t // 10), np.float32))
        track.step(t, [])
        if started:
            starts.append(t)
    assert starts == list(range(0, 100, 10))
    assert len(segments.segments) == segments.rules.max_segments


def test_a_stretch_whose_frame_was_not_answered_is_forgotten():
    segments = Segments(TrackerConfig())
    track, started = segments.place(0, np.zeros((9, 16), np.float32))
    segments.forget_unstepped(track)
    assert started and segments.segments == []
