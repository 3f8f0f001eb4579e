"""The streaming tracker on smooth synthetic motion with known truth."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pose_service.tracking.track import Track, TrackerConfig, TrackState
from pose_service.types import PersonPose
from tests.support.motion import walking_sequence

TRUTH = walking_sequence(90)


def person(i: int, shift: float = 0.0, score: float = 0.9) -> PersonPose:
    keypoints = TRUTH["keypoints_2d"][i] + np.float32(shift)
    return PersonPose(
        joints_3d=TRUTH["joints_3d"][i].copy(),
        keypoints_2d=keypoints,
        joint_confidence=np.full(24, 0.9, dtype=np.float32),
        score=score,
        bbox=np.array([*keypoints.min(0), *keypoints.max(0)], dtype=np.float32),
        camera_translation=TRUTH["camera_translation"][i].copy(),
    )


def pixel_error(pose: PersonPose, i: int) -> float:
    return float(np.linalg.norm(pose.keypoints_2d - TRUTH["keypoints_2d"][i], axis=1).mean())


def test_prediction_beats_holding_the_last_pose_and_confidence_falls():
    track = Track(TrackerConfig())
    for i in range(20):
        track.step(i, [person(i)])
    confidences = []
    for i in range(20, 28):
        answer = track.step(i, [])
        assert answer.source == "predicted" and answer.pose is not None
        assert answer.frames_since_detection == i - 19
        hold_last = float(np.linalg.norm(TRUTH["keypoints_2d"][19] - TRUTH["keypoints_2d"][i],
                                         axis=1).mean())  # fmt: skip
        assert pixel_error(answer.pose, i) < 0.5 * hold_last
        confidences.append(answer.tracking_confidence)
    assert all(b < a for a, b in zip(confidences, confidences[1:], strict=False))
    assert confidences[0] < 0.9  # below the detection it came from


def test_nothing_before_the_first_detection_and_after_the_track_is_dropped():
    track = Track(TrackerConfig(max_gap_frames=5))
    first = track.step(0, [])
    assert first.pose is None and first.reason == "no_track_yet"
    track.step(1, [person(1)])
    for i in range(2, 7):
        assert track.step(i, []).source == "predicted"
    lost = track.step(7, [])
    assert lost.pose is None and lost.reason == "track_lost" and "dropped" in lost.error
    again = track.step(8, [person(8)])
    assert again.source == "detected" and again.track_id == 2


def test_the_track_state_follows_its_life():
    """empty -> confirmed -> coasting (misses, a rejection) -> lost -> confirmed, new id."""
    track = Track(TrackerConfig(max_gap_frames=3))
    states = []
    for i, people in enumerate([[], [person(1)], [person(2)], [], [person(4, shift=500.0)], []]):
        track.step(i, people)
        states.append(track.state)
    E, C, K, L = TrackState.EMPTY, TrackState.CONFIRMED, TrackState.COASTING, TrackState.LOST
    assert states == [E, C, C, K, K, K]
    track.step(6, [])  # 4 frames since the last accepted detection: beyond the limit
    assert track.state is L and track.expect(7).hint is None
    track.step(7, [person(7)])
    assert track.state is C and track.track_id == 2 and track.expect(8).hint is not None


def test_a_rescued_detection_is_flagged_and_a_rejected_rescue_never_reacquires():
    track = Track(TrackerConfig(reacquire_after=2))
    assert track.expect(0).search_box is None  # nothing to look for before the first detection
    for i in range(10):
        track.step(i, [person(i)])
    box = track.expect(10).search_box
    assert box is not None and np.abs(box - person(10).bbox).max() < 20  # where it will be
    assert track.expect(10).accepts([person(10)]) and not track.expect(10).accepts([])
    assert not track.expect(10).accepts([person(10, shift=600.0)])
    rescued = track.step(10, [person(10)], rescued=True)
    assert rescued.source == "detected" and rescued.flags == ["rescued"]
    for i in (11, 12, 13):  # a wrong person found on a second look, again and again
        answer = track.step(i, [person(i, shift=600.0)], rescued=True)
        assert answer.source == "predicted" and answer.flags[:2] == ["rescue_rejected", "jump"]
    assert track.track_id == 1  # unlike first-look rejections, these never re-acquire
    assert track.expect(13).search_box is None  # a late frame is never searched again


def test_keeps_following_the_same_person_when_another_appears():
    track = Track(TrackerConfig())
    for i in range(10):
        track.step(i, [person(i)])
    bystander = person(10, shift=250.0, score=0.99)  # more confident, elsewhere in the frame
    answer = track.step(10, [bystander, person(10)])
    assert answer.pose is not None and pixel_error(answer.pose, 10) < 1.0
    assert answer.track_id == 1


def test_a_detection_far_from_the_track_is_rejected_then_reacquired():
    track = Track(TrackerConfig(reacquire_after=3))
    for i in range(10):
        track.step(i, [person(i)])
    garbage = [person(i, shift=600.0) for i in range(10, 13)]
    first = track.step(10, [garbage[0]])
    assert first.source == "predicted" and "outlier_rejected" in first.flags
    assert first.scores["association_cost"] > 1.0
    track.step(11, [garbage[1]])
    third = track.step(12, [garbage[2]])
    assert third.source == "detected" and "reacquired" in third.flags and third.track_id == 2


def test_late_frames_are_interpolated_without_disturbing_the_track():
    track = Track(TrackerConfig())
    for i in (0, 1, 2, 4, 5):
        track.step(i, [person(i)])
    late = track.step(3, [])
    assert late.source == "interpolated" and late.pose is not None
    assert pixel_error(late.pose, 3) < 1.0
    assert track.newest_frame == 5
    assert track.step(6, []).frames_since_detection == 1


def test_a_frame_far_behind_the_kept_answers_gets_no_far_away_pose():
    """Before: frame 5 of a video at frame 79 was answered `interpolated` from frame 47's pose."""
    track = Track(TrackerConfig(history_frames=32))
    for i in range(80):
        track.step(i, [person(i)])
    late = track.step(5, [])
    assert late.pose is None and late.reason == "frame_too_late" and "74 frames" in late.error
    assert track.step(80, []).source == "predicted"  # the track is untouched
    assert track.step(60, []).source == "interpolated"  # within the kept answers: as before


def test_a_left_right_flip_is_flagged_with_its_scores_and_not_followed():
    """The classic monocular failure: the estimator swaps the body's sides for a frame."""
    from pose_service.skeleton import LEFT_RIGHT_PAIRS

    track = Track(TrackerConfig())
    for i in range(20):
        track.step(i, [person(i)])
    flipped = person(20)
    for left, right in LEFT_RIGHT_PAIRS:
        flipped.joints_3d[[left, right]] = flipped.joints_3d[[right, left]]
    answer = track.step(20, [flipped])
    assert answer.source == "predicted"
    assert {"outlier_rejected", "left_right_flip"} <= set(answer.flags)
    assert answer.scores["flipped_distance_m"] < 0.5 * answer.scores["joint_distance_m"]
    # the answer keeps the sides the track had: left wrist still on the track's left
    wrist = 20  # SMPL left_wrist
    truth = TRUTH["joints_3d"][20][wrist]
    assert np.linalg.norm(answer.pose.joints_3d[wrist] - truth) < 0.1
    assert track.step(21, [person(21)]).source == "detected"  # the next good frame is taken


def _jitter(poses: list[np.ndarray]) -> float:
    stack = np.stack(poses)
    return float(np.linalg.norm(stack[2:] - 2 * stack[1:-1] + stack[:-2], axis=-1).mean())


def test_causal_smoothing_reduces_jitter_without_visible_lag():
    rng = np.random.default_rng(5)
    noisy = []
    for i in range(80):
        p = person(i)
        p.joints_3d = p.joints_3d + rng.normal(0, 0.02, (24, 3)).astype(np.float32)
        noisy.append(p)
    raw_error = np.mean([np.linalg.norm(noisy[i].joints_3d - TRUTH["joints_3d"][i], axis=1).mean()
                         for i in range(10, 80)])  # fmt: skip
    for mode in ("one_euro", "kalman"):
        track = Track(TrackerConfig(smoothing=mode))
        out = [track.step(i, [noisy[i]]).pose.joints_3d for i in range(80)]
        assert _jitter(out[10:]) < 0.7 * _jitter([p.joints_3d for p in noisy[10:]]), mode
        error = np.mean([np.linalg.norm(out[i] - TRUTH["joints_3d"][i], axis=1).mean()
                         for i in range(10, 80)])  # fmt: skip
        assert error < raw_error, mode  # smoothing gets closer to the truth, lag included
    off = Track(TrackerConfig())
    assert off.step(0, [noisy[0]]).pose.joints_3d is noisy[0].joints_3d  # default: as detected


def _resized(pose: PersonPose, factor: float) -> PersonPose:
    """The pose with every keypoint pulled towards (or pushed from) their centroid."""
    centre = pose.keypoints_2d.mean(axis=0)
    keypoints = (centre + factor * (pose.keypoints_2d - centre)).astype(np.float32)
    bbox = np.array([*keypoints.min(0), *keypoints.max(0)], dtype=np.float32)
    return dataclasses.replace(pose, keypoints_2d=keypoints, bbox=bbox)


def test_a_detection_that_collapses_every_keypoint_is_a_jump_and_does_not_steer_the_track():
    """What lite does on a dark or blurred small subject: a confident pose with every keypoint
    in the upper body (spread 0.45x). Before, it was accepted (its mean keypoint distance is well
    inside the image gate), its velocity carried the prediction off the person, and the good
    detections after it were rejected as jumps."""
    track = Track(TrackerConfig())
    for i in range(10):
        track.step(i, [person(i)])
    collapsed = track.step(10, [_resized(person(10), 0.45)])
    assert collapsed.source == "predicted" and "jump" in collapsed.flags
    assert collapsed.scores["spread_ratio"] == pytest.approx(0.45, abs=0.05)
    assert collapsed.scores["association_cost"] < track.config.gate  # the old gates took it
    for i in range(11, 15):
        answer = track.step(i, [person(i)])
        assert answer.source == "detected" and answer.flags == [], i
    assert pixel_error(answer.pose, 14) < 1e-3


def test_a_person_changing_size_stays_tracked_and_only_a_collapse_is_a_jump():
    for factor in (1.04, 0.97):  # every frame: a runner coming at the camera, or leaving
        track = Track(TrackerConfig(gate_scale=1.5))
        for i in range(30):
            answer = track.step(i, [_resized(person(i), factor**i)])
            assert answer.source == "detected", (factor, i)
    track = Track(TrackerConfig(gate_scale=1.5))
    for i in range(10):
        track.step(i, [person(i)])
    for i in range(10, 14):
        track.step(i, [])
    # Larger after a gap: the estimator seeing the whole person again (the other gates hold).
    assert track.step(14, [_resized(person(14), 1.8)]).source == "detected"
    # Smaller than the running size by more than the gate, after a restart too: a jump.
    # (the gate widens over a gap: see the test below)
    restored = Track.from_state(TrackerConfig(gate_scale=1.5), track.to_state())
    assert "jump" in restored.step(15, [_resized(person(15), 0.6)]).flags


def test_a_person_who_grew_smaller_while_the_track_coasted_is_taken_when_found_again():
    """Walking away, 3% smaller a frame, unseen for 14 frames: found at 0.65x the last size.
    The size gate widens by ``SIZE_CHANGE_PER_FRAME`` a frame of the gap (before, the fixed 1.5x
    refused him until the track was dropped); one frame on, the same shrink is a jump."""
    track = Track(TrackerConfig(gate_scale=1.5))
    for i in range(10):
        track.step(i, [person(i)])
    for i in range(10, 24):
        track.step(i, [])
    assert track.step(24, [_resized(person(24), 0.97**14)]).source == "detected"
    fresh = Track(TrackerConfig(gate_scale=1.5))
    for i in range(10):
        fresh.step(i, [person(i)])
    assert "jump" in fresh.step(10, [_resized(person(10), 0.97**14)]).flags


def test_the_search_box_has_the_last_detections_size_where_the_track_predicts_the_person():
    """After a shrinking detection the prediction's own extent keeps shrinking (each corner by
    its velocity); the search box keeps the last detection's size, centred on the prediction."""
    track = Track(TrackerConfig())
    for i in range(10):
        track.step(i, [person(i)])
    track.step(10, [_resized(person(10), 0.8)])  # within the gate, but its velocity shrinks
    predicted = track.prediction(14)
    box = track.expect(14).search_box
    last = _resized(person(10), 0.8)
    size = np.ptp(np.vstack([last.keypoints_2d, last.bbox.reshape(2, 2)]), axis=0)
    np.testing.assert_allclose(box[2:] - box[:2], size, rtol=1e-5)
    points = np.vstack([predicted.keypoints_2d, predicted.bbox.reshape(2, 2)])
    centre = (points.min(axis=0) + points.max(axis=0)) / 2
    np.testing.assert_allclose((box[:2] + box[2:]) / 2, centre, rtol=1e-5)
    assert (np.ptp(points, axis=0) < size).all()  # the prediction's extent shrank further


def test_a_predicted_box_never_turns_inside_out():
    """Each corner moves by its own velocity: a box that shrank fast used to be predicted with
    its bottom above its top (answered to clients as is)."""
    track = Track(TrackerConfig())
    for i in range(3):
        track.step(i, [_resized(person(i), 1.0 - 0.1 * i)])
    for i in range(3, 30):
        x0, y0, x1, y1 = track.step(i, []).pose.bbox
        assert x0 <= x1 and y0 <= y1, i


def test_a_step_never_uses_another_tracks_expectation():
    """An expectation is its track's: handed to another track (same frame, same number of
    steps), that track makes its own instead of judging by someone else's prediction."""
    ours, other = Track(TrackerConfig()), Track(TrackerConfig())
    for i in range(10):
        ours.step(i, [person(i)])
        other.step(i, [person(i, shift=600.0)])
    foreign = other.expect(10)
    assert not foreign.accepts([person(10)])  # by the other's prediction: too far away
    assert ours.step(10, [person(10)], expected=foreign).source == "detected"
