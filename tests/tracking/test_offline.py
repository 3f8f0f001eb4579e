"""Whole-video filling: gaps bridged, ends back/forward-filled, jitter removed, compact record."""

from __future__ import annotations

import numpy as np

from pose_service.tracking.offline import fill_video
from pose_service.tracking.record import FrameRecord
from pose_service.tracking.track import Track, TrackerConfig
from tests.tracking.test_track import TRUTH, person


def noisy(i: int, rng: np.random.Generator):
    p = person(i)
    p.joints_3d = p.joints_3d + rng.normal(0, 0.02, (24, 3)).astype(np.float32)
    return p


def test_every_frame_is_filled_and_gaps_are_bridged():
    observed = [None, None] + [person(i) for i in range(2, 40)]
    observed[20:26] = [None] * 6
    answers = fill_video(observed, TrackerConfig())
    assert all(a.pose is not None for a in answers)
    assert answers[0].source == "predicted" and "back_filled" in answers[0].flags
    assert all(answers[i].source == "interpolated" for i in range(20, 26))
    for i in range(20, 26):
        error = np.abs(answers[i].pose.keypoints_2d - TRUTH["keypoints_2d"][i]).mean()
        hold = np.abs(TRUTH["keypoints_2d"][19] - TRUTH["keypoints_2d"][i]).mean()
        assert error < 0.3 * hold
    gap_confidence = [answers[i].tracking_confidence for i in range(20, 23)]
    assert gap_confidence[0] > gap_confidence[2]  # further from a detection: less sure


def test_smoothing_reduces_noise_on_detected_frames():
    rng = np.random.default_rng(0)
    observed = [noisy(i, rng) for i in range(60)]
    answers = fill_video(observed, TrackerConfig())
    raw = np.mean([np.linalg.norm(o.joints_3d - TRUTH["joints_3d"][i], axis=1).mean()
                   for i, o in enumerate(observed)])  # fmt: skip
    smooth = np.mean([np.linalg.norm(a.pose.joints_3d - TRUTH["joints_3d"][i], axis=1).mean()
                      for i, a in enumerate(answers)])  # fmt: skip
    assert smooth < 0.7 * raw


def test_no_detection_at_all_gives_no_pose():
    answers = fill_video([None] * 5, TrackerConfig())
    assert all(a.pose is None and a.reason == "no_detection_in_video" for a in answers)


def test_record_is_compact_and_round_trips():
    record = FrameRecord(10_000)
    for i in range(10_000):
        record.add(i, person(i % 90) if i % 3 else None)
    assert record.nbytes() <= 5 * 1024 * 1024
    observations = record.observations()
    assert len(observations) == 10_000 and observations[0] is None
    np.testing.assert_allclose(observations[1].joints_3d, TRUTH["joints_3d"][1], atol=1e-3)
    record.add(10_000, person(0))
    assert record.truncated


def test_track_records_what_it_accepted():
    track = Track(TrackerConfig())
    for i in range(10):
        track.step(i, [person(i)] if i != 4 else [])
    observations = track.record.observations()
    assert observations[4] is None and observations[5] is not None


def test_a_reacquired_track_is_smoothed_apart_from_the_one_before():
    """Frames 0-11 follow one person, 14-29 another 300 px away (the tracker re-acquired on
    them, track 2); 12-13 are missed. Nothing of the first person may be blended into the
    second, and the missed frames stay with the first person (forward-filled)."""
    observed = [person(i) for i in range(12)] + [None, None]
    observed += [person(i, shift=300.0) for i in range(14, 30)]
    track_ids = [1] * 14 + [2] * 16
    answers = fill_video(observed, TrackerConfig(), track_ids)
    assert [a.track_id for a in answers] == track_ids
    assert [a.source for a in answers[12:14]] == ["predicted", "predicted"]
    assert all("forward_filled" in a.flags for a in answers[12:14])
    for i in (12, 13):  # near the first person, not half-way to the second
        assert np.abs(answers[i].pose.keypoints_2d - TRUTH["keypoints_2d"][i]).mean() < 30
    for i in range(14, 30):  # the second person, exactly where detected
        expected = TRUTH["keypoints_2d"][i] + 300.0
        assert np.abs(answers[i].pose.keypoints_2d - expected).mean() < 5
    merged = fill_video(observed, TrackerConfig())  # without ids: one smoothed trajectory
    assert np.abs(merged[13].pose.keypoints_2d - TRUTH["keypoints_2d"][13]).mean() > 100


def test_a_record_saved_without_a_field_gains_it_and_a_smaller_cap_truncates():
    record = FrameRecord(100)
    record.add(0, person(0), 1)
    state = record.to_state()
    del state["arrays"]["track"]  # as saved before track ids were recorded
    restored = FrameRecord.from_state(state, 100)
    restored.add(1, person(1), 3)
    assert restored.track_ids() == [0, 3]
    assert len(restored.observations()) == 2
    smaller = FrameRecord.from_state(restored.to_state(), 1)
    assert smaller.frame_numbers() == [0] and smaller.truncated


def _read_while_writing(read) -> list[tuple[int, int, int]]:
    """Lengths of (frame numbers, observations, track ids) read while a stream adds frames."""
    import sys
    import threading

    record = FrameRecord(10_000)
    done = threading.Event()

    def stream() -> None:
        for i in range(6000):
            record.add(i, person(i % 40) if i % 3 else None, 1 + i // 500)
        done.set()

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, as a busy service does
    try:
        writer = threading.Thread(target=stream)
        writer.start()
        lengths = []
        while not done.is_set():
            numbers, observations, ids = read(record)
            lengths.append((len(numbers), len(observations), len(ids)))
        writer.join()
    finally:
        sys.setswitchinterval(previous)
    return lengths


def test_a_snapshot_taken_while_frames_arrive_is_consistent():
    """GET /sessions/<id> while its video streams: before the lock, three separate reads
    disagreed in length (a 500 from zip(strict=True)) in most tries."""
    lengths = _read_while_writing(FrameRecord.snapshot)
    assert lengths and all(a == b == c for a, b, c in lengths)
