"""Telling videos apart without an id."""

from __future__ import annotations

import numpy as np
import pytest

from pose_service.sessions.router import SessionPolicy, SessionRouter, SessionsFull
from pose_service.tracking.config import TrackerConfig
from tests.support.frames import pool_order, runner_thumbnails, string_sorted

SIZE = (640, 360)
DARK = np.full((9, 16), 30.0, dtype=np.float32)
BRIGHT = np.full((9, 16), 200.0, dtype=np.float32)


def route(router: SessionRouter, n: int, thumb=DARK, video_id=None, size=SIZE):
    routing = router.route(n, size, thumb, video_id)
    routing.track.step(routing.time_index, [])  # the pipeline steps the track right after
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
        if n != 27:
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


def _clip(name: str) -> list[np.ndarray]:
    """The real clip's pictures: as is, time-reversed, cut (frames 40-139) or mirrored."""
    pictures = list(runner_thumbnails())
    return {
        "runner": pictures,
        "reversed": pictures[::-1],
        "cut": pictures[40:140],
        "mirrored": [p[:, ::-1] for p in pictures],
    }[name]


def test_the_live_routes_five_frame_batches_never_share_a_session():
    """analyze-4d: positions 0-4 of each video (its frames 0, 9, 99, 100, 101), video after
    video, the same clip twice (a retry) among them (backend-calls.md §6's mix-up)."""
    router = SessionRouter(SessionPolicy(), TrackerConfig())
    seen: dict[str, set[str]] = {}
    for video, clip in enumerate(["runner", "cut", "runner", "reversed", "runner"]):
        pictures = _clip(clip)
        times = string_sorted(len(pictures))
        ids = {route(router, p, pictures[times[p]]).session.session_id for p in range(5)}
        seen[f"{video}-{clip}"] = ids
    all_ids = [i for ids in seen.values() for i in ids]
    assert len(all_ids) == len(set(all_ids)), seen  # no session holds two videos' frames
    assert all(len(ids) == 1 for ids in seen.values()), seen  # each video is one session


def test_a_number_a_session_already_had_with_another_picture_is_another_video():
    router = SessionRouter(SessionPolicy(), TrackerConfig())
    pictures = _clip("runner")
    first = route(router, 0, pictures[0]).session
    for n in range(1, 5):
        route(router, n, pictures[n])
    retried = route(router, 0, pictures[100]).session
    for n in range(1, 5):  # the second video's 1-4: the first video had those numbers
        assert route(router, n, pictures[100 + n]).session is retried is not first
    again = router.route(3, SIZE, pictures[3], None)  # the very frame 3 again: a number both
    assert again.session not in (first, retried)  # had: no video's, a session of its own


def test_a_frame_zero_that_comes_after_its_next_frames_joins_them():
    """The pool releases frame 0, then frames 1-3 together: 2 and 3 may be routed first."""
    router = SessionRouter(SessionPolicy(), TrackerConfig())
    pictures = _clip("runner")
    opened = route(router, 2, pictures[2])
    assert opened.rule == "no_match"
    assert route(router, 3, pictures[3]).session is opened.session
    zero = route(router, 0, pictures[0])
    assert zero.session is opened.session and zero.rule == "late_frame"
    assert route(router, 0, pictures[0]).rule == "frame_zero"  # it has a 0 now: a new video


@pytest.mark.parametrize("arrival", ["sequential", "pool"])
def test_a_string_sorted_upload_is_one_session_tracked_at_its_true_times(arrival):
    router = SessionRouter(SessionPolicy(), TrackerConfig())
    pictures = _clip("runner")
    times = string_sorted(len(pictures))
    sent = range(len(pictures)) if arrival == "sequential" else pool_order(len(pictures))
    routings = {p: route(router, p, pictures[times[p]]) for p in sent}
    assert len({r.session.session_id for r in routings.values()}) == 1
    right = sum(routings[p].time_index == times[p] for p in range(len(pictures)))
    assert right >= len(pictures) - 45  # all but the frames before the order was recognised


def test_two_uploads_at_once_are_kept_apart_by_their_pictures():
    """Two videos of different pictures interleaved frame by frame, string-sorted, through the
    pool (videos of one scene are told apart by their numbers: the next test)."""
    router = SessionRouter(SessionPolicy(), TrackerConfig())
    clips = {name: _clip(name) for name in ("runner", "mirrored")}
    owners: dict[str, set[str]] = {name: set() for name in clips}
    times = string_sorted(120)
    for p in pool_order(120):
        for name, pictures in clips.items():
            owners[name].add(route(router, p, pictures[times[p]]).session.session_id)
    assert owners["runner"].isdisjoint(owners["mirrored"]), owners
    assert all(len(ids) == 1 for ids in owners.values()), owners


def test_an_upload_queued_behind_another_of_the_same_scene_gets_its_own_session():
    """The backend's pool queues a second upload's frames behind the first's (FIFO): the
    videos overlap only where one ends and the other begins."""
    router = SessionRouter(SessionPolicy(), TrackerConfig())
    times = string_sorted(120)
    first = [(p, _clip("runner")[times[p]]) for p in pool_order(120)]
    second = [(p, _clip("reversed")[times[p]]) for p in pool_order(120, seed=1)]
    overlap = [x for pair in zip(first[-4:], second[:4], strict=True) for x in pair]
    sent = first[:-4] + overlap + second[4:]
    owners = {id(x): name for name, frames in (("first", first), ("second", second))
              for x in frames}  # fmt: skip
    seen: dict[str, set[str]] = {"first": set(), "second": set()}
    for frame in sent:
        seen[owners[id(frame)]].add(route(router, frame[0], frame[1]).session.session_id)
    assert seen["first"].isdisjoint(seen["second"]), seen


def test_a_clip_sent_in_order_after_its_five_frame_batch_is_its_own_video():
    """analyze-4d's frames 0-4 (the clip's 0, 9, 99, 100, 101), then the same clip uploaded in
    time order: its frame 8 looks as much like the batch's frame 9 as like its own frame 7."""
    router = SessionRouter(SessionPolicy(), TrackerConfig())
    pictures = _clip("runner")
    times = string_sorted(180)
    batch = {route(router, p, pictures[times[p]]).session.session_id for p in range(5)}
    upload = {route(router, p, pictures[p]).session.session_id for p in pool_order(60)}
    assert len(batch) == 1 and len(upload) == 1 and batch.isdisjoint(upload)


@pytest.mark.parametrize("seed", range(6))
def test_an_upload_after_its_batch_stays_one_video_whatever_the_pause(seed):
    """The batch's last picture (frame 101) is what a string-sorted upload of the clip sends
    next: the stream sending now wins over the idle batch when both fit about as well."""
    now = [0.0]
    router = SessionRouter(SessionPolicy(), TrackerConfig(), clock=lambda: now[0])
    pictures = _clip("runner")
    times = string_sorted(180)
    batch = {route(router, p, pictures[times[p]]).session.session_id for p in range(5)}
    now[0] += 5.0
    upload = set()
    for p in pool_order(180, seed=seed):
        now[0] += 0.05
        upload.add(route(router, p, pictures[times[p]]).session.session_id)
    assert len(upload) == 1 and batch.isdisjoint(upload), (batch, upload)


def test_a_frame_whose_estimate_failed_finds_its_video_when_sent_again():
    router = SessionRouter(SessionPolicy(), TrackerConfig())
    pictures = _clip("runner")
    first = route(router, 0, pictures[0]).session
    for n in range(1, 6):
        route(router, n, pictures[n])
    failed = router.route(6, SIZE, pictures[6], None)  # routed, then the model failed: a 503
    router.unroute(failed, 6)
    again = route(router, 6, pictures[6])
    assert again.session is first and again.rule == "continues"
    assert route(router, 7, pictures[7]).session is first
