"""Whole-video mode: when the frames after a gap are known, fill it, and smooth everything.

Streaming can only extrapolate, and has nothing for frames before the first detection. With
the whole video (or everything streamed so far) the track is solved both ways:
- positions (3D joints, root translation, keypoints, box) by a Rauch-Tung-Striebel smoother on
  the constant-velocity model of ``filters``: gaps become smooth bridges between the detections
  around them and detection jitter is removed without lag;
- rotations by slerp between the detections around a gap (held at the ends);
- frames before the first / after the last detection by damped extrapolation of the smoothed
  state (``source: predicted``, flag ``back_filled`` / ``forward_filled``).

``FrameRecord`` is what a session keeps for this: every frame's accepted detection, compactly
(float16 body-frame joints, float32 pixels, uint8 confidences; ~400 bytes a frame, no mesh), so a
10 000-frame video costs about 4 MB.
"""

from __future__ import annotations

import dataclasses
import math
import threading

import numpy as np

from ..types import PersonPose, TrackedPose
from .filters import KalmanCV, MotionNoise, rts_smooth
from .motion import interpolate
from .track import (
    FILTERED_FIELDS,
    PREDICTED_CONFIDENCE_CAP,
    TrackerConfig,
    _decay_for,
    _noise_models,
    no_pose,
)


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
    noise = _noise_models(config)
    smoothed = {}
    for name in FILTERED_FIELDS:
        sample = getattr(observations[first], name)
        if sample is None or any(
            getattr(o, name) is None or getattr(o, name).shape != sample.shape
            for o in observations
            if o is not None
        ):
            continue
        values = np.zeros((T, *sample.shape))
        values[seen] = np.stack([getattr(observations[i], name) for i in seen])
        model = noise[name]
        if name == "joints_3d":
            model = dataclasses.replace(model, q_std=config.smoother_accel_m)
        position, velocity = rts_smooth(values, observed, model)
        _extend_ends(position, velocity, first, last, _decay_for(name, config))
        smoothed[name] = position.astype(np.float32)
    error = _expected_error(noise["joints_3d"], config.joint_velocity_decay)
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
        confidence = (
            base.score
            * PREDICTED_CONFIDENCE_CAP
            * math.exp(-error(nearest) / config.confidence_error_scale_m)
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
    """Damped constant-velocity extrapolation beyond the first and last detection, in place."""
    for t in range(first - 1, -1, -1):
        velocity[t] = velocity[t + 1] * decay
        position[t] = position[t + 1] - velocity[t]
    for t in range(last + 1, len(position)):
        velocity[t] = velocity[t - 1] * decay
        position[t] = position[t - 1] + velocity[t]


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


def _expected_error(noise: MotionNoise, decay: float):
    """Expected joint error (m) ``k`` frames from the nearest detection, from the filter."""
    kf = KalmanCV(noise, decay)
    kf.start(np.zeros(1))
    for _ in range(10):  # settle the covariance as after a run of detections
        kf.update(np.zeros(1), 1)
    return lambda k: math.sqrt(3.0) * kf.position_std(k)


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


class FrameRecord:
    """Every frame of one video so far: which were received, and the accepted detections.

    Dense arrays indexed by ``frame_number - base`` that grow by doubling up to
    ``max_frames``; frames beyond the cap are not recorded (``truncated``). A lock makes
    :meth:`snapshot` (``GET /sessions/<id>``) consistent while the stream keeps adding frames.
    """

    def __init__(self, max_frames: int) -> None:
        self._lock = threading.Lock()
        self.max_frames = max_frames
        self.base: int | None = None
        self.size = 0  # highest recorded index + 1
        self.truncated = False
        self._cap = 0
        self._arrays: dict[str, np.ndarray] = {}

    # Per-frame arrays: name -> (shape of one frame, dtype).
    FIELDS: dict[str, tuple[tuple[int, ...], type]] = {
        "received": ((), bool), "detected": ((), bool), "joints": ((24, 3), np.float16),
        "keypoints": ((24, 2), np.float32), "confidence": ((24,), np.uint8),
        "translation": ((3,), np.float32), "bbox": ((4,), np.float32),
        "score": ((), np.float16), "focal": ((), np.float32), "track": ((), np.uint16),
    }  # fmt: skip

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict) -> None:
        """Restore a record saved by an older version: fields it lacked start as zeros."""
        self.__dict__.update(state)
        self._lock = threading.Lock()
        for name, (shape, dtype) in self.FIELDS.items():
            if name not in self._arrays:
                self._arrays[name] = np.zeros((self._cap, *shape), dtype=dtype)

    def _grow(self, needed: int) -> None:
        cap = min(max(needed, 2 * self._cap, 64), self.max_frames)
        for name, (shape, dtype) in self.FIELDS.items():
            fresh = np.zeros((cap, *shape), dtype=dtype)
            if name in self._arrays:
                fresh[: self._cap] = self._arrays[name]
            self._arrays[name] = fresh
        self._cap = cap

    def add(self, frame_number: int, detection: PersonPose | None, track_id: int = 1) -> None:
        """Note that a frame arrived, with the detection the track accepted (or None) and the
        id of the track it belonged to."""
        with self._lock:
            self._add(frame_number, detection, track_id)

    def _add(self, frame_number: int, detection: PersonPose | None, track_id: int) -> None:
        if self.base is None:
            self.base = frame_number
        index = frame_number - self.base
        if index < 0 or index >= self.max_frames:
            self.truncated = True
            return
        if index >= self._cap:
            self._grow(index + 1)
        a = self._arrays
        a["received"][index] = True
        a["track"][index] = min(max(track_id, 0), np.iinfo(np.uint16).max)
        self.size = max(self.size, index + 1)
        if detection is None or detection.joints_3d.shape != (24, 3):
            return
        a["detected"][index] = True
        a["joints"][index] = detection.joints_3d
        a["keypoints"][index] = detection.keypoints_2d
        a["confidence"][index] = np.round(np.clip(detection.joint_confidence, 0, 1) * 255)
        a["bbox"][index] = detection.bbox
        a["score"][index] = detection.score
        translation = detection.camera_translation
        a["translation"][index] = np.nan if translation is None else translation
        a["focal"][index] = np.nan if detection.focal_length is None else detection.focal_length

    def nbytes(self) -> int:
        return sum(a.nbytes for a in self._arrays.values())

    def snapshot(self) -> tuple[list[int], list[PersonPose | None], list[int]]:
        """Frame numbers, accepted detections and track ids of the received frames, read
        together under the lock (the three lists always have the same length)."""
        with self._lock:
            return self.frame_numbers(), self.observations(), self.track_ids()

    def frame_numbers(self) -> list[int]:
        """The frame numbers received so far, in order."""
        if self.base is None:
            return []
        received = self._arrays["received"][: self.size]
        return [self.base + int(i) for i in np.flatnonzero(received)]

    def track_ids(self) -> list[int]:
        """The track id of every received frame, in order (0 before any track)."""
        if self.base is None:
            return []
        a = self._arrays
        return [int(v) for v in a["track"][: self.size][a["received"][: self.size]]]

    def observations(self) -> list[PersonPose | None]:
        """The accepted detection of every received frame (None where nothing was)."""
        out: list[PersonPose | None] = []
        if self.base is None:
            return out
        a = self._arrays
        for i in np.flatnonzero(a["received"][: self.size]):
            if not a["detected"][i]:
                out.append(None)
                continue
            translation = a["translation"][i]
            focal = float(a["focal"][i])
            out.append(
                PersonPose(
                    joints_3d=a["joints"][i].astype(np.float32),
                    keypoints_2d=a["keypoints"][i].copy(),
                    joint_confidence=a["confidence"][i].astype(np.float32) / 255.0,
                    score=float(a["score"][i]),
                    bbox=a["bbox"][i].copy(),
                    camera_translation=None if np.isnan(translation).any() else translation.copy(),
                    focal_length=None if math.isnan(focal) else focal,
                )
            )
        return out
