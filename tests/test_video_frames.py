"""The one video reader the demo, the real-clip evaluation and the uploads share."""

from __future__ import annotations

import numpy as np
import pytest

from pose_service.video_frames import backend_size, read_frames, video_shape


def _video(path, frames: int = 3, size: tuple[int, int] = (64, 36)):
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, size)
    for _ in range(frames):
        picture = np.zeros((size[1], size[0], 3), dtype=np.uint8)
        picture[..., 2] = 200  # red, in OpenCV's BGR order
        writer.write(picture)
    writer.release()
    return path


def test_backend_size_keeps_the_aspect_with_an_even_height():
    assert backend_size(1920, 1080, 640) == (640, 360)
    assert backend_size(1280, 718, 640) == (640, 360)  # 359 rounded to even


def test_frames_come_back_rgb_at_the_asked_width(tmp_path):
    path = _video(tmp_path / "clip.avi")
    assert video_shape(path) == (3, 64, 36)
    frames = list(read_frames(path, width=32))
    assert len(frames) == 3 and frames[0].shape == (18, 32, 3)
    red, _, blue = frames[0].reshape(-1, 3).mean(axis=0)
    assert red > 150 and blue < 50
    assert [f.shape for f in read_frames(path)] == [(36, 64, 3)] * 3  # no width: as decoded


def test_a_frame_beyond_the_pixel_limit_and_an_unreadable_file_are_errors(tmp_path):
    path = _video(tmp_path / "clip.avi")
    with pytest.raises(ValueError, match="frame 0 exceeds 100 pixels"):
        next(read_frames(path, max_pixels=100))
    garbage = tmp_path / "not-a-video.mp4"
    garbage.write_bytes(b"not a video")
    assert video_shape(garbage) is None
    with pytest.raises(FileNotFoundError):
        next(read_frames(garbage))
