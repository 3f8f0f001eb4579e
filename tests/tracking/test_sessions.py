"""Telling videos apart without an id."""

from __future__ import annotations

import numpy as np
import pytest

from pose_service.tracking.sessions import SessionPolicy, SessionRouter, SessionsFull
from pose_service.tracking.track import TrackerConfig

SIZE = (640, 360)
DARK = np.full((9, 16), 30.0, dtype=np.float32)
BRIGHT = np.full((9, 16), 200.0, dtype=np.float32)


def route(router: SessionRouter, n: int, thumb=DARK, video_id=None, size=SIZE):
    routing = router.route(n, size, thumb, video_id)
    routing.session.track.step(n, [])  # the pipeline steps the track right after routing
    return routing


def test_frame_zero_starts_a_new_video_and_following_frames_continue_it():
    router = SessionRouter(SessionPolicy(), TrackerConfig())
    first = route(router, 0)
    assert first.rule == "frame_zero"
    for n in range(1, 5):
        assert route(router, n).session is first.session
    assert route(router, 0).session is not first.session


def test_interleaved_streams_are_kept_apart_by_frame_number_and_picture():
    router = SessionRouter(SessionPolicy(), TrackerConfig())
    a = route(router, 0, DARK).session
    b = route(router, 40, BRIGHT).session  # a stream that starts mid-video
    assert a is not b
    for n in range(1, 10):
        assert route(router, n, DARK).session is a
        assert route(router, 40 + n, BRIGHT).session is b


def test_explicit_video_id_wins_and_a_backwards_jump_starts_a_new_video():
    router = SessionRouter(SessionPolicy(reorder_window=5), TrackerConfig())
    named = route(router, 7, video_id="clip-1")
    assert named.session.session_id == "clip-1" and named.rule == "new_video_id"
    assert route(router, 3, video_id="clip-1").rule == "video_id"
    anon = route(router, 0).session
    for n in range(1, 30):
        route(router, n)
    assert route(router, 27).session is anon  # late frame, within the window
    assert route(router, 10).session is not anon  # far behind: another video


def test_idle_sessions_expire_and_the_count_is_capped():
    now = [0.0]
    router = SessionRouter(SessionPolicy(idle_s=10, max_sessions=3, protect_s=1), TrackerConfig(),
                           clock=lambda: now[0])  # fmt: skip
    for _ in range(5):
        route(router, 0)
        now[0] += 2.0  # past protect_s: the least recently used may go
    assert len(router) == 3
    now[0] = 100.0
    routing = route(router, 0)
    assert len(routing.evicted) == 3 and len(router) == 1


def test_a_clip_retried_from_frame_zero_stays_in_its_new_session():
    """The first attempt stopped at frame 10; the retry's frame 11 fits both sessions equally
    (same picture, same distance): before, the older session won and the retry jumped back
    into the first attempt's track from frame 11 on."""
    clock = iter(range(1000)).__next__
    router = SessionRouter(SessionPolicy(), TrackerConfig(), clock=lambda: float(clock()))
    first = [route(router, n).session for n in range(11)]
    retry = [route(router, n).session for n in range(30)]
    assert len({id(s) for s in first}) == 1 and len({id(s) for s in retry}) == 1
    assert retry[0] is not first[0]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_flood_of_new_videos_cannot_evict_a_live_stream():
    """40 video_ids round-robin, or one client's frames numbered 0: before, each evicted the
    least recently used session, another client's live stream among them."""
    clock = Clock()
    router = SessionRouter(SessionPolicy(max_sessions=4, protect_s=10.0), TrackerConfig(),
                           clock=clock)  # fmt: skip
    live = route(router, 0, BRIGHT).session
    refused = 0
    for n in range(40):
        clock.now += 0.1
        try:
            route(router, 0, DARK, video_id=f"flood-{n}" if n % 2 else None)
        except SessionsFull as exc:
            refused += 1
            assert "POSE_SERVICE_MAX_SESSIONS" in str(exc)
        if n % 5 == 0:
            assert route(router, n + 1, BRIGHT).session is live  # the live stream goes on
    assert refused == 37 and router.get(live.session_id) is live


def test_an_idle_session_is_still_evicted_for_a_new_video():
    clock = Clock()
    router = SessionRouter(SessionPolicy(max_sessions=2, protect_s=10.0), TrackerConfig(),
                           clock=clock)  # fmt: skip
    first = route(router, 0, video_id="a").session
    route(router, 0, video_id="b")
    clock.now = 11.0
    routing = route(router, 0, video_id="c")
    assert routing.evicted == ("a",) and router.get(first.session_id) is None


def test_check_room_refuses_what_route_would_refuse_and_changes_nothing():
    """The pipeline asks before a frame queues for the model: the answer must be route's."""
    clock = Clock()
    router = SessionRouter(SessionPolicy(max_sessions=2, protect_s=10.0, idle_s=100.0),
                           TrackerConfig(), clock=clock)  # fmt: skip
    live = route(router, 0, BRIGHT).session
    route(router, 0, DARK, video_id="a")
    for frame_number, thumb, video_id in ((0, DARK, "b"), (0, BRIGHT, None), (20, DARK, None)):
        with pytest.raises(SessionsFull):
            router.check_room(frame_number, SIZE, thumb, video_id)
        with pytest.raises(SessionsFull):
            route(router, frame_number, thumb, video_id)
    router.check_room(5, SIZE, DARK, "a")  # its own session
    router.check_room(1, SIZE, BRIGHT)  # continues the live one
    clock.now = 11.0  # past protect_s: the oldest may be evicted for a new video
    router.check_room(0, SIZE, DARK, "b")
    assert len(router) == 2 and router.get(live.session_id) is live  # nothing evicted by asking
    clock.now = 200.0  # both idle past idle_s: room, and still nothing expired by asking
    router.check_room(0, SIZE, DARK, "a")
    assert len(router) == 2
