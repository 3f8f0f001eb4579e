"""The methods compared, all fed the same per-frame detections.

Each returns a ``Result``: camera-frame joints per frame (NaN where it gives no pose), the
body-frame joints, confidences and gaps, and the time it took per frame.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...tracking.config import TrackerConfig
from ...tracking.offline import fill_video
from ...types import PersonPose, TrackedPose
from .in_flight import stream_in_flight

Detections = list[PersonPose | None]


@dataclass
class Result:
    """One method's output for a whole sequence."""

    joints: np.ndarray  # (T, 24, 3) body frame, NaN where no pose
    root: np.ndarray  # (T, 3) camera frame, NaN where no pose
    confidence: np.ndarray  # (T,) tracking confidence (0 where no pose)
    ms_per_frame: float
    sources: tuple[str, ...] = ()  # the tracker's answer source per frame (streaming only)


def _result(
    poses: list[PersonPose | None],
    confidence: list[float],
    seconds: float,
    sources: tuple[str, ...] = (),
) -> Result:
    T = len(poses)
    joints = np.full((T, 24, 3), np.nan)
    root = np.full((T, 3), np.nan)
    for t, pose in enumerate(poses):
        if pose is not None:
            joints[t] = pose.joints_3d
            if pose.camera_translation is not None:
                root[t] = pose.camera_translation
    ms = seconds * 1e3 / max(T, 1)
    return Result(joints, root, np.asarray(confidence, dtype=float), ms, sources)


def _from_answers(answers: list[TrackedPose], seconds: float) -> Result:
    poses = [a.pose for a in answers]
    sources = tuple(a.source or "" for a in answers)
    return _result(poses, [a.tracking_confidence for a in answers], seconds, sources)


def streaming(detections: Detections, config: TrackerConfig, in_flight: int = 1) -> Result:
    """The service's streaming answers, frame by frame, for a client keeping ``in_flight``
    requests outstanding (``in_flight``: missed frames filled from the frames in hand)."""
    start = time.perf_counter()
    answers = stream_in_flight(detections, config, in_flight)
    return _from_answers(answers, time.perf_counter() - start)


def whole_video(detections: Detections, config: TrackerConfig) -> Result:
    """The whole-video filler and smoother (``tracking.offline``)."""
    start = time.perf_counter()
    answers = fill_video(detections, config)
    return _from_answers(answers, time.perf_counter() - start)


def no_fill(detections: Detections, config: TrackerConfig) -> Result:
    """The estimator alone (HMR2 without a tracker): nothing where it missed."""
    return _result(detections, [0.0 if d is None else d.score for d in detections], 0.0)


def hold_last(detections: Detections, config: TrackerConfig) -> Result:
    """What PHALP outputs for a missed frame: the stale last-seen pose."""
    start = time.perf_counter()
    poses: list[PersonPose | None] = []
    last = None
    for d in detections:
        last = d if d is not None else last
        poses.append(last)
    seconds = time.perf_counter() - start
    return _result(poses, [0.0 if p is None else p.score for p in poses], seconds)


def linear(detections: Detections, config: TrackerConfig) -> Result:
    """Linear interpolation between the detections around a gap (offline), nearest at the
    ends: the simplest whole-video filler."""
    start = time.perf_counter()
    seen = [t for t, d in enumerate(detections) if d is not None]
    T = len(detections)
    joints = np.full((T, 24, 3), np.nan)
    root = np.full((T, 3), np.nan)
    if seen:
        stack = np.stack([detections[t].joints_3d for t in seen])  # type: ignore[union-attr]
        roots = np.stack([detections[t].camera_translation for t in seen])  # type: ignore[union-attr]
        frames = np.arange(T)
        for j in range(24):
            for c in range(3):
                joints[:, j, c] = np.interp(frames, seen, stack[:, j, c])
        for c in range(3):
            root[:, c] = np.interp(frames, seen, roots[:, c])
    seconds = time.perf_counter() - start
    confidence = np.where(np.isnan(joints[:, 0, 0]), 0.0, 0.9)
    return Result(joints, root, confidence, seconds * 1e3 / max(T, 1))


METHODS: dict[str, Callable[[Detections, TrackerConfig], Result]] = {
    "streaming": streaming,
    "whole_video": whole_video,
    "no_fill": no_fill,
    "hold_last": hold_last,
    "linear": linear,
}
