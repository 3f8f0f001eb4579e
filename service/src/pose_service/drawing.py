"""Drawing a frame's answer on it (OpenCV, BGR): the pose's mesh where it has one and
``POSE_SERVICE_OVERLAY`` is ``mesh`` (``mesh_render``), else its skeleton, coloured by where the
pose came from, and a label with that source and the confidence. Used for ``visualize: true``,
the rendered outputs of video jobs and the demo's annotated video; and the video writer.
OpenCV comes with the lite extra (mediapipe requires it) and with 4D-Humans."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .camera import answer_focal
from .mesh_render import MeshRenderer
from .skeleton import SMPL_PARENTS
from .types import PersonPose, TrackedPose

VIDEO_FPS = 30.0  # the backend's clips
OVERLAY_STYLES = ("mesh", "skeleton")  # POSE_SERVICE_OVERLAY
# Where each frame's pose came from -> BGR colour (OpenCV; the demo's timeline uses them too).
SOURCE_COLOURS: dict[str, tuple[int, int, int]] = {
    "detected": (80, 200, 60),
    "rescued": (230, 160, 20),
    "predicted": (30, 140, 255),
    "interpolated": (40, 220, 230),
    "none": (120, 120, 120),
}
MESH_WHITE_SHARE = 0.4  # the mesh is its source's colour mixed with this much white: lighter


def pose_source(has_pose: bool, source: str | None, flags: Sequence[str]) -> str:
    """``detected`` / ``rescued`` / ``predicted`` / ``interpolated`` / ``none``: the key of
    :data:`SOURCE_COLOURS` for a frame's answer."""
    if not has_pose:
        return "none"
    if source == "detected" and "rescued" in flags:
        return "rescued"
    return source or "none"


def draw_pose(
    bgr: np.ndarray, points: np.ndarray | None, source: str, confidence: float
) -> np.ndarray:
    """A copy of the BGR frame with the skeleton (``points``: 24 image keypoints, or None) in
    the colour of its ``source`` and a label (source, confidence)."""
    out = bgr.copy()
    if points is not None:
        draw_skeleton(out, points, SOURCE_COLOURS[source])
    draw_label(out, source, confidence)
    return out


def draw_answer(
    bgr: np.ndarray,
    pose: PersonPose | None,
    source: str,
    confidence: float,
    renderer: MeshRenderer | None,
    style: str = "mesh",
) -> np.ndarray:
    """A copy of the BGR frame with its answer drawn: with ``style`` ``mesh``, a ``renderer``
    (the estimator has faces) and a pose with vertices and a camera, the mesh; otherwise (lite,
    ``skeleton``, a mesh outside the frame) the skeleton. Always the label; a frame without a
    pose gets the label only (``none``)."""
    out = bgr.copy()
    if pose is not None and not (
        style == "mesh" and renderer is not None and _draw_mesh(out, pose, source, renderer)
    ):
        draw_skeleton(out, pose.keypoints_2d, SOURCE_COLOURS[source])
    draw_label(out, source, confidence)
    return out


def draw_tracked(
    image: np.ndarray,
    tracked: TrackedPose,
    renderer: MeshRenderer | None,
    style: str = "mesh",
    rgb: bool = False,
) -> np.ndarray:
    """:func:`draw_answer` of the tracker's answer for this frame (``image`` BGR, or RGB with
    ``rgb``: the drawing is returned in the same channel order)."""
    source = pose_source(tracked.pose is not None, tracked.source, tracked.flags)
    bgr = np.ascontiguousarray(image[..., ::-1]) if rgb else image
    out = draw_answer(bgr, tracked.pose, source, tracked.tracking_confidence, renderer, style)
    return np.ascontiguousarray(out[..., ::-1]) if rgb else out


def mesh_colour(source: str) -> tuple[int, int, int]:
    """The BGR colour a mesh of this source is shaded from: the source's colour, lighter."""
    blue, green, red = (round(c + (255 - c) * MESH_WHITE_SHARE) for c in SOURCE_COLOURS[source])
    return blue, green, red


def _draw_mesh(bgr: np.ndarray, pose: PersonPose, source: str, renderer: MeshRenderer) -> bool:
    if pose.vertices is None or pose.camera_translation is None:
        return False
    height, width = bgr.shape[:2]
    focal = answer_focal(pose.focal_length, width, height)
    return renderer.draw(bgr, pose.vertices, pose.camera_translation, focal, mesh_colour(source))


def draw_skeleton(bgr: np.ndarray, points: np.ndarray, colour: tuple[int, int, int]) -> None:
    """The SMPL skeleton (24 image keypoints) drawn into ``bgr``, in place."""
    import cv2

    thickness = max(2, int(max(bgr.shape[:2]) / 400))
    for joint, parent in enumerate(SMPL_PARENTS):
        if parent >= 0:
            a, b = points[joint], points[parent]
            cv2.line(bgr, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), colour, thickness)
    for x, y in points:
        cv2.circle(bgr, (int(x), int(y)), thickness + 1, colour, -1)


def draw_label(bgr: np.ndarray, source: str, confidence: float) -> None:
    """``<source>  conf <confidence>`` in the source's colour, top left, in place."""
    import cv2

    label = f"{source}  conf {confidence:.2f}"
    cv2.rectangle(bgr, (0, 0), (8 + 9 * len(label), 26), (0, 0, 0), -1)
    cv2.putText(
        bgr, label, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, SOURCE_COLOURS[source], 1, cv2.LINE_AA
    )


def open_video_writer(path: Path, width: int, height: int, fps: float = VIDEO_FPS) -> Any:
    """An OpenCV MPEG-4 writer for BGR frames of this size (release it when done)."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {path}")
    return writer
