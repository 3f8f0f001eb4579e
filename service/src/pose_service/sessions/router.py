"""Which video a frame belongs to, when the backend sends no id.

Rules, in order (documented in docs/tracking.md):
1. An explicit ``video_id`` (body field or ``X-Video-Id`` header) names the session. Always wins.
2. ``frame_number == 0`` starts a new video (unless a video opened by its frames 1-3 moments
   before, as the backend's pool can deliver them, still waits for its frame 0).
3. Otherwise, among live anonymous sessions with the same frame size, a frame continues the one
   it fits: ``frame_number`` ahead of the session's newest frame by at most
   ``max_forward_gap``, or behind it by at most ``reorder_window`` (a late frame). When several
   fit, the session it fits best wins (its picture against the picture of the frame it follows
   by number, or a recent one, tiny grey thumbnails; and how many numbers it skips forward or
   goes back: :func:`_fit`); the one seen most recently wins when it fits within
   ``NOT_FOLLOWING`` of the best (the stream sending now, not an idle one whose last picture
   happens to match).
   A candidate is not the same video when its nearest picture differs by more than
   ``match_threshold``, or when it already had a frame sent with this number (each video
   numbers its frames once: a new video numbered from 0 right after another, or the same video
   sent again, never lands in the old one's session).
4. A frame that fits no session starts a new one (e.g. a stream that begins mid-video).

Inside its session, a frame is placed in time by its picture (``frame_order``: the backend's
string-sorted frame order is recognised) and tracked in the stretch of the video it continues
(``segments``: a jump in the picture starts a new one), so no pose is predicted, interpolated or
smoothed across frames that are not neighbours in time.

Memory is bounded: sessions idle for ``idle_s`` expire, and beyond ``max_sessions`` the least
recently used is evicted, unless it received a frame in the last ``protect_s`` seconds: then the
new video is refused (:class:`SessionsFull`, a 503) rather than a live stream dropped, so a flood
of new ids or of frame-0 frames cannot evict another client's video.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..tracking.config import TrackerConfig
from ..tracking.frame_order import FrameOrder, picture_difference
from ..tracking.segments import Segments
from ..tracking.track import Track
from .policy import SessionPolicy

OPENING_FRAMES = 4  # a video whose first frames came before its frame 0 (the pool's 0, 2, 3, 1)
NOT_FOLLOWING = 4.0  # grey levels a frame that does not look like the one it follows pays
PER_SKIPPED_NUMBER = 0.5  # grey levels per frame number a continuation skips


class SessionsFull(RuntimeError):
    """Every session is live (a frame within ``protect_s``): a new video must wait."""


@dataclass
class Session:
    """One video being streamed: its tracks, its frames' order and what identifies it."""

    session_id: str
    explicit: bool  # named by the client (video_id) rather than inferred
    frame_size: tuple[int, int]
    segments: Segments  # its tracks, one per continuous stretch of time (``segments``)
    last_seen: float
    order: FrameOrder = field(default_factory=FrameOrder)  # sent number -> time (``frame_order``)
    frames_seen: int = 0
    created: float = field(default_factory=time.time)
    # The frame stepper's counters about the estimator for this video, saved with it; their
    # meaning is the stepper's (``streaming.counters``), the router never reads them.
    stream_state: dict[str, int] = field(default_factory=dict)
    newest_sent: int = -1  # the highest frame_number the client sent
    opened_by: str = ""  # the routing rule that started it
    created_at: float = 0.0  # the router's clock when it started

    @classmethod
    def new(
        cls, session_id: str, explicit: bool, frame_size: tuple[int, int], config: TrackerConfig,
        last_seen: float,
    ) -> Session:  # fmt: skip
        return cls(session_id, explicit, frame_size, Segments(config), last_seen)

    @classmethod
    def of_track(
        cls, session_id: str, explicit: bool, frame_size: tuple[int, int], track: Track,
        last_seen: float, frames_seen: int = 0,
    ) -> Session:  # fmt: skip
        """A session whose frames so far are what ``track`` stepped (tests, benchmarks)."""
        return cls(session_id, explicit, frame_size, Segments.of(track), last_seen,
                   frames_seen=frames_seen, newest_sent=track.newest_frame)  # fmt: skip

    @property
    def track(self) -> Track:
        """The track used last (a video sent in order has only one)."""
        return self.segments.main

    @property
    def newest_frame(self) -> int:
        return self.newest_sent

    def took(self, frame_number: int) -> bool:
        """Whether this video already had a frame sent as ``frame_number`` (then this one is
        another video's: each video numbers its frames once)."""
        return self.order.seen_picture(frame_number) is not None

    def awaits_frame_zero(self, now: float, within_s: float) -> bool:
        """A video opened moments ago by a frame that fitted no session, with only its first
        few numbers and no frame 0 yet: the pool delivered its frames 1-3 before frame 0."""
        return (
            self.opened_by == "no_match"
            and now - self.created_at <= within_s
            and 0 < self.newest_sent < OPENING_FRAMES
            and not self.took(0)
        )


@dataclass(frozen=True)
class Routing:
    """Where a frame went and why (logged): its session, and in it the track and the time
    index the frame is tracked at."""

    session: Session
    rule: str  # video_id | frame_zero | continues | late_frame | no_match | new_video_id
    track: Track
    time_index: int
    evicted: tuple[str, ...] = ()
    new_segment: bool = False  # the frame's picture jumped: a new stretch of the video


class SessionRouter:
    """Thread-safe registry of live sessions and the routing rules."""

    def __init__(
        self,
        policy: SessionPolicy,
        tracker_config: TrackerConfig,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self.tracker_config = tracker_config
        self._clock = clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self._prefix = uuid.uuid4().hex[:6]

    def __len__(self) -> int:
        return len(self._sessions)

    def get(self, session_id: str) -> Session | None:
        with self._lock:
            return self._sessions.get(session_id)

    def route(
        self,
        frame_number: int,
        frame_size: tuple[int, int],
        thumbnail: np.ndarray | None,
        video_id: str | None = None,
    ) -> Routing:
        """Find or create the session of this frame."""
        with self._lock:
            now = self._clock()
            evicted = self._expire(now)
            session, rule = self._existing(frame_number, frame_size, thumbnail, video_id)
            if session is None:
                evicted += self._make_room(now)
                session = self._create(video_id, bool(video_id), frame_size, now)
                session.opened_by, session.created_at = rule, now
            session.last_seen = now
            session.frames_seen += 1
            session.newest_sent = max(session.newest_sent, frame_number)
            time_index, reordered = session.order.place(frame_number, thumbnail)
            if reordered:  # the frames so far were tracked at the wrong times
                session.segments.reset()
            track, new_segment = session.segments.place(time_index, thumbnail)
            self._sessions.move_to_end(session.session_id)
            return Routing(session, rule, track, time_index, tuple(evicted), new_segment)

    def peek(
        self,
        frame_number: int,
        frame_size: tuple[int, int],
        thumbnail: np.ndarray | None,
        video_id: str | None = None,
    ) -> Session | None:
        """The live session :meth:`route` would put this frame in now (None: a new one);
        changes nothing (the pipeline asks which video a frame still waiting is of)."""
        with self._lock:
            return self._existing(frame_number, frame_size, thumbnail, video_id)[0]

    def check_room(
        self,
        frame_number: int,
        frame_size: tuple[int, int],
        thumbnail: np.ndarray | None,
        video_id: str | None = None,
    ) -> None:
        """Raise :class:`SessionsFull` if :meth:`route` would refuse this frame now (a new
        video, no room); changes nothing. The pipeline asks before a frame queues for the
        model: a flood of new videos is then refused at once, rather than each of its frames
        holding a server thread and a place in the model's queue for a turn, only to be refused
        (crowding out ``/health`` and the live streams' frames). :meth:`route` still decides."""
        with self._lock:
            now = self._clock()
            session, _ = self._existing(frame_number, frame_size, thumbnail, video_id)
            if session is not None and now - session.last_seen <= self.policy.idle_s:
                return
            live = [s for s in self._sessions.values() if now - s.last_seen <= self.policy.idle_s]
            full = self._no_room(now, live)
        if full is not None:
            raise full

    def _existing(
        self,
        frame_number: int,
        frame_size: tuple[int, int],
        thumbnail: np.ndarray | None,
        video_id: str | None,
    ) -> tuple[Session | None, str]:
        """The session this frame belongs to and the rule that says so; None, with the rule,
        when it starts a new one (a new ``video_id``, a frame 0, no anonymous match)."""
        if video_id:
            session = self._sessions.get(video_id)
            return session, "video_id" if session is not None else "new_video_id"
        if frame_number == 0:
            return self._opening(frame_size, thumbnail)
        return self._match(frame_number, frame_size, thumbnail)

    def _opening(
        self, frame_size: tuple[int, int], thumbnail: np.ndarray | None
    ) -> tuple[Session | None, str]:
        """A frame 0 starts a new video, unless it is the late frame 0 of one whose next
        frames arrived just before it (and whose pictures it fits)."""
        now = self._clock()
        for session in reversed(self._sessions.values()):
            if session.explicit or session.frame_size != frame_size:
                continue
            if not session.awaits_frame_zero(now, self.policy.protect_s):
                continue
            if session.order.nearest_difference(thumbnail) <= self.policy.match_threshold:
                return session, "late_frame"
        return None, "frame_zero"

    def _match(
        self, frame_number: int, frame_size: tuple[int, int], thumbnail: np.ndarray | None
    ) -> tuple[Session | None, str]:
        policy = self.policy
        candidates: list[tuple[float, Session, str]] = []
        for session in self._sessions.values():
            if session.explicit or session.frame_size != frame_size or session.newest_sent < 0:
                continue
            if session.took(frame_number):  # a number it has: another video's
                continue
            ahead = frame_number - session.newest_sent
            if 0 < ahead <= policy.max_forward_gap:
                rule = "continues"
            elif -policy.reorder_window <= ahead <= 0:
                rule = "late_frame"
            else:
                continue
            difference = session.order.nearest_difference(thumbnail)
            if difference > policy.match_threshold:
                continue
            # How well it fits (a late frame pays for the numbers it goes back, like a skip
            # forward).
            candidates.append((_fit(session, thumbnail, difference, ahead), session, rule))
        if not candidates:
            return None, "no_match"
        # The best fit, unless the video seen last fits nearly as well: the stream that is
        # sending now, rather than an idle one whose last picture happens to match.
        best = min(candidates, key=lambda c: (c[0], -c[1].last_seen))
        latest = max(candidates, key=lambda c: c[1].last_seen)
        chosen = latest if latest[0] <= best[0] + NOT_FOLLOWING else best
        return chosen[1], chosen[2]

    def unroute(self, routing: Routing, frame_number: int) -> None:
        """Take back a frame that was routed but not answered (its estimate failed: the
        client may send it again): its number is free again in its session."""
        with self._lock:
            session = routing.session
            session.order.forget(frame_number)
            session.segments.forget_unstepped(routing.track)
            session.newest_sent = session.order.newest_number()
            session.frames_seen = max(session.frames_seen - 1, 0)

    def _create(
        self, session_id: str | None, explicit: bool, frame_size: tuple[int, int], now: float
    ) -> Session:
        session_id = session_id or f"s-{self._prefix}-{next(self._counter)}"
        session = Session.new(session_id, explicit, frame_size, self.tracker_config, now)
        self._sessions[session_id] = session
        return session

    def _expire(self, now: float) -> list[str]:
        stale = [sid for sid, s in self._sessions.items() if now - s.last_seen > self.policy.idle_s]
        for sid in stale:
            del self._sessions[sid]
        return stale

    def _make_room(self, now: float) -> list[str]:
        """Room for one more session: evict the least recently used, or raise
        :class:`SessionsFull` when even that one is live."""
        if len(self._sessions) < self.policy.max_sessions:
            return []
        full = self._no_room(now, list(self._sessions.values()))
        if full is not None:
            raise full
        oldest = next(iter(self._sessions))
        del self._sessions[oldest]
        return [oldest]

    def _no_room(self, now: float, sessions: list[Session]) -> SessionsFull | None:
        """The refusal of a new session among ``sessions`` (least recently used first) when
        there are ``max_sessions`` of them and even the oldest had a frame within
        ``protect_s``; None when there is room or an evictable one."""
        if len(sessions) < self.policy.max_sessions:
            return None
        if now - sessions[0].last_seen >= self.policy.protect_s:
            return None
        return SessionsFull(
            f"{len(sessions)} videos are being tracked, each with a frame in the last "
            f"{self.policy.protect_s:g} s (POSE_SERVICE_MAX_SESSIONS, "
            "POSE_SERVICE_SESSION_PROTECT_S): try again shortly"
        )

    def _enforce_cap(self, keep: str) -> list[str]:
        evicted = []
        while len(self._sessions) > self.policy.max_sessions:
            oldest = next(iter(self._sessions))
            if oldest == keep:  # pragma: no cover - keep is always the newest
                break
            del self._sessions[oldest]
            evicted.append(oldest)
        return evicted

    def live_sessions(self) -> list[Session]:
        """The live sessions, least recently used first (for persisting them)."""
        with self._lock:
            return list(self._sessions.values())

    def restore(self, sessions: list[Session]) -> None:
        """Bring back sessions saved by an earlier process (least recently used first)."""
        with self._lock:
            for session in sessions:
                self._sessions[session.session_id] = session
                self._sessions.move_to_end(session.session_id)
            self._enforce_cap(keep=next(reversed(self._sessions), ""))

    def now(self) -> float:
        """The router's clock (monotonic seconds)."""
        return self._clock()


def _fit(session: Session, thumbnail: np.ndarray | None, nearest: float, ahead: int) -> float:
    """How badly a frame fits a session (lower is better), in grey levels: its difference from
    the picture of the frame it follows by number, or, if a recent picture is nearer (frames
    string-sorted jump in time), from that one plus :data:`NOT_FOLLOWING`; plus
    :data:`PER_SKIPPED_NUMBER` per number skipped. A video whose 5 frames 0-4 were frames 0, 9,
    99, 100 and 101 of a clip does not take frame 8 of that clip sent in order by another video
    whose frame 7 came just before, although its frame 9 looks as much like it."""
    follows = session.order.seen_picture(session.newest_sent)
    after = nearest if follows is None else picture_difference(follows, thumbnail)
    return min(after, nearest + NOT_FOLLOWING) + PER_SKIPPED_NUMBER * abs(ahead - 1)
