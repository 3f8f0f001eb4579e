"""A rendered job's meshes, kept on disk between tracking and drawing.

A session's record keeps joints and keypoints only (no mesh: ~400 bytes a frame), and a job's
frames are drawn only once the whole video is tracked, so the mesh of each frame the estimator
detected is written here as it is found: float16, relative to the pose's root joint (41 KB a
SMPL frame, within 1 mm), one file in the job's output folder, read back one frame at a time
when that frame is drawn. At render time the mesh is put back on the root of the frame's
answered (smoothed) pose, so it stays on the skeleton the job answers. The file holds at most
the job's frames (``POSE_SERVICE_LEGACY_MAX_FRAMES``, 900: ~37 MB for SMPL) and is deleted as
soon as the frames are drawn, or the job fails.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..types import PersonPose

SPILL_NAME = "meshes.f16"
DTYPE = np.dtype("<f2")


class MeshSpill:
    """Per-frame vertices (body frame, minus the root joint) in one file, by frame number."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = open(path, "w+b")  # noqa: SIM115 - closed by :meth:`remove`
        self._slots: dict[int, int] = {}
        self._shape: tuple[int, ...] | None = None

    def add(self, frame_number: int, pose: PersonPose) -> None:
        """Keep this frame's mesh (a pose without one, or of another size, is skipped)."""
        if pose.vertices is None or frame_number in self._slots:
            return
        shape = pose.vertices.shape
        if self._shape is None:
            self._shape = shape
        elif shape != self._shape:
            return
        relative = np.asarray(pose.vertices, np.float32) - pose.joints_3d[0]
        self._file.seek(len(self._slots) * self._frame_bytes())
        self._file.write(relative.astype(DTYPE).tobytes())
        self._slots[frame_number] = len(self._slots)

    def vertices(self, frame_number: int, pose: PersonPose) -> np.ndarray | None:
        """The frame's mesh placed on ``pose``'s root joint, or None when none was kept."""
        slot = self._slots.get(frame_number)
        if slot is None or self._shape is None:
            return None
        self._file.seek(slot * self._frame_bytes())
        raw = self._file.read(self._frame_bytes())
        relative = np.frombuffer(raw, DTYPE).reshape(self._shape).astype(np.float32)
        return relative + pose.joints_3d[0]

    def __len__(self) -> int:
        return len(self._slots)

    def remove(self) -> None:
        """Close and delete the file."""
        self._file.close()
        self.path.unlink(missing_ok=True)

    def _frame_bytes(self) -> int:
        assert self._shape is not None
        return int(np.prod(self._shape)) * DTYPE.itemsize
