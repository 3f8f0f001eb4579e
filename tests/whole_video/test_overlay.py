"""Rendered job outputs: drawn frames and the overlay video, kept within their bounds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pose_service.tracking.track import no_pose
from pose_service.types import PersonPose, TrackedPose
from pose_service.whole_video.outcomes import VideoFrame
from pose_service.whole_video.overlay import OutputStore, RenderedOutput, render

WIDTH, HEIGHT = 96, 64


def _frame(number: int, with_pose: bool) -> VideoFrame:
    if not with_pose:
        return VideoFrame(number, no_pose("nobody", "no_track_yet"))
    points = np.stack([np.linspace(20, 70, 24), np.linspace(10, 55, 24)], axis=1)
    pose = PersonPose(
        joints_3d=np.zeros((24, 3), np.float32),
        keypoints_2d=points.astype(np.float32),
        joint_confidence=np.ones(24, np.float32),
        score=0.9,
        bbox=np.array([20, 10, 70, 55], np.float32),
    )
    return VideoFrame(number, TrackedPose(pose, "detected", 0.9, 1, 0))


def _output(store: OutputStore, job_id: str, frames: int = 3) -> RenderedOutput:
    poses = [_frame(n, n % 2 == 0) for n in range(frames)]
    pixels = [np.full((HEIGHT, WIDTH, 3), 40, np.uint8) for _ in range(frames)]
    return render(pixels, poses, store.folder(job_id), job_id, 30.0)


def test_render_writes_each_frame_drawn_and_the_overlay_video(tmp_path: Path):
    import cv2

    store = OutputStore(tmp_path / "outputs", 10**9, 10)
    output = _output(store, "j-1", 3)
    assert (output.frame_count, output.width, output.height) == (3, WIDTH, HEIGHT)
    drawn = cv2.imread(str(output.frame_path(0)))
    blank = cv2.imread(str(output.frame_path(1)))  # no pose: only the label
    assert drawn.shape == (HEIGHT, WIDTH, 3)
    assert (np.abs(drawn.astype(int) - 40).sum(axis=2) > 60)[30:].sum() > 20  # the skeleton
    assert (np.abs(blank.astype(int) - 40).sum(axis=2) > 60)[30:].sum() == 0
    video = cv2.VideoCapture(str(output.video_path))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    video.release()


def test_the_store_keeps_the_newest_within_its_bounds(tmp_path: Path):
    store = OutputStore(tmp_path / "outputs", 10**9, max_outputs=2)
    outputs = [_output(store, f"j-{n}") for n in range(3)]
    for output in outputs:
        store.keep(output)
    assert [o.directory.exists() for o in outputs] == [False, True, True]
    small = OutputStore(tmp_path / "small", max_bytes=1, max_outputs=10)
    first, second = _output(small, "a"), _output(small, "b")
    small.keep(first)
    assert first.directory.exists()  # the newest is kept even beyond the bytes
    small.keep(second)
    assert not first.directory.exists() and second.directory.exists()
    assert small.total_bytes() == second.size_bytes()


def test_an_earlier_process_outputs_are_cleared_at_start(tmp_path: Path):
    root = tmp_path / "outputs"
    (root / "j-old" / "frames").mkdir(parents=True)
    (root / "j-old" / "overlay.mp4").write_bytes(b"x")
    OutputStore(root, 10**9, 10)
    assert list(root.iterdir()) == []
