"""The saved-session format: a restored session continues exactly; other versions are refused."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from pose_service.sessions.codec import (
    SCHEMA_VERSION,
    UnreadableSession,
    decode_session,
    encode_session,
)
from pose_service.sessions.router import Session
from pose_service.tracking.track import Track, TrackerConfig, TrackState
from tests.tracking.test_track import person


def hmr2_like(i: int):
    """A detection with a mesh and rotations (the hmr2 estimator's fields)."""
    base = person(i)
    base.vertices = np.tile(base.joints_3d, (10, 1)) + 0.001 * i
    base.rotations = Rotation.from_rotvec(np.tile([0, 0.03 * i, 0], (24, 1))).as_matrix()
    base.rotations = base.rotations.astype(np.float32)
    return base


@pytest.mark.parametrize("smoothing", ["off", "kalman", "one_euro"])
def test_a_restored_session_answers_the_next_frames_exactly_as_the_original(smoothing: str):
    config = TrackerConfig(smoothing=smoothing)
    track = Track(config)
    for i in range(12):
        track.step(i, [hmr2_like(i)] if i % 4 else [])
    original = Session.of_track("s-1", True, (640, 360), track, 5.0, 12)
    blob = encode_session(original)
    assert not blob.count(b"pickle") and blob[:2] == b"PK"  # a zip of arrays and a JSON index
    restored = decode_session(blob, config, last_seen=7.0)
    assert (restored.session_id, restored.explicit) == ("s-1", True)
    assert restored.frame_size == (640, 360)
    assert restored.last_seen == 7.0 and restored.frames_seen == 12
    assert restored.track.state is track.state and restored.track.track_id == track.track_id
    for i, people in [(12, []), (13, [hmr2_like(13)]), (10, []), (14, [])]:
        a, b = track.step(i, people), restored.track.step(i, people)
        assert (a.source, a.flags) == (b.source, b.flags)
        assert a.tracking_confidence == b.tracking_confidence
        for field in ("joints_3d", "keypoints_2d", "bbox", "vertices", "rotations"):
            x, y = getattr(a.pose, field), getattr(b.pose, field)
            assert (x is None) == (y is None)
            if x is not None:
                np.testing.assert_allclose(x, y, atol=1e-6)
    assert restored.track.record.snapshot()[0] == track.record.snapshot()[0]


def test_a_lost_track_is_restored_lost():
    config = TrackerConfig(max_gap_frames=2)
    track = Track(config)
    for i, people in enumerate([[person(0)], [], [], [], []]):
        track.step(i, people)
    assert track.state is TrackState.LOST
    blob = encode_session(Session.of_track("x", False, (1, 1), track, 0.0))
    restored = decode_session(blob, config, 0.0)
    assert restored.track.state is TrackState.LOST
    assert restored.track.step(5, []).reason == "track_lost"


def _rewrite_index(blob: bytes, change) -> bytes:
    with np.load(io.BytesIO(blob)) as archive:
        arrays = {name: archive[name] for name in archive.files}
    document = json.loads(arrays["index"].tobytes())
    change(document)
    arrays["index"] = np.frombuffer(json.dumps(document).encode(), dtype=np.uint8)
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def test_another_schema_version_or_garbage_is_refused_with_the_reason():
    blob = encode_session(Session.of_track("x", False, (1, 1), Track(TrackerConfig()), 0.0))
    newer = _rewrite_index(blob, lambda d: d.update(schema=SCHEMA_VERSION + 1))
    with pytest.raises(UnreadableSession, match=f"schema {SCHEMA_VERSION + 1}"):
        decode_session(newer, TrackerConfig(), 0.0)
    with pytest.raises(UnreadableSession):
        decode_session(b"\x80\x04garbage", TrackerConfig(), 0.0)
    bogus = {"usual": None, "uses": 1, "segments": [{"track": {"state": "bogus"}}]}
    bad_record = _rewrite_index(blob, lambda d: d["session"].update(segments=bogus))
    with pytest.raises(UnreadableSession):
        decode_session(bad_record, TrackerConfig(), 0.0)


def test_a_session_saved_before_the_split_loads_with_its_estimator_counters():
    """Written by the code before the pipeline split (commit d336dd2: the counters were the
    session's own fields); it loads, and the stepper reads its counters back."""
    from pathlib import Path

    from pose_service.streaming.counters import EstimatorCounters

    blob = (Path(__file__).parent / "data" / "session_schema3_main_d336dd2.npz").read_bytes()
    restored = decode_session(blob, TrackerConfig(record_max_frames=0), last_seen=1.0)
    assert restored.session_id == "s-old" and restored.track.newest_frame == 3
    counters = EstimatorCounters(restored)
    assert (counters.frames_since_detector, counters.rescue_streak) == (3, 2)
    assert encode_session(restored) == blob  # the format is the same: written back unchanged
