"""What a session keeps of its video for whole-video mode: every frame that arrived and the
detection the track accepted in it, compactly (float16 body-frame joints, float32 pixels, uint8
confidences; ~400 bytes a frame, no mesh), so a 10 000-frame video costs about 4 MB.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np

from ..types import PersonPose


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

    def to_state(self) -> dict[str, Any]:
        """Plain values to save: the recorded frames only (not the unused capacity)."""
        with self._lock:
            return {
                "max_frames": self.max_frames,
                "base": self.base,
                "truncated": self.truncated,
                "arrays": {k: v[: self.size].copy() for k, v in self._arrays.items()},
            }

    @classmethod
    def from_state(cls, saved: dict[str, Any], max_frames: int) -> FrameRecord:
        """A record from :meth:`to_state`; fields it lacks (an older save) start as zeros, and
        frames beyond ``max_frames`` (a smaller cap now) are left out as truncated."""
        record = cls(max_frames)
        record.base = saved["base"]
        arrays = saved["arrays"]
        saved_size = len(next(iter(arrays.values()), []))
        size = min(saved_size, max_frames)
        record.truncated = bool(saved["truncated"]) or size < saved_size
        if size:
            record._grow(size)
            for name, values in arrays.items():
                if name in record._arrays:
                    record._arrays[name][:size] = values[:size]
            record.size = size
        return record

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
