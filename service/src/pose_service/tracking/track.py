"""One video's track of its main subject, frame by frame (streaming).

Per frame the tracker gets every person the estimator found and answers one pose:
- the detection that continues the track (association by keypoint distance to the track's
  prediction, in units of the person's box diagonal), or
- when nothing usable was detected, the track's prediction, with a ``tracking_confidence`` that
  falls as the expected error of the prediction grows, or
- nothing, with the reason, before the first detection or once the track was dropped.

Motion model: a damped constant-velocity Kalman filter per field (3D joints, root translation,
keypoints, box; see ``filters``), rotations on SO(3) by their angular velocity (``motion``).
Velocity decays per space: body-frame joints, rotations and mesh fast (``joint_velocity_decay``:
a limb swinging forward swings back within a stride, so its velocity is soon worthless), the
root and the image-space fields slowly (``velocity_decay``: the whole body has inertia).
Detected frames answer the detection itself (the contract), or with ``smoothing`` the filter's
estimate (``kalman``) or a One-Euro filtered one: causal smoothing, less jitter.

Confidence: ``tracking_confidence = score x exp(-expected_error / confidence_error_scale_m)``
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
import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ..skeleton import LEFT_RIGHT_PAIRS, NUM_JOINTS
from ..types import BoxHint, PersonPose, TrackedPose
from .filters import KalmanCV, MotionNoise, OneEuro
from .motion import Velocity, blend_velocity, extrapolate, interpolate, measure_velocity

MIN_JOINT_CONFIDENCE = 0.3  # joints below this do not count in association costs
SMOOTHING_MODES = ("off", "kalman", "one_euro")  # TrackerConfig.smoothing
HISTORY_FRAMES_WITH_MESH = 4  # newest answers whose mesh is kept for late frames
PREDICTED_CONFIDENCE_CAP = 0.9  # a predicted frame is always below the detection it came from


@dataclass(frozen=True)
class TrackerConfig:
    """The tracker's knobs. Their defaults are written here only: ``Settings.tracker_config()``
    fills the ones a ``POSE_SERVICE_TRACK_*`` setting feeds, and each such setting takes its default
    from this class."""

    max_gap_frames: int = 45
    velocity_decay: float = 0.95  # root, keypoints, box: whole-body motion has inertia
    joint_velocity_decay: float = 0.7  # body-frame joints, rotations, mesh: limbs swing back
    velocity_smoothing: float = 0.5
    gate: float = 1.0
    reacquire_after: int = 3
    history_frames: int = 32
    smoothing: str = "off"  # off | kalman | one_euro: causal smoothing of detected frames
    joint_noise_m: float = 0.02  # per-coordinate noise of detected 3D joints (HMR2-like)
    joint_accel_m: float = 0.006  # per-frame acceleration std of body-frame joints (streaming)
    smoother_accel_m: float = 0.008  # the same for the whole-video smoother (tuned by eval)
    root_noise_m: float = 0.03  # noise of the root (camera) translation
    root_accel_m: float = 0.01
    pixel_noise: float = 3.0  # keypoint / box noise, pixels
    pixel_accel: float = 4.0
    confidence_error_scale_m: float = 0.1  # expected error at which confidence falls to 1/e
    gate_3d_m: float = 0.35  # mean body-frame joint jump beyond which a detection is rejected
    flip_ratio: float = 0.5  # left/right-swapped pose this much closer to the track = a flip
    record_max_frames: int = 10_000  # frames of a video kept for whole-video mode (0 = none)


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


def joint_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean 3D distance between two (24, 3) body-frame skeletons, metres."""
    return float(np.linalg.norm(a - b, axis=1).mean())


def _swap_sides(joints: np.ndarray) -> np.ndarray:
    out = joints.copy()
    for left, right in LEFT_RIGHT_PAIRS:
        out[[left, right]] = joints[[right, left]]
    return out


def person_salience(person: PersonPose) -> float:
    """Which person to start a track on: confident and large (the main subject)."""
    x0, y0, x1, y1 = person.bbox
    return person.score * math.sqrt(max((x1 - x0) * (y1 - y0), 1.0))


# One-Euro speed coefficient per field: its cut-off rises by beta Hz per unit of speed, and the
# units differ (metres/s, pixels/s). Tuned on the CMU walk capture with 20 mm noise: joint error
# 30.4 -> 22.7 mm and jitter 75.6 -> 20.2 mm/frame^2 (beta 0.05 lagged: 49.5 mm).
ONE_EURO_MIN_CUTOFF_HZ = 1.0
ONE_EURO_BETA = {"joints_3d": 5.0, "camera_translation": 5.0, "keypoints_2d": 0.02, "bbox": 0.02}

# Fields the Kalman filters carry, and which noise model each uses.
FILTERED_FIELDS = ("joints_3d", "camera_translation", "keypoints_2d", "bbox")
BODY_FRAME_FIELDS = ("joints_3d",)  # move like limbs (joint_velocity_decay), not like the root


def _decay_for(name: str, config: TrackerConfig) -> float:
    """Velocity decay per space: limbs reverse within a stride, the root keeps going."""
    return config.joint_velocity_decay if name in BODY_FRAME_FIELDS else config.velocity_decay


def _noise_models(config: TrackerConfig) -> dict[str, MotionNoise]:
    joints = MotionNoise(config.joint_noise_m, config.joint_accel_m, 0.05)
    pixels = MotionNoise(config.pixel_noise, config.pixel_accel, 20.0)
    return {
        "joints_3d": joints,
        "camera_translation": MotionNoise(config.root_noise_m, config.root_accel_m, 0.1),
        "keypoints_2d": pixels,
        "bbox": pixels,
    }


class Track:
    """The streaming tracker of one video."""

    def __init__(self, config: TrackerConfig) -> None:
        self.config = config
        self.track_id = 0  # 0 = no track yet; increments at each (re)acquisition
        self._anchor: PersonPose | None = None  # last accepted detection
        self._anchor_frame = -1
        self._anchor_confidence = 0.0
        self._velocity = Velocity.zero()  # rotations and mesh (SO(3) / linear)
        self._noise = _noise_models(config)
        self._filters: dict[str, KalmanCV] = {}
        self._euro: dict[str, OneEuro] = {}
        self._rejections = 0
        self._lost_reason: str | None = None
        self.newest_frame = -1
        self.history: OrderedDict[int, TrackedPose] = OrderedDict()
        self.record = None
        if config.record_max_frames > 0:
            from .offline import FrameRecord  # offline builds on this module

            self.record = FrameRecord(config.record_max_frames)

    @property
    def active(self) -> bool:
        return self._anchor is not None

    def step(self, frame_number: int, people: list[PersonPose]) -> TrackedPose:
        """The answer for one frame, given everyone the estimator found in it."""
        self._observed: PersonPose | None = None
        behind = self.newest_frame - frame_number
        if not people and behind > self.config.history_frames:
            # Beyond the answers kept: a pose from there would be one from far away.
            if self.record is not None:
                self.record.add(frame_number, None, self.track_id)
            return _too_late(frame_number, behind, self.config.history_frames)
        if frame_number <= self.newest_frame:
            answer = self._late_frame(frame_number, people)
        else:
            answer = self._next_frame(frame_number, people)
            self.newest_frame = frame_number
        self._remember(frame_number, answer)
        if self.record is not None:
            self.record.add(frame_number, self._observed, self.track_id)
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

        predicted = self.prediction(frame_number)
        if not people:
            return self._predict(frame_number, predicted, [], {})
        costs = [association_cost(predicted, p) for p in people]
        best = int(np.argmin(costs))
        flags, scores = self._coherence(predicted, people[best], costs[best])
        if not flags:
            self._rejections = 0
            return self._accept(frame_number, people[best], costs[best])
        self._rejections += 1
        if self._rejections >= self.config.reacquire_after:
            chosen = max(people, key=person_salience)
            return self._acquire(frame_number, chosen, ["reacquired"])
        return self._predict(frame_number, predicted, ["outlier_rejected", *flags], scores)

    def _coherence(
        self, predicted: PersonPose, candidate: PersonPose, cost: float
    ) -> tuple[list[str], dict[str, float]]:
        """Why a detection is inconsistent with the track (empty when it is fine), and scores.

        - ``jump``: keypoints further than ``gate`` box diagonals from the prediction, or the
          3D body pose further than ``gate_3d_m`` (mean joint distance);
        - ``left_right_flip``: the pose with left and right swapped fits the track much better
          (``flip_ratio``), the classic monocular failure.
        """
        config = self.config
        distance = joint_distance(predicted.joints_3d, candidate.joints_3d)
        scores = {"association_cost": cost, "joint_distance_m": distance}
        flags = []
        if cost > config.gate or distance > config.gate_3d_m:
            flags.append("jump")
        if candidate.joints_3d.shape[0] == NUM_JOINTS and distance > 0.05:
            flipped = joint_distance(predicted.joints_3d, _swap_sides(candidate.joints_3d))
            scores["flipped_distance_m"] = flipped
            if flipped < config.flip_ratio * distance:
                flags.append("left_right_flip")
        return flags, scores

    def prediction(self, frame_number: int) -> PersonPose:
        """The track's pose at a later frame: filters for positions, SO(3) for rotations."""
        assert self._anchor is not None
        gap = frame_number - self._anchor_frame
        base = extrapolate(self._anchor, self._velocity, gap, self.config.joint_velocity_decay)
        changes = {}
        for name, kf in self._filters.items():
            changes[name] = kf.predicted(gap)[0].astype(np.float32)
        return dataclasses.replace(base, **changes)

    def box_hint(self, frame_number: int) -> BoxHint | None:
        """Where the person should be in the frame right after a detected one (the bbox
        filter's prediction), for an estimator that can skip its detector; None when the
        previous frame was not a confirmed detection (a miss, a rejection, no track): then the
        detector must look."""
        if self._anchor is None or self._rejections or frame_number - self._anchor_frame != 1:
            return None
        kf = self._filters.get("bbox")
        box = kf.predicted(1)[0] if kf is not None else self._anchor.bbox
        return BoxHint(np.asarray(box, dtype=np.float32), float(self._anchor.score))

    def expected_error_m(self, gap: int) -> float:
        """Expected 3D error (metres, one joint) of the pose ``gap`` frames after a detection."""
        kf = self._filters.get("joints_3d")
        if kf is None:
            return 0.0
        return math.sqrt(3.0) * kf.position_std(gap)

    def _start_filters(self, person: PersonPose) -> None:
        self._filters = {}
        for name in FILTERED_FIELDS:
            value = getattr(person, name)
            if value is not None:
                kf = KalmanCV(self._noise[name], _decay_for(name, self.config))
                kf.start(value)
                self._filters[name] = kf
        self._euro = {}

    def _smoothed(self, person: PersonPose, gap: int) -> PersonPose:
        """What a detected frame answers: the detection, smoothed causally if configured."""
        mode = self.config.smoothing
        changes = {}
        for name, kf in self._filters.items():
            value = getattr(person, name)
            if value is None:
                continue
            if mode == "kalman":
                assert kf.x is not None
                changes[name] = kf.x.astype(np.float32)
            elif mode == "one_euro":
                euro = self._euro.get(name)
                if euro is None:
                    euro = OneEuro(ONE_EURO_MIN_CUTOFF_HZ, ONE_EURO_BETA.get(name, 0.0))
                    self._euro[name] = euro
                changes[name] = euro(value, gap).astype(np.float32)
        return dataclasses.replace(person, **changes) if changes else person

    def _acquire(self, frame_number: int, person: PersonPose, flags: list[str]) -> TrackedPose:
        self.track_id += 1
        self._anchor, self._anchor_frame = person, frame_number
        self._velocity = Velocity.zero()
        self._start_filters(person)
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
        assert self._anchor is not None
        gap = frame_number - self._anchor_frame
        if person.rotations is not None or person.vertices is not None:
            measured = measure_velocity(self._anchor, person, gap)
            self._velocity = blend_velocity(
                self._velocity, measured, self.config.velocity_smoothing
            )
        innovation = 0.0
        for name, kf in self._filters.items():
            value = getattr(person, name)
            if value is not None and kf.x is not None and value.shape == kf.x.shape:
                score = kf.update(value, gap)
                innovation = score if name == "joints_3d" else innovation
        self._anchor, self._anchor_frame = person, frame_number
        self._anchor_confidence = _detected_confidence(person)
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

        ``score x 0.9 x exp(-expected_error / confidence_error_scale_m)``: strictly below the
        detection it came from, and falling as the filter's expected error grows with the gap.
        """
        error = self.expected_error_m(max(gap, 1))
        decay = math.exp(-error / self.config.confidence_error_scale_m)
        return round(self._anchor_confidence * PREDICTED_CONFIDENCE_CAP * decay, 4)

    def _drop(self, reason: str) -> None:
        self._anchor = None
        self._velocity = Velocity.zero()
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
