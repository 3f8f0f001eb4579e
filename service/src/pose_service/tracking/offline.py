"""Whole-video mode: when the frames after a gap are known, fill it, and smooth everything.

Streaming can only extrapolate, and has nothing for frames before the first detection. With
the whole video (or everything streamed so far) the track is solved both ways:
- positions (3D joints, root translation, keypoints, box) by a Rauch-Tung-Striebel smoother on
  the constant-velocity model of ``filters``: gaps become smooth bridges between the detections
  around them and detection jitter is removed without lag;
- rotations by slerp between the detections around a gap (held at the ends);
- frames before the first / after the last detection by damped extrapolation of the smoothed
  state (``source: predicted``, flag ``back_filled`` / ``forward_filled``).

It reads a session's :class:`~pose_service.tracking.record.FrameRecord` (or a job's
detections) and the noise and decay of ``motion_model``, the streaming tracker's own.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..types import PersonPose, TrackedPose
from .config import TrackerConfig
from .filters import rts_smooth
from .interpolation import interpolate, ordered_box
from .motion_model import SMOOTHED_FIELDS, MotionModel
from .track import no_pose


def fill_video(
    observations: list[PersonPose | None],
    config: TrackerConfig,
    track_ids: list[int] | None = None,
) -> list[TrackedPose]:
    """One answer per frame from the detections of a whole video (None = missed frame).

    ``track_ids`` (per frame, the streaming track each frame belonged to) splits the video where
    the track was (re)acquired: the tracker may then have switched to another person, so each
    track is smoothed on its own, frames before its first detection (back-filled) belonging to
    the first track and frames after its last one forward-filled until the next track starts.
    """
    starts = _track_starts(observations, track_ids)
    answers: list[TrackedPose] = []
    for (begin, track), end in zip(starts, [s for s, _ in starts[1:]] + [None], strict=True):
        for answer in _fill_one_track(observations[begin:end], config):
            if answer.pose is not None and track:  # 0: a record saved before ids were kept
                answer.track_id = track
            answers.append(answer)
    return answers


def _fill_one_track(
    observations: list[PersonPose | None], config: TrackerConfig
) -> list[TrackedPose]:
    """``fill_video`` for frames that all belong to one track."""
    T = len(observations)
    observed = np.array([o is not None for o in observations])
    if not observed.any():
        return [_nothing() for _ in range(T)]
    seen = np.flatnonzero(observed)
    first, last = int(seen[0]), int(seen[-1])
    model = MotionModel.from_config(config)
    smoothed = {}
    for name in SMOOTHED_FIELDS:
        sample = getattr(observations[first], name)
        if sample is None or any(
            getattr(o, name) is None or getattr(o, name).shape != sample.shape
            for o in observations
            if o is not None
        ):
            continue
        values = np.zeros((T, *sample.shape))
        values[seen] = np.stack([getattr(observations[i], name) for i in seen])
        position, velocity = rts_smooth(values, observed, model.smoother_noise(name))
        _extend_ends(position, velocity, first, last, model.group_of(name).decay)
        smoothed[name] = position.astype(np.float32)
    if "bbox" in smoothed:
        smoothed["bbox"] = ordered_box(smoothed["bbox"])
    settled = model.settled_schedule()
    answers = []
    previous = np.maximum.accumulate(np.where(observed, np.arange(T), -1))
    following = np.minimum.accumulate(np.where(observed, np.arange(T), T)[::-1])[::-1]
    for t in range(T):
        before, after = int(previous[t]), int(following[t])
        base = _base_pose(observations, before, after, t)
        pose = dataclasses.replace(base, **{k: v[t] for k, v in smoothed.items()})
        if observed[t]:
            answers.append(_answer(pose, "detected", base.score, 0, []))
            continue
        nearest = min(t - before if before >= 0 else T, after - t if after < T else T)
        confidence = model.predicted_confidence(
            base.score, model.expected_error_m(settled, nearest)
        )
        if before < 0:
            answers.append(_answer(pose, "predicted", confidence, None, ["back_filled"]))
        elif after >= T:
            answers.append(_answer(pose, "predicted", confidence, t - before, ["forward_filled"]))
        else:
            answers.append(_answer(pose, "interpolated", confidence, t - before, []))
    return answers


def _track_starts(
    observations: list[PersonPose | None], track_ids: list[int] | None
) -> list[tuple[int, int]]:
    """(first frame index, track id) of each track segment; the first segment starts at 0."""
    if track_ids is None:
        return [(0, 1)]
    starts: list[tuple[int, int]] = []
    for index, (observation, track) in enumerate(zip(observations, track_ids, strict=True)):
        if observation is None or (starts and starts[-1][1] == track):
            continue
        starts.append((index if starts else 0, track))
    return starts or [(0, 1)]


def _extend_ends(
    position: np.ndarray, velocity: np.ndarray, first: int, last: int, decay: float
) -> None:
    """Damped constant-velocity extrapolation beyond the first and last detection, in place:
    each frame moves by the velocity, which then decays (``filters.damped_travel``)."""
    for t in range(first - 1, -1, -1):
        position[t] = position[t + 1] - velocity[t + 1]
        velocity[t] = velocity[t + 1] * decay
    for t in range(last + 1, len(position)):
        position[t] = position[t - 1] + velocity[t - 1]
        velocity[t] = velocity[t - 1] * decay


def _base_pose(
    observations: list[PersonPose | None], before: int, after: int, t: int
) -> PersonPose:
    """The pose whose other fields (rotations, mesh, confidences) a frame takes."""
    if 0 <= before == t:
        pose = observations[t]
    elif before >= 0 and after < len(observations):
        a, b = observations[before], observations[after]
        assert a is not None and b is not None
        pose = interpolate(a, b, (t - before) / (after - before))
    else:
        pose = observations[before if before >= 0 else after]
    assert pose is not None
    return pose


def _answer(
    pose: PersonPose, source: str, confidence: float, since: int | None, flags: list[str]
) -> TrackedPose:
    return TrackedPose(
        pose=pose,
        source=source,  # type: ignore[arg-type]
        tracking_confidence=round(float(confidence), 4),
        track_id=1,
        frames_since_detection=since,
        flags=flags,
    )


def _nothing() -> TrackedPose:
    return no_pose("no person detected in any frame of the video", "no_detection_in_video")
