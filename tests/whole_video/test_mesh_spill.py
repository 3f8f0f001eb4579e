"""A rendered job's meshes on disk (``whole_video/mesh_spill``): float16 relative to the root,
put back on the root of the pose a frame is drawn with, one frame read at a time, deleted."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.common import closed_body_mesh
from pose_service.types import PersonPose
from pose_service.whole_video.mesh_spill import SPILL_NAME, MeshSpill


def _pose(root: tuple[float, float, float], vertices: np.ndarray | None) -> PersonPose:
    joints = np.zeros((24, 3), np.float32) + np.float32(root)
    return PersonPose(
        joints_3d=joints,
        keypoints_2d=np.zeros((24, 2), np.float32),
        joint_confidence=np.ones(24, np.float32),
        score=1.0,
        bbox=np.zeros(4, np.float32),
        vertices=vertices,
    )


def test_meshes_come_back_within_a_millimetre_on_the_answered_root(tmp_path: Path) -> None:
    body, _ = closed_body_mesh()
    spill = MeshSpill(tmp_path / SPILL_NAME)
    for frame_number in (0, 3, 7):
        spill.add(frame_number, _pose((0.0, 0.1 * frame_number, 0.0), body + 0.1 * frame_number))
    spill.add(5, _pose((0.0, 0.0, 0.0), None))  # no mesh: nothing kept
    assert len(spill) == 3
    assert (tmp_path / SPILL_NAME).stat().st_size == 3 * body.size * 2  # float16
    smoothed_root = (0.004, 0.3 - 0.003, 0.0)  # the smoother moved frame 3's root by 5 mm
    back = spill.vertices(3, _pose(smoothed_root, None))
    assert back is not None and back.dtype == np.float32
    expected = body + 0.3 - np.float32((0.0, 0.3, 0.0)) + np.float32(smoothed_root)
    assert np.abs(back - expected).max() < 1e-3
    assert spill.vertices(5, _pose((0, 0, 0), None)) is None
    spill.remove()
    assert not (tmp_path / SPILL_NAME).exists()
