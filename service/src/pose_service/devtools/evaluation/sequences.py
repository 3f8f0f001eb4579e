"""Ground-truth motion for the harness, as SMPL-ordered joints in a camera frame.

A BVH is read with ``bvhio`` (forward kinematics of every joint), subsampled to ``fps`` and
mapped onto the 24 SMPL joint names (from CMU's skeleton or Character Creator's), so the
tracker sees what an estimator gives (left/right pairs included). The camera is placed
``distance`` metres in front of the capture volume, OpenCV convention (x right, y down, z
forward).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...camera import project

# SMPL joint -> CMU BVH joint (the CMU skeleton of the walk sequence, lengths in metres).
CMU_TO_SMPL = (
    "Hips", "LeftHip", "RightHip", "lowerback", "LeftKnee", "RightKnee", "Chest",
    "LeftAnkle", "RightAnkle", "Chest2", "LeftToe", "RightToe", "Neck", "LeftCollar",
    "RightCollar", "Head", "LeftShoulder", "RightShoulder", "LeftElbow", "RightElbow",
    "LeftWrist", "RightWrist", "lhand", "rhand",
)  # fmt: skip
# SMPL joint -> Character Creator joint: the CMU captures of IClone-CMU-Mocap (centimetres),
# the learned predictor's training data (``training/``).
CC_TO_SMPL = (
    "CC_Base_Hip", "CC_Base_L_Thigh", "CC_Base_R_Thigh", "CC_Base_Waist", "CC_Base_L_Calf",
    "CC_Base_R_Calf", "CC_Base_Spine01", "CC_Base_L_Foot", "CC_Base_R_Foot", "CC_Base_Spine02",
    "CC_Base_L_ToeBase", "CC_Base_R_ToeBase", "CC_Base_NeckTwist01", "CC_Base_L_Clavicle",
    "CC_Base_R_Clavicle", "CC_Base_Head", "CC_Base_L_Upperarm", "CC_Base_R_Upperarm",
    "CC_Base_L_Forearm", "CC_Base_R_Forearm", "CC_Base_L_Hand", "CC_Base_R_Hand",
    "CC_Base_L_Mid1", "CC_Base_R_Mid1",
)  # fmt: skip
# The skeletons a BVH may have: joint names in SMPL order and metres per BVH unit.
BVH_SKELETONS = ((CMU_TO_SMPL, 1.0), (CC_TO_SMPL, 0.01))
IMAGE_SIZE = (1920, 1080)
FOCAL_PX = 1500.0


@dataclass
class Sequence:
    """A motion with ground truth: body-frame joints, root translation, projected keypoints."""

    name: str
    joints_3d: np.ndarray  # (T, 24, 3) metres, root-relative (pelvis at the origin)
    translation: np.ndarray  # (T, 3) metres, pelvis in the camera frame
    keypoints_2d: np.ndarray  # (T, 24, 2) pixels
    fps: float

    @property
    def frames(self) -> int:
        return len(self.joints_3d)

    def head(self, frames: int) -> Sequence:
        """The first ``frames`` frames (short runs for tests)."""
        return Sequence(
            self.name,
            self.joints_3d[:frames],
            self.translation[:frames],
            self.keypoints_2d[:frames],
            self.fps,
        )


def from_world(name: str, world: np.ndarray, fps: float, distance: float = 6.0) -> Sequence:
    """A sequence from (T, 24, 3) y-up world joints (metres)."""
    cam = np.stack([world[..., 0], -world[..., 1], world[..., 2]], axis=-1).astype(np.float64)
    centre = cam[:, 0].mean(0)
    cam = cam - np.array([centre[0], centre[1], centre[2] - distance])
    root = cam[:, 0].copy()
    joints = cam - root[:, None]
    keypoints = np.stack(
        [project(joints[i], root[i], FOCAL_PX, *IMAGE_SIZE) for i in range(len(cam))]
    )
    return Sequence(
        name,
        joints.astype(np.float32),
        root.astype(np.float32),
        keypoints.astype(np.float32),
        fps,
    )


def load_bvh(path: str | Path, fps: float = 30.0) -> Sequence:
    """Forward kinematics of a BVH (``bvhio``), subsampled to ``fps``, SMPL joint order."""
    import bvhio

    root = bvhio.readAsHierarchy(str(path))
    by_name = {joint.Name: joint for joint, _, _ in root.layout()}
    names, metres = _skeleton(path, by_name)
    frame_time = _frame_time(path)
    step = max(int(round(1.0 / (fps * frame_time))), 1)
    chosen = [by_name[n] for n in names]
    world = []
    for frame in range(0, len(root.Keyframes), step):
        root.loadPose(frame)
        world.append([tuple(j.PositionWorld) for j in chosen])
    return from_world(Path(path).stem, np.array(world) * metres, 1.0 / (frame_time * step))


def _skeleton(path: str | Path, joints: dict[str, object]) -> tuple[tuple[str, ...], float]:
    """The first of ``BVH_SKELETONS`` whose joints the file has."""
    for names, metres in BVH_SKELETONS:
        if all(n in joints for n in names):
            return names, metres
    missing = [n for n in CMU_TO_SMPL if n not in joints]
    raise ValueError(
        f"{path}: no joints {missing} (expects the CMU skeleton or Character Creator's)"
    )


def _frame_time(path: str | Path) -> float:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip().lower().startswith("frame time:"):
                return float(line.split(":")[1])
    raise ValueError(f"{path}: no 'Frame Time' line")


def load_npz(path: str | Path, fps: float = 30.0) -> Sequence:
    """An ``.npz`` with ``joints_3d`` (T, 24, 3) camera-frame metres, optional
    ``camera_translation`` (T, 3) (joints then body-frame) and ``fps``."""
    data = np.load(path)
    joints = data["joints_3d"].astype(np.float64)
    fps = float(data["fps"]) if "fps" in data else fps
    world = joints + data["camera_translation"][:, None] if "camera_translation" in data else joints
    world = np.stack([world[..., 0], -world[..., 1], world[..., 2]], axis=-1)
    return from_world(Path(path).stem, world, fps)


def load_sequence(path: str | Path, fps: float = 30.0) -> Sequence:
    suffix = Path(path).suffix.lower()
    if suffix == ".bvh":
        return load_bvh(path, fps)
    if suffix == ".npz":
        return load_npz(path, fps)
    raise ValueError(f"{path}: expected a .bvh or .npz motion sequence")
