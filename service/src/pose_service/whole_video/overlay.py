"""A video job's rendered output: every answered frame with its pose drawn, as a JPEG (quality
90) and as one overlay video (MPEG-4), kept in the service's state directory, bounded in size.

The frames are drawn after the whole video is tracked, from a second decoding of the upload, so
each shows the filled, smoothed pose the job answers, with a label (where the pose came from, its
confidence; ``drawing.draw_tracked``). What is drawn when:

- a frame the estimator detected, with ``POSE_SERVICE_OVERLAY=mesh`` and an estimator that has a
  mesh (hmr2): that detection's SMPL mesh (kept on disk while the job runs, ``mesh_spill``),
  placed on the answered pose's root joint and projected with the answer's camera, tinted by
  the source's colour (``mesh_render``);
- a frame filled by the whole-video smoother (``predicted``, ``interpolated``): its skeleton.
  The smoother fills joints, keypoints and the camera, not a mesh;
- every frame with lite (no mesh), or with ``POSE_SERVICE_OVERLAY=skeleton``: the skeleton;
- a frame without a pose: the frame and its label (``none``).

:class:`OutputStore` owns ``<STATE_DIR>/outputs``: one folder per job; once a job's output is
written the oldest finished outputs are deleted until at most ``max_outputs`` remain and they
hold at most ``max_bytes`` together (the newest is always kept, so the bound is ``max_bytes``
plus one job's output). Folders left by an earlier process are deleted when the store starts:
their jobs died with it.
"""

from __future__ import annotations

import dataclasses
import shutil
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..drawing import draw_tracked, open_video_writer
from ..mesh_render import MeshRenderer
from ..observability import get_logger
from .mesh_spill import MeshSpill
from .outcomes import VideoFrame, WholeVideo

log = get_logger("pose_service.jobs")
JPEG_QUALITY = 90
MIN_SIDE = 2  # pixels: OpenCV's MPEG-4 writer opens for nothing narrower or lower
VIDEO_NAME = "overlay.mp4"
FRAMES_DIR = "frames"


@dataclass(frozen=True)
class RenderedOutput:
    """Where one job's rendered frames and overlay video are."""

    job_id: str
    directory: Path
    frame_count: int
    fps: float
    width: int
    height: int

    @property
    def video_path(self) -> Path:
        return self.directory / VIDEO_NAME

    def frame_path(self, index: int) -> Path:
        return self.directory / FRAMES_DIR / f"{index:06d}.jpg"

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.directory.rglob("*") if p.is_file())


@dataclass(frozen=True)
class JobMeshes:
    """What a job's meshes are drawn with: the estimator's faces, and the detected frames'
    vertices kept while the job runs."""

    renderer: MeshRenderer
    spill: MeshSpill


@dataclass(frozen=True)
class RenderedVideo:
    """A rendered job's answer: the whole video's frames, their output, and the upload's facts."""

    video: WholeVideo
    output: RenderedOutput
    total_frames: int  # the upload's frames (its container's count); the job took the first ones
    seconds: float  # from the job's start to the output written


class OutputStore:
    """Per-job output folders under ``root``, the oldest deleted beyond the bounds."""

    def __init__(self, root: Path, max_bytes: int, max_outputs: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.max_outputs = max_outputs
        self._finished: OrderedDict[Path, int] = OrderedDict()  # oldest first, with sizes
        self._lock = threading.Lock()
        if root.is_dir():
            for leftover in root.iterdir():  # an earlier process's jobs are gone with it
                _remove(leftover)
        root.mkdir(parents=True, exist_ok=True)

    def folder(self, job_id: str) -> Path:
        """A fresh folder for a job's output."""
        directory = self.root / job_id
        _remove(directory)
        (directory / FRAMES_DIR).mkdir(parents=True)
        return directory

    def keep(self, output: RenderedOutput) -> None:
        """Count a written output in, then delete the oldest beyond the bounds."""
        with self._lock:
            self._finished[output.directory] = output.size_bytes()
            while len(self._finished) > 1 and (
                len(self._finished) > self.max_outputs
                or sum(self._finished.values()) > self.max_bytes
            ):
                oldest, size = self._finished.popitem(last=False)
                _remove(oldest)
                log.info("job_output_pruned", directory=str(oldest), bytes=size)

    def total_bytes(self) -> int:
        with self._lock:
            return sum(self._finished.values())


def render(
    frames_rgb: Iterable[np.ndarray],
    frames: list[VideoFrame],
    directory: Path,
    job_id: str,
    fps: float,
    style: str = "mesh",
    meshes: JobMeshes | None = None,
) -> RenderedOutput:
    """Draw each frame's pose on its pixels (in order; ``style`` and ``meshes`` as the module says),
    writing the frame's JPEG and the overlay video; one frame in memory at a time."""
    import cv2

    writer = None
    count, size = 0, (0, 0)
    try:
        for rgb, frame in zip(frames_rgb, frames, strict=False):
            bgr = draw_frame(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), frame, style, meshes)
            if writer is None:
                size = (bgr.shape[1], bgr.shape[0])
                writer = open_video_writer(directory / VIDEO_NAME, size[0], size[1], fps)
            writer.write(bgr)
            ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            if not ok:
                raise RuntimeError(f"OpenCV could not encode frame {count} as JPEG")
            (directory / FRAMES_DIR / f"{count:06d}.jpg").write_bytes(jpeg.tobytes())
            count += 1
    finally:
        if writer is not None:
            writer.release()
    if count != len(frames):
        raise RuntimeError(f"the upload gave {count} frames on the second read, not {len(frames)}")
    return RenderedOutput(job_id, directory, count, fps, *size)


def draw_frame(
    bgr: np.ndarray,
    frame: VideoFrame,
    style: str = "mesh",
    meshes: JobMeshes | None = None,
) -> np.ndarray:
    """One frame with its answer drawn: a detected frame's kept mesh where there is one, else
    the skeleton; and the label."""
    tracked, pose = frame.tracked, frame.tracked.pose
    if meshes is not None and pose is not None and tracked.source == "detected":
        vertices = meshes.spill.vertices(frame.frame_number, pose)
        if vertices is not None:
            with_mesh = dataclasses.replace(pose, vertices=vertices)
            tracked = dataclasses.replace(tracked, pose=with_mesh)
    return draw_tracked(bgr, tracked, None if meshes is None else meshes.renderer, style)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink(missing_ok=True)
