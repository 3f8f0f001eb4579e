"""One video's track of its main subject, frame by frame (streaming).

Per frame the tracker gets every person the estimator found and answers one pose:
- the detection that continues the track (association by keypoint distance to the track's
  prediction, in units of the person's box diagonal), or
- when nothing usable was detected, the track's prediction, with a ``tracking_confidence`` that
  falls as the expected error of the prediction grows, or
- nothing, with the reason, before the first detection or once the track was dropped.

Motion model (``motion_model``): damped constant-velocity Kalman filters, one per group of
fields observed together (body: 3D joints, mesh and rotations on SO(3); root translation;
keypoints and box), so a predicted frame's joints, mesh and rotations move together.
Velocity decays per space: the body fast (``joint_velocity_decay``: a limb swinging forward
swings back within a stride, so its velocity is soon worthless), the root and the image-space
fields slowly (``velocity_decay``: the whole body has inertia). Detected frames answer the
detection itself (the contract), or with ``smoothing`` the filter's estimate (``kalman``) or a
One-Euro filtered one: causal smoothing, less jitter.

States (:class:`TrackState`): empty -> confirmed <-> coasting -> lost -> confirmed (a new
track id).

Confidence: ``tracking_confidence = score x 0.9 x exp(-expected_error / confidence_error_scale_m)``
where ``expected_error`` is the filter's predicted 3D joint error std (metres): 0 gap -> the
detection's own score, and it falls monotonically as the predicted error grows (the evaluation
harness prints measured error and mean confidence per gap length to show they move together).

A detection far from the prediction is not trusted blindly (the old service returned garbage
"detections"): it is rejected and logged, and only repeated disagreement re-acquires the track.
Frames that arrive late (behind the newest one) are answered from the track's history by
interpolation and do not disturb its forward state.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..types import BoxHint, PersonPose, TrackedPose
from .association import (
    Gates,
    association_cost,
    follow_spread,
    incoherence,
    keypoint_spread,
    person_salience,
)
from .config import TrackerConfig
from .filters import FieldFilter, OneEuro
from .interpolation import interpolate, ordered_box
from .learned_prediction import forecast, shipped_predictor
from .motion_model import (
    ONE_EURO_BETA,
    ONE_EURO_MIN_CUTOFF_HZ,
    PREDICTED_CONFIDENCE_CAP,
    MotionModel,
)
from .record import FrameRecord

HISTORY_FRAMES_WITH_MESH = 4  # newest answers whose mesh is kept for late frames


class TrackState(enum.Enum):
    """Where a track is in its life (the shape of deep_sort's ``TrackState``, for one subject)."""

    EMPTY = "empty"  # no detection yet in this video
    CONFIRMED = "confirmed"  # the newest frame (in order) had a detection the track accepted
    COASTING = "coasting"  # the newest frames had none: answered by prediction
    LOST = "lost"  # no accepted detection for max_gap_frames: dropped; the next one starts anew


@dataclass(frozen=True)
class Match:
    """A new frame's best candidate for the track, and what its checks found wrong (no flags:
    the track accepts it)."""

    person: PersonPose
    cost: float
    flags: list[str]
    scores: dict[str, float]


class Expectation:
    """What a track expects of one new frame, worked out once for the frame: the rescue (where
    to look again, whether what it found continues the track), the box hint and the step read
    the same prediction and the same checks."""

    def __init__(self, track: Track, frame_number: int, steps: int) -> None:
        self._track = track
        self.frame_number = frame_number
        self._steps = steps
        self.live = track.live_at(frame_number)  # the track follows its person at this frame

    def current(self, track: Track, frame_number: int) -> bool:
        """Whether this is ``track``'s expectation of ``frame_number`` and no step came since."""
        return (
            track is self._track
            and frame_number == self.frame_number
            and self._steps == self._track._steps
        )

    @functools.cached_property
    def prediction(self) -> PersonPose | None:
        """The track's pose at this frame (None unless :attr:`live`)."""
        return self._track.prediction(self.frame_number) if self.live else None

    @functools.cached_property
    def search_box(self) -> np.ndarray | None:
        """Where to look again for the person when the first look found nobody the track
        accepts (x0, y0, x1, y1): the last accepted detection's extent (its keypoints and box
        together: a box from a few visible joints can be a sliver) moved to the prediction's
        centre. A person's size changes by a few per cent a frame, while the prediction's own
        extent moves each corner and keypoint by its velocity and inflates or shrinks the region
        after one noisy detection. None for a late frame, before the first detection, or once
        the track is past its gap limit."""
        prediction = self.prediction
        return None if prediction is None else self._track._search_box(prediction)

    @functools.cached_property
    def hint(self) -> BoxHint | None:
        """Where the person should be in the frame right after a detected one (the box's
        prediction), for an estimator that can skip its detector; None unless the previous
        frame was a confirmed detection (after a miss, a rejection or no track the detector
        must look)."""
        return self._track._box_hint(self.frame_number)

    def match(self, people: list[PersonPose]) -> Match:
        """The best of ``people`` (not empty) for the live track, with its checks' findings."""
        assert self.prediction is not None and people
        return self._track._match(self.frame_number, self.prediction, people)

    def accepts(self, people: list[PersonPose]) -> bool:
        """Whether one of ``people`` would continue the live track at this frame (the checks
        :meth:`Track.step` applies, without stepping)."""
        return self.live and bool(people) and not self.match(people).flags


class Track:
    """The streaming tracker of one video."""

    def __init__(self, config: TrackerConfig) -> None:
        self.config = config
        self.model = MotionModel.from_config(config)
        self.gates = Gates(config.gate, config.gate_3d_m, config.flip_ratio, config.gate_scale)
        self.state = TrackState.EMPTY
        self.track_id = 0  # 0 = no track yet; increments at each (re)acquisition
        self._anchor: PersonPose | None = None  # last accepted detection
        self._anchor_frame = -1
        self._anchor_confidence = 0.0
        self._spread = 0.0  # the person's running size in the picture (``follow_spread``)
        self._filters: dict[str, FieldFilter] = {}  # per motion-model group
        self._euro: dict[str, OneEuro] = {}
        self._rejections = 0
        self._lost_reason: str | None = None
        self.newest_frame = -1
        self._observed: PersonPose | None = None  # the detection the current step accepted
        self._steps = 0  # frames stepped: an Expectation from before a step is out of date
        self._forecast: tuple[int, np.ndarray | None] | None = None  # (anchor frame, joints)
        self.history: OrderedDict[int, TrackedPose] = OrderedDict()
        self.record = FrameRecord(config.record_max_frames) if config.record_max_frames else None

    def expect(self, frame_number: int) -> Expectation:
        """What the track expects of the frame ``frame_number`` (its prediction, where to look
        again, the box hint, which people it accepts): one object for the frame, that the
        rescue and :meth:`step` share; out of date once the track stepped another frame."""
        return Expectation(self, frame_number, self._steps)

    def step(
        self,
        frame_number: int,
        people: list[PersonPose],
        rescued: bool = False,
        expected: Expectation | None = None,
    ) -> TrackedPose:
        """The answer for one frame, given everyone the estimator found in it.

        ``rescued``: ``people`` were found by looking again where the track predicted the person
        (:attr:`Expectation.search_box`), after the first look found nobody the track accepts.
        They pass the same coherence checks; accepted, the answer is flagged ``rescued``;
        rejected, the frame is predicted and, unlike a first-look detection, never counts
        towards re-acquiring. ``expected``: the frame's :meth:`expect` (made here if not given).
        """
        if expected is None or not expected.current(self, frame_number):
            expected = self.expect(frame_number)
        self._observed = None
        behind = self.newest_frame - frame_number
        if not people and behind > self.config.history_frames:
            # Beyond the answers kept: a pose from there would be one from far away.
            if self.record is not None:
                self.record.add(frame_number, None, self.track_id)
            return _too_late(frame_number, behind, self.config.history_frames)
        if frame_number <= self.newest_frame:
            answer = self._late_frame(frame_number, people)
        else:
            answer = self._next_frame(frame_number, people, rescued, expected)
            self.newest_frame = frame_number
        self._remember(frame_number, answer)
        if self.record is not None:
            self.record.add(frame_number, self._observed, self.track_id)
        self._steps += 1  # what the track expects of any later frame changed
        return answer

    def revise(self, frame_number: int, answer: TrackedPose) -> None:
        """Replace the remembered answer of a frame (a missed frame filled from both sides once
        a later detection came, ``lookahead``), so late frames next to it see the fill; the
        forward state is not touched."""
        if frame_number in self.history:
            self.history[frame_number] = answer

    # --- saving and restoring (see ``session_codec``) -----------------------------------------
    def to_state(self) -> dict[str, Any]:
        """Everything the track has learnt, as named plain values, poses and arrays: what a
        restart needs to continue the video (the configuration is the new process's)."""
        return {
            "state": self.state.value,
            "track_id": self.track_id,
            "anchor": self._anchor,
            "anchor_frame": self._anchor_frame,
            "anchor_confidence": self._anchor_confidence,
            "spread": self._spread,
            "filters": {name: f.to_state() for name, f in self._filters.items()},
            "one_euro": {name: f.to_state() for name, f in self._euro.items()},
            "rejections": self._rejections,
            "lost_reason": self._lost_reason,
            "newest_frame": self.newest_frame,
            "history": [[frame, answer] for frame, answer in self.history.items()],
            "record": None if self.record is None else self.record.to_state(),
        }

    @classmethod
    def from_state(cls, config: TrackerConfig, saved: dict[str, Any]) -> Track:
        """The track :meth:`to_state` described, under this process's ``config``."""
        track = cls(config)
        track.state = TrackState(saved["state"])
        track.track_id = int(saved["track_id"])
        track._anchor = saved["anchor"]
        track._anchor_frame = int(saved["anchor_frame"])
        track._anchor_confidence = float(saved["anchor_confidence"])
        track._spread = float(saved["spread"])
        groups = {g.name: g for g in track.model.groups}
        for name, state in saved["filters"].items():
            track._filters[name] = groups[name].new_filter()
            track._filters[name].restore(state)
        for name, state in saved["one_euro"].items():
            track._euro[name] = OneEuro(ONE_EURO_MIN_CUTOFF_HZ, ONE_EURO_BETA[name])
            track._euro[name].restore(state)
        track._rejections = int(saved["rejections"])
        track._lost_reason = saved["lost_reason"]
        track.newest_frame = int(saved["newest_frame"])
        track.history = OrderedDict((int(frame), answer) for frame, answer in saved["history"])
        if saved["record"] is not None and config.record_max_frames:
            track.record = FrameRecord.from_state(saved["record"], config.record_max_frames)
        return track

    # --- frames in order -----------------------------------------------------------------
    def _next_frame(
        self, frame_number: int, people: list[PersonPose], rescued: bool, expected: Expectation
    ) -> TrackedPose:
        gap = frame_number - self._anchor_frame
        tracking = self.state in (TrackState.CONFIRMED, TrackState.COASTING)
        if tracking and gap > self.config.max_gap_frames:
            self._drop(
                f"track {self.track_id} dropped: no person detected for {gap} frames "
                f"(limit {self.config.max_gap_frames})"
            )
        if self.state in (TrackState.EMPTY, TrackState.LOST):
            if people:
                return self._acquire(frame_number, max(people, key=person_salience), [])
            return self._nothing(frame_number)

        predicted = expected.prediction
        assert predicted is not None  # a live track, at a frame within its gap limit
        if not people:
            return self._predict(frame_number, predicted, [], {})
        match = expected.match(people)
        flags, scores = match.flags, match.scores
        if not flags:
            self._rejections = 0
            answer = self._accept(frame_number, match.person, match.cost)
            answer.flags = ["rescued"] if rescued else answer.flags
            return answer
        if rescued:
            return self._predict(frame_number, predicted, ["rescue_rejected", *flags], scores)
        self._rejections += 1
        if self._rejections >= self.config.reacquire_after:
            chosen = max(people, key=person_salience)
            return self._acquire(frame_number, chosen, ["reacquired"])
        return self._predict(frame_number, predicted, ["outlier_rejected", *flags], scores)

    def live_at(self, frame_number: int) -> bool:
        """Whether the track follows its person at the new frame ``frame_number``: confirmed or
        coasting, the frame ahead of the newest and within the gap limit."""
        return (
            self.state in (TrackState.CONFIRMED, TrackState.COASTING)
            and frame_number > self.newest_frame
            and frame_number - self._anchor_frame <= self.config.max_gap_frames
        )

    def prediction(self, frame_number: int) -> PersonPose:
        """The track's pose at a later frame: every filtered field moved by the motion model;
        the rest (confidences, score, focal length) as last detected (computed each call: a
        frame's :class:`Expectation` keeps it)."""
        assert self._anchor is not None
        gap = frame_number - self._anchor_frame
        changes = {}
        for group in self._filters.values():
            changes.update(group.predicted(gap))
        if "bbox" in changes:
            changes["bbox"] = ordered_box(changes["bbox"])
        learned = self._learned_joints(gap)
        if learned is not None:
            changes["joints_3d"] = learned
        return dataclasses.replace(self._anchor, **changes)

    def _learned_joints(self, gap: int) -> np.ndarray | None:
        """With ``predictor: learned``, the body-frame joints ``gap`` frames after the last
        detection forecast from the track's recent detections (beyond the horizon, its last
        frame); None with the Kalman predictor, or for a person with a mesh or rotations
        (hmr2): those move with the joints by one formula, and the forecast gives joints only.
        One forecast per last detection."""
        if self.config.predictor != "learned" or gap < 1 or not _joints_only(self._anchor):
            return None
        if self._forecast is None or self._forecast[0] != self._anchor_frame:
            detected = [
                (frame, answer.pose.joints_3d)
                for frame, answer in self.history.items()
                if answer.source == "detected"
                and answer.pose is not None
                and answer.track_id == self.track_id
                and frame <= self._anchor_frame
            ]
            self._forecast = (self._anchor_frame, forecast(shipped_predictor(), detected))
        joints = self._forecast[1]
        return None if joints is None else joints[min(gap, len(joints)) - 1]

    def _box_hint(self, frame_number: int) -> BoxHint | None:
        """Where the person should be in the frame right after a detected one (the box's
        prediction), for an estimator that can skip its detector; None unless the previous
        frame was a confirmed detection (after a miss, a rejection or no track the detector
        must look)."""
        if self.state is not TrackState.CONFIRMED or frame_number - self._anchor_frame != 1:
            return None
        assert self._anchor is not None
        image = self._filters.get("image")
        box = image.predicted(1).get("bbox", self._anchor.bbox) if image else self._anchor.bbox
        return BoxHint(np.asarray(box, dtype=np.float32), float(self._anchor.score))

    def _search_box(self, prediction: PersonPose) -> np.ndarray:
        """See :attr:`Expectation.search_box`."""
        assert self._anchor is not None
        low, high = _extent(prediction)
        anchor_low, anchor_high = _extent(self._anchor)
        centre, half = (low + high) / 2.0, (anchor_high - anchor_low) / 2.0
        return np.concatenate([centre - half, centre + half]).astype(np.float32)

    def _match(self, frame_number: int, prediction: PersonPose, people: list[PersonPose]) -> Match:
        """The association and coherence checks of one new frame's best candidate."""
        costs = [association_cost(prediction, p) for p in people]
        best = int(np.argmin(costs))
        gap = frame_number - self._anchor_frame
        flags, scores = incoherence(
            prediction, people[best], costs[best], self.gates, self._spread, gap
        )
        return Match(people[best], costs[best], flags, scores)

    def expected_error_m(self, gap: int) -> float:
        """Expected 3D error (metres, one joint) of the pose ``gap`` frames after a detection."""
        body = self._filters.get("body")
        return 0.0 if body is None else self.model.expected_error_m(body.schedule, gap)

    def predicted_confidence(self, gap: int) -> float:
        """Confidence of a pose predicted ``gap`` frames after the last detection (see
        :meth:`MotionModel.predicted_confidence`)."""
        error = self.expected_error_m(max(gap, 1))
        return self.model.predicted_confidence(self._anchor_confidence, error)

    def _start_filters(self, person: PersonPose) -> None:
        self._filters = {}
        for group in self.model.groups:
            values = {f: getattr(person, f) for f in group.fields if getattr(person, f) is not None}
            if values:
                self._filters[group.name] = group.new_filter()
                self._filters[group.name].start(values)
        self._euro = {}

    def _smoothed(self, person: PersonPose, gap: int) -> PersonPose:
        """What a detected frame answers: the detection, smoothed causally if configured."""
        mode = self.config.smoothing
        changes: dict[str, np.ndarray] = {}
        if mode == "kalman":
            for group in self._filters.values():
                for name, value in group.estimate().items():
                    if getattr(person, name) is not None:
                        changes[name] = value
        elif mode == "one_euro":
            for name, beta in ONE_EURO_BETA.items():
                value = getattr(person, name)
                if value is None:
                    continue
                euro = self._euro.setdefault(name, OneEuro(ONE_EURO_MIN_CUTOFF_HZ, beta))
                changes[name] = euro(value, gap).astype(np.float32)
        return dataclasses.replace(person, **changes) if changes else person

    def _acquire(self, frame_number: int, person: PersonPose, flags: list[str]) -> TrackedPose:
        self.track_id += 1
        self.state = TrackState.CONFIRMED
        self._anchor, self._anchor_frame = person, frame_number
        self._start_filters(person)
        self._spread = keypoint_spread(person)
        self._rejections = 0
        self._lost_reason = None
        self._anchor_confidence = _detected_confidence(person)
        self._observed = person
        return TrackedPose(
            pose=self._smoothed(person, 1),
            source="detected",
            tracking_confidence=self._anchor_confidence,
            track_id=self.track_id,
            frames_since_detection=0,
            flags=["track_started", *flags],
        )

    def _accept(self, frame_number: int, person: PersonPose, cost: float) -> TrackedPose:
        gap = frame_number - self._anchor_frame
        innovation = 0.0
        for name, group in self._filters.items():
            score = group.update({f: getattr(person, f) for f in group.states}, gap)
            innovation = score if name == "body" else innovation
        self.state = TrackState.CONFIRMED
        self._anchor, self._anchor_frame = person, frame_number
        self._anchor_confidence = _detected_confidence(person)
        self._spread = follow_spread(self._spread, person)
        self._observed = person
        return TrackedPose(
            pose=self._smoothed(person, gap),
            source="detected",
            tracking_confidence=self._anchor_confidence,
            track_id=self.track_id,
            frames_since_detection=0,
            scores={"association_cost": round(cost, 4), "innovation": round(innovation, 3)},
        )

    def _predict(
        self, frame_number: int, predicted: PersonPose, flags: list[str], scores: dict[str, float]
    ) -> TrackedPose:
        self.state = TrackState.COASTING
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

    def _drop(self, reason: str) -> None:
        self.state = TrackState.LOST
        self._anchor = None
        self._filters = {}
        self._lost_reason = reason

    def _nothing(self, frame_number: int) -> TrackedPose:
        if self._lost_reason is not None:
            error, code = self._lost_reason, "track_lost"
        else:
            error, code = "no person detected and no track to predict from yet", "no_track_yet"
        return no_pose(error, code)

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
            self._observed = chosen
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
        # A mesh is 83 KB a frame: only the newest few answers keep theirs (late frames are
        # nearly always just behind the newest), so a session stays small with the hmr2 mesh.
        if len(self.history) > HISTORY_FRAMES_WITH_MESH:
            older = list(self.history)[-HISTORY_FRAMES_WITH_MESH - 1]
            entry = self.history[older]
            if entry.pose is not None and entry.pose.vertices is not None:
                self.history[older] = dataclasses.replace(
                    entry, pose=dataclasses.replace(entry.pose, vertices=None)
                )


def _extent(person: PersonPose) -> tuple[np.ndarray, np.ndarray]:
    """The corners of the rectangle around a person's keypoints and box."""
    points = np.vstack([person.keypoints_2d, person.bbox.reshape(2, 2)])
    return points.min(axis=0), points.max(axis=0)


def _joints_only(person: PersonPose | None) -> bool:
    """Whether a person's body is its joints alone (no mesh or rotations to keep in step)."""
    return person is not None and person.vertices is None and person.rotations is None


def _detected_confidence(person: PersonPose) -> float:
    return round(float(np.clip(person.score, 0.0, 1.0)), 4)


def no_pose(error: str, reason: str, flags: list[str] | None = None) -> TrackedPose:
    """An answer without a pose: why (``error``), as a code (``reason``)."""
    return TrackedPose(
        pose=None,
        source=None,
        tracking_confidence=0.0,
        track_id=None,
        frames_since_detection=None,
        error=error,
        reason=reason,
        flags=flags or [],
    )


def _too_late(frame_number: int, behind: int, kept: int) -> TrackedPose:
    return no_pose(
        f"frame {frame_number} arrived {behind} frames behind the newest; a late frame without "
        f"a detection is answered only within {kept} frames (POSE_SERVICE_TRACK_HISTORY_FRAMES)",
        "frame_too_late",
        ["late_frame"],
    )


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
