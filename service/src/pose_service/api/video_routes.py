"""Whole-video endpoints: ``GET /sessions/<id>``, ``POST /pose/video``, ``GET /jobs/<id>``.

Both return every frame in the ``/pose/hybrid`` frame format, gaps filled and the track
smoothed by ``tracking.offline`` (no mesh: sessions keep joints and keypoints only). A video
upload may ask for ``tracker=phalp``: on the GPU host, PHALP's offline tracker
(``tracking.phalp_offline``) then tracks the video and our filler replaces its ghost frames.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from flask import Blueprint, Response, current_app, request

from ..imaging import ImageError, decode_base64_image, decode_image, image_size
from ..jobs import Job, JobRunner, JobsFull
from ..pipeline import FrameOutcome, PosePipeline, tracker_config
from ..tracking import phalp_offline
from ..tracking.offline import fill_video
from ..tracking.track import Track
from ..types import Frame, TrackedPose
from .errors import ApiError
from .responses import FacesCache, build_frame_answer

bp = Blueprint("video", __name__)
UPLOAD_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}")
NO_FACES = FacesCache(None)
TRACKERS = ("service", "phalp")  # who tracks a whole-video job


def _pipeline() -> PosePipeline:
    return current_app.extensions["pose_pipeline"]


def _jobs() -> JobRunner:
    runner = current_app.extensions.get("pose_jobs")
    if runner is None:
        settings = _pipeline().settings
        runner = JobRunner(settings.max_jobs, settings.job_workers, settings.job_result_ttl_s,
                           settings.max_job_results)  # fmt: skip
        current_app.extensions["pose_jobs"] = runner
    return runner


def upload_suffix(filename: str | None) -> str:
    """The upload's extension when it is a plain one (``.mp4``), else none: the name is the
    client's, and FFmpeg finds the container from the bytes anyway."""
    suffix = os.path.splitext(filename or "")[1]
    return suffix if UPLOAD_SUFFIX.fullmatch(suffix) else ""


def _placeholder(width: int, height: int, frame_number: int) -> Frame:
    """A frame of the right size that costs no memory (answers need only its size)."""
    return Frame(np.broadcast_to(np.zeros(1, np.uint8), (height, width, 3)), frame_number)


def whole_track_answers(
    track: Track,
    frame_size: tuple[int, int],
    session_id: str,
    model_version: str,
) -> list[dict[str, Any]]:
    """Every recorded frame of a track, filled and smoothed, as /pose/hybrid answers."""
    record = track.record
    if record is None:
        return []
    numbers, observations, track_ids = record.snapshot()
    answers = fill_video(observations, track.config, track_ids)
    return _frame_answers(numbers, answers, frame_size, session_id, model_version, "whole_video")


def _frame_answers(
    numbers: list[int],
    answers: list[TrackedPose],
    frame_size: tuple[int, int],
    session_id: str,
    model_version: str,
    rule: str,
) -> list[dict[str, Any]]:
    out = []
    for number, tracked in zip(numbers, answers, strict=True):
        outcome = FrameOutcome(
            frame=_placeholder(*frame_size, number),
            tracked=tracked,
            session_id=session_id,
            session_rule=rule,
            model_version=model_version,
        )
        out.append(build_frame_answer(outcome, NO_FACES))
    return out


@bp.get("/sessions/<session_id>")
def session_frames(session_id: str) -> Response:
    """Every frame of a streamed video so far, gaps filled, smoothed (whole-video mode)."""
    pipeline = _pipeline()
    session = pipeline.router.get(session_id)
    if session is None:
        raise ApiError(404, "unknown_session", f"no live session {session_id!r}")
    frames = whole_track_answers(
        session.track, session.frame_size, session_id, pipeline.estimator.name
    )
    record = session.track.record
    body = {
        "session_id": session_id,
        "frame_count": len(frames),
        "truncated": bool(record and record.truncated),
        "frames": frames,
    }
    return current_app.json.response(body)


@bp.post("/pose/video")
def pose_video() -> Response:
    """A whole video (multipart ``video`` file) or ``{"frames": [base64, ...]}``: 202 + job."""
    pipeline = _pipeline()
    if pipeline.status != "ready":
        raise ApiError(503, "warming_up", "models are still loading", {"status": pipeline.status},
                       {"Retry-After": str(pipeline.settings.retry_after_s)})  # fmt: skip
    upload = request.files.get("video")
    tracker = request.form.get("tracker", "service") if upload is not None else "service"
    if tracker not in TRACKERS:
        raise ApiError(400, "bad_request", f'"tracker" must be one of {list(TRACKERS)}')
    if tracker == "phalp":
        settings = pipeline.settings
        reason = phalp_offline.unavailable_reason(settings.fourd_humans_dir, settings.estimator)
        if reason is not None:
            raise ApiError(400, "phalp_unavailable", reason)
    settings = pipeline.settings
    if _jobs().active() >= settings.max_jobs:  # refuse before reading an upload to disk
        raise _jobs_full(f"{settings.max_jobs} jobs are queued or running", settings.retry_after_s)
    if upload is not None:
        handle, path = tempfile.mkstemp(suffix=upload_suffix(upload.filename))
        with os.fdopen(handle, "wb") as out:
            upload.save(out)
        try:
            total, width, height = _video_shape(path)
            _check_job_pixels(total * width * height, total, settings.max_job_pixels)
            if tracker == "phalp":
                phalp = functools.partial(_run_phalp_upload, pipeline, path)
                return _accepted(_submit((), total, phalp, settings.retry_after_s))
            frames: Iterable[Frame] = _video_frames(path, settings.max_image_pixels)
            return _accepted(_submit(frames, total, _video_work(pipeline), settings.retry_after_s))
        except ApiError:
            os.unlink(path)
            raise
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("frames"), list):
        raise ApiError(400, "bad_request", 'expected a "video" file or JSON {"frames": [...]}')
    images = body["frames"]
    if not images or not all(isinstance(i, str) for i in images):
        raise ApiError(400, "bad_request", '"frames" must be a non-empty list of base64 images')
    # Headers only here (format, size): the pixels are decoded a pass at a time by the job.
    encoded, pixels = [], 0
    for number, image in enumerate(images):
        try:
            data = decode_base64_image(image)
            width, height = image_size(data, settings.max_image_pixels)
        except ImageError as exc:
            raise ApiError(exc.status, exc.code, f"frame {number}: {exc}") from exc
        encoded.append(data)
        pixels += width * height
    _check_job_pixels(pixels, len(encoded), settings.max_job_pixels)
    frames = _decoded_frames(encoded, settings.max_image_pixels, settings.fast_jpeg_decode)
    return _accepted(_submit(frames, len(encoded), _video_work(pipeline), settings.retry_after_s))


def _submit(frames: Iterable[Frame], total: int, work: Any, retry_after_s: int) -> Job:
    try:
        return _jobs().submit(frames, total, work)
    except JobsFull as exc:
        raise _jobs_full(str(exc), retry_after_s) from exc


def _jobs_full(reason: str, retry_after_s: int) -> ApiError:
    return ApiError(503, "jobs_full", f"{reason}; try again later", None,
                    {"Retry-After": str(retry_after_s)})  # fmt: skip


def _check_job_pixels(pixels: int, frames: int, limit: int) -> None:
    if pixels > limit:
        raise ApiError(
            413,
            "job_too_large",
            f"the video's {frames} frames are {pixels} pixels in all; the limit per job is "
            f"{limit} (POSE_SERVICE_MAX_JOB_PIXELS): send fewer or smaller frames",
        )


def _decoded_frames(encoded: list[bytes], max_pixels: int, fast_jpeg: bool) -> Iterator[Frame]:
    """The job's frames decoded as it reaches them (one pass in memory, not the whole video)."""
    for number, data in enumerate(encoded):
        try:
            yield Frame(decode_image(data, max_pixels, fast_jpeg), number)
        except ImageError as exc:  # the header was fine, the pixels are not
            raise ValueError(f"frame {number}: {exc}") from exc


def _video_work(pipeline: PosePipeline) -> Any:
    return functools.partial(_run_video, pipeline)


def _run_phalp_upload(pipeline: PosePipeline, path: str, job: Job, _frames: object) -> Any:
    return _run_phalp_video(pipeline, job, path)


def _accepted(job: Job) -> Response:
    response = current_app.json.response(job.describe())
    response.status_code = 202
    response.headers["Location"] = f"/jobs/{job.job_id}"
    return response


@bp.get("/jobs/<job_id>")
def job_status(job_id: str) -> Response:
    """Progress of a whole-video job, with every frame once it is done."""
    job = _jobs().get(job_id)
    if job is None:
        raise ApiError(404, "unknown_job", f"no job {job_id!r} (finished jobs are kept a while)")
    return current_app.json.response(job.describe())


def _run_video(pipeline: PosePipeline, job: Job, frames: Iterable[Frame]) -> dict[str, Any]:
    """Estimate the frames in FIFO turns (``batch_limit`` frames per estimator pass), track
    the main person, fill and smooth."""
    track = Track(tracker_config(pipeline.settings))
    size = (0, 0)
    model_version = pipeline.estimator.name
    for chunk in _chunks(frames, pipeline.batch_limit):
        for frame, estimate in zip(chunk, pipeline.estimate_in_turn(chunk), strict=True):
            model_version = estimate.model_version
            track.step(frame.frame_number, estimate.people)
            size = (frame.width, frame.height)
            job.done = frame.frame_number + 1
    frames_out = whole_track_answers(track, size, job.job_id, model_version)
    return {"frame_count": len(frames_out), "frames": frames_out}


def _chunks(frames: Iterable[Frame], size: int) -> Iterator[list[Frame]]:
    iterator = iter(frames)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _run_phalp_video(pipeline: PosePipeline, job: Job, path: str) -> dict[str, Any]:
    """PHALP's offline tracker on the upload (a child process), its ghost frames and the frames
    before its track was confirmed filled by ours, SMPL joints from the loaded model."""
    settings = pipeline.settings
    try:
        with tempfile.TemporaryDirectory(prefix="phalp-") as output_dir:
            results = phalp_offline.run_phalp(
                Path(path), settings.fourd_humans_dir, Path(output_dir), settings.phalp_timeout_s
            )
    finally:
        os.unlink(path)
    frames = phalp_offline.ordered_frames(results)
    track_id = phalp_offline.main_track_id(frames)
    # SMPL on the device, in FIFO turn with the streaming frames
    with pipeline.gate.patient_turn(settings.retry_after_s):
        observed = phalp_offline.observations(frames, track_id, pipeline.estimator.smpl_joints)
    answers = fill_video(observed, tracker_config(settings))
    sizes = [(int(f["size"][0][1]), int(f["size"][0][0])) for f in frames if f.get("size")]
    job.done = len(answers)
    version = f"PHALP + {pipeline.estimator.name}"
    out = _frame_answers(
        list(range(len(answers))),
        answers,
        sizes[0] if sizes else (0, 0),
        job.job_id,
        version,
        "phalp",
    )
    return {"frame_count": len(out), "frames": out, "tracker": "phalp", "phalp_track_id": track_id}


def _video_shape(path: str) -> tuple[int, int, int]:
    """Frame count, width and height of an uploaded video, from its container (no decoding)."""
    import cv2

    capture = cv2.VideoCapture(path)
    shape = (0, 0, 0)
    if capture.isOpened():
        props = (cv2.CAP_PROP_FRAME_COUNT, cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT)
        shape = tuple(int(capture.get(prop)) for prop in props)
    capture.release()
    if min(shape) <= 0:
        raise ApiError(400, "bad_video", "the upload is not a video OpenCV can read")
    return shape


def _video_frames(path: str, max_pixels: int) -> Iterator[Frame]:
    """Decoded RGB frames of a video file (OpenCV), deleting the file when done."""
    import cv2

    capture = cv2.VideoCapture(path)
    try:
        number = 0
        while True:
            ok, bgr = capture.read()
            if not ok:
                return
            if bgr.shape[0] * bgr.shape[1] > max_pixels:
                raise ValueError(f"frame {number} exceeds {max_pixels} pixels")
            yield Frame(np.ascontiguousarray(bgr[..., ::-1]), number)
            number += 1
    finally:
        capture.release()
        os.unlink(path)
