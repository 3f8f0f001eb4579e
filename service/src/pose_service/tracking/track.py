"""One video's track of its main subject, frame by frame (streaming).

Per frame the tracker gets every person the estimator found and answers one pose:
- the detection that continues the track (association by keypoint distance to the track's
  prediction, in units of the person's box diagonal), or
- when nothing usable was detected, the track's prediction (damped constant velocity), with a
  ``tracking_confidence`` that falls as the gap grows, or
- nothing, with the reason, before the first detection or once the track was dropped.

A detection far from the prediction is not trusted blindly (the old service returned garbage
"detections"): it is rejected and logged, and only repeated disagreement re-acquires the track.
Frames that arrive late (behind the newest one) are answered from the track's history by
interpolation and do not disturb its forward state.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ..types import PersonPose, TrackedPose
from .motion import Velocity, blend_velocity, extrapolate, interpolate, measure_velocity

MIN_JOINT_CONFIDENCE = 0.3  # joints below this do not count in association costs
PREDICTED_CONFIDENCE_CAP = 0.9  # a predicted frame is always below the detection it came from


@dataclass(frozen=True)
class TrackerConfig:
    """The tracker's knobs (filled from :class:`~pose_service.config.Settings`)."""

    max_gap_frames: int = 45
    velocity_decay: float = 0.95
    velocity_smoothing: float = 0.5
    confidence_tau_frames: float = 8.0
    gate: float = 1.0
    reacquire_after: int = 3
    history_frames: int = 64


def association_cost(predicted: PersonPose, candidate: PersonPose) -> float:
    """Mean keypoint distance between two poses, in units of the predicted box diagonal."""
    x0, y0, x1, y1 = predicted.bbox
    diagonal = max(math.hypot(x1 - x0, y1 - y0), 1.0)
    usable = (predicted.joint_confidence >= MIN_JOINT_CONFIDENCE) & (
        candidate.joint_confidence >= MIN_JOINT_CONFIDENCE
    )
    if usable.sum() < 3:
        usable = np.ones_like(usable)
    distances = np.linalg.norm(
        predicted.keypoints_2d[usable] - candidate.keypoints_2d[usable], axis=1
    )
    return float(distances.mean() / diagonal)


def person_salience(person: PersonPose) -> float:
    """Which person to start a track on: confident and large (the main subject)."""
    x0, y0, x1, y1 = person.bbox
    return person.score * math.sqrt(max((x1 - x0) * (y1 - y0), 1.0))


class Track:
    """The streaming tracker of one video."""

    def __init__(self, config: TrackerConfig) -> None:
        self.config = config
        self.track_id = 0  # 0 = no track yet; increments at each (re)acquisition
        self._anchor: PersonPose | None = None  # last accepted detection
        self._anchor_frame = -1
        self._anchor_confidence = 0.0
        self._velocity = Velocity.zero()
        self._rejections = 0
        self._lost_reason: str | None = None
        self.newest_frame = -1
        self.history: OrderedDict[int, TrackedPose] = OrderedDict()

    @property
    def active(self) -> bool:
        return self._anchor is not None

    def step(self, frame_number: int, people: list[PersonPose]) -> TrackedPose:
        """The answer for one frame, given everyone the estimator found in it."""
        if frame_number <= self.newest_frame:
            answer = self._late_frame(frame_number, people)
        else:
            answer = self._next_frame(frame_number, people)
            self.newest_frame = frame_number
        self._remember(frame_number, answer)
        return answer

    # --- frames in order -----------------------------------------------------------------
    def _next_frame(self, frame_number: int, people: list[PersonPose]) -> TrackedPose:
        if (
            self._anchor is not None
            and frame_number - self._anchor_frame > self.config.max_gap_frames
        ):
            self._drop(
                f"track {self.track_id} dropped: no person detected for "
                f"{frame_number - self._anchor_frame} frames (limit {self.config.max_gap_frames})"
            )
        if self._anchor is None:
            if people:
                return self._acquire(frame_number, max(people, key=person_salience), [])
            return self._nothing(frame_number)

        predicted = extrapolate(
            self._anchor,
            self._velocity,
            frame_number - self._anchor_frame,
            self.config.velocity_decay,
        )
        if people:
            costs = [association_cost(predicted, p) for p in people]
            best = int(np.argmin(costs))
            if costs[best] <= self.config.gate:
                self._rejections = 0
                return self._accept(frame_number, people[best], costs[best])
            self._rejections += 1
            if self._rejections >= self.config.reacquire_after:
                chosen = max(people, key=person_salience)
                return self._acquire(frame_number, chosen, ["reacquired"])
            return self._predict(
                frame_number, predicted, ["outlier_rejected"], {"association_cost": costs[best]}
            )
        return self._predict(frame_number, predicted, [], {})

    def _acquire(self, frame_number: int, person: PersonPose, flags: list[str]) -> TrackedPose:
        self.track_id += 1
        self._anchor, self._anchor_frame = person, frame_number
        self._velocity = Velocity.zero()
        self._rejections = 0
        self._lost_reason = None
        self._anchor_confidence = _detected_confidence(person)
        return TrackedPose(
            pose=person,
            source="detected",
            tracking_confidence=self._anchor_confidence,
            track_id=self.track_id,
            frames_since_detection=0,
            flags=["track_started", *flags],
        )

    def _accept(self, frame_number: int, person: PersonPose, cost: float) -> TrackedPose:
        assert self._anchor is not None
        measured = measure_velocity(self._anchor, person, frame_number - self._anchor_frame)
        self._velocity = blend_velocity(self._velocity, measured, self.config.velocity_smoothing)
        self._anchor, self._anchor_frame = person, frame_number
        self._anchor_confidence = _detected_confidence(person)
        return TrackedPose(
            pose=person,
            source="detected",
            tracking_confidence=self._anchor_confidence,
            track_id=self.track_id,
            frames_since_detection=0,
            scores={"association_cost": round(cost, 4)},
        )

    def _predict(
        self, frame_number: int, predicted: PersonPose, flags: list[str], scores: dict[str, float]
    ) -> TrackedPose:
        gap = frame_number - self._anchor_frame
        return TrackedPose(
            pose=predicted,
            source="predicted",
            tracking_confidence=self.predicted_confidence(gap),
            track_id=self.track_id,
            frames_since_detection=gap,
            flags=flags,
            scores={k: round(v, 4) for k, v in scores.items()},
        )

    def predicted_confidence(self, gap: int) -> float:
        """Confidence of a pose predicted ``gap`` frames after the last detection.

        Falls exponentially with the gap (time constant ``confidence_tau_frames``) from just
        below the last detection's confidence: the expected error grows with the gap.
        """
        decay = math.exp(-(max(gap, 1) - 1) / self.config.confidence_tau_frames)
        return round(self._anchor_confidence * PREDICTED_CONFIDENCE_CAP * decay, 4)

    def _drop(self, reason: str) -> None:
        self._anchor = None
        self._velocity = Velocity.zero()
        self._lost_reason = reason

    def _nothing(self, frame_number: int) -> TrackedPose:
        if self._lost_reason is not None:
            error, code = self._lost_reason, "track_lost"
        else:
            error, code = "no person detected and no track to predict from yet", "no_track_yet"
        return TrackedPose(
            pose=None,
            source=None,
            tracking_confidence=0.0,
            track_id=None,
            frames_since_detection=None,
            error=error,
            reason=code,
        )

    # --- frames out of order -------------------------------------------------------------
    def _late_frame(self, frame_number: int, people: list[PersonPose]) -> TrackedPose:
        before = _nearest(self.history, frame_number, before=True)
        after = _nearest(self.history, frame_number, before=False)
        reference = _blend_neighbours(before, after, frame_number)
        if people:
            if reference is None:
                chosen = max(people, key=person_salience)
            else:
                chosen = min(people, key=lambda p: association_cost(reference[0], p))
            return TrackedPose(
                pose=chosen,
                source="detected",
                tracking_confidence=_detected_confidence(chosen),
                track_id=self.track_id or None,
                frames_since_detection=0,
                flags=["late_frame"],
            )
        if reference is None:
            return self._nothing(frame_number)
        pose, confidence, track_id = reference
        return TrackedPose(
            pose=pose,
            source="interpolated",
            tracking_confidence=round(confidence * PREDICTED_CONFIDENCE_CAP, 4),
            track_id=track_id,
            frames_since_detection=None,
            flags=["late_frame"],
        )

    def _remember(self, frame_number: int, answer: TrackedPose) -> None:
        self.history[frame_number] = answer
        self.history.move_to_end(frame_number)
        while len(self.history) > self.config.history_frames:
            self.history.popitem(last=False)


def _detected_confidence(person: PersonPose) -> float:
    return round(float(np.clip(person.score, 0.0, 1.0)), 4)


def _nearest(
    history: OrderedDict[int, TrackedPose], frame_number: int, before: bool
) -> tuple[int, TrackedPose] | None:
    best: tuple[int, TrackedPose] | None = None
    for number, answer in history.items():
        on_side = (number < frame_number) if before else (number > frame_number)
        if answer.pose is None or not on_side:
            continue
        if best is None or abs(number - frame_number) < abs(best[0] - frame_number):
            best = (number, answer)
    return best


def _blend_neighbours(
    before: tuple[int, TrackedPose] | None,
    after: tuple[int, TrackedPose] | None,
    frame_number: int,
) -> tuple[PersonPose, float, int | None] | None:
    """A pose for a late frame from the answers around it (interpolated when both exist)."""
    if before and after:
        t = (frame_number - before[0]) / (after[0] - before[0])
        assert before[1].pose is not None and after[1].pose is not None
        pose = interpolate(before[1].pose, after[1].pose, t)
        confidence = min(before[1].tracking_confidence, after[1].tracking_confidence)
        return pose, confidence, before[1].track_id
    side = before or after
    if side is None or side[1].pose is None:
        return None
    return side[1].pose, side[1].tracking_confidence * 0.5, side[1].track_id
