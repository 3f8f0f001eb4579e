"""A job's frames, from an uploaded video file or from base64 images.

Both are checked before the job is accepted from what costs nothing to read (the container's
frame count and size; each image's header), and decoded a pass at a time by the job, so a long
video is never in memory whole.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator

from ..imaging import ImageError, decode_base64_image, decode_image, image_size
from ..types import Frame
from ..video_frames import read_frames, video_shape
from .errors import BadVideo, JobTooLarge

UPLOAD_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}")


def upload_suffix(filename: str | None) -> str:
    """The upload's extension when it is a plain one (``.mp4``), else none: the name is the
    client's, and FFmpeg finds the container from the bytes anyway."""
    suffix = os.path.splitext(filename or "")[1]
    return suffix if UPLOAD_SUFFIX.fullmatch(suffix) else ""


def upload_shape(path: str) -> tuple[int, int, int]:
    """Frame count, width and height of an uploaded video, from its container."""
    shape = video_shape(path)
    if shape is None:
        raise BadVideo("the upload is not a video OpenCV can read")
    return shape


def upload_frames(path: str, max_pixels: int) -> Iterator[Frame]:
    """The upload's decoded frames as the job reaches them (the file is the job's input: its
    end removes it, ``durable``)."""
    for number, rgb in enumerate(read_frames(path, max_pixels=max_pixels)):
        yield Frame(rgb, number)


def checked_images(images: list[str], max_pixels: int) -> tuple[list[bytes], int]:
    """The images' bytes and their pixels in all, from their headers only (format, size); a
    bad one raises :class:`ImageError` naming the frame."""
    encoded, pixels = [], 0
    for number, image in enumerate(images):
        try:
            data = decode_base64_image(image)
            width, height = image_size(data, max_pixels)
        except ImageError as exc:
            raise ImageError(exc.code, f"frame {number}: {exc}", exc.status) from exc
        encoded.append(data)
        pixels += width * height
    return encoded, pixels


def decoded_frames(encoded: Iterable[bytes], max_pixels: int, fast_jpeg: bool) -> Iterator[Frame]:
    """The job's frames decoded as it reaches them (one pass in memory, not the whole video)."""
    for number, data in enumerate(encoded):
        try:
            yield Frame(decode_image(data, max_pixels, fast_jpeg), number)
        except ImageError as exc:  # the header was fine, the pixels are not
            raise ValueError(f"frame {number}: {exc}") from exc


def check_job_frames(frames: int, limit: int) -> None:
    """Refuse a job longer than the track records (``limit``, 0: none): its result would
    otherwise stop at the limit. Counted from the container's header for an upload, so a
    video whose header undercounts is still reported ``truncated`` in its result."""
    if frames > limit:
        raise JobTooLarge(
            f"the video has {frames} frames; a whole-video job tracks at most {limit} "
            "(POSE_SERVICE_TRACK_RECORD_MAX_FRAMES): send a shorter video or raise that limit"
        )


def check_job_pixels(pixels: int, frames: int, limit: int) -> None:
    """Refuse a job whose frames hold more than ``limit`` pixels in all."""
    if pixels > limit:
        raise JobTooLarge(
            f"the video's {frames} frames are {pixels} pixels in all; the limit per job is "
            f"{limit} (POSE_SERVICE_MAX_JOB_PIXELS): send fewer or smaller frames"
        )
