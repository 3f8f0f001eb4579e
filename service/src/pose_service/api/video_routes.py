"""Whole-video endpoints: ``GET /sessions/<id>``, ``POST /pose/video``, ``GET /jobs/<id>``.

Both return every frame in the ``/pose/hybrid`` frame format, gaps filled and the track
smoothed by ``tracking.offline`` (no mesh: sessions keep joints and keypoints only).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from flask import Blueprint, Response, current_app, request

from ..imaging import ImageError
from ..jobs import Job, JobRunner
from ..pipeline import FrameOutcome, PosePipeline, tracker_config
from ..tracking.offline import fill_video
from ..tracking.track import Track
from ..types import Frame
from .errors import ApiError
from .responses import FacesCache, build_frame_answer

bp = Blueprint("video", __name__)
NO_FACES = FacesCache(None)


def _pipeline() -> PosePipeline:
    return current_app.extensions["pose_pipeline"]


def _jobs() -> JobRunner:
    runner = current_app.extensions.get("pose_jobs")
    if runner is None:
        runner = JobRunner(_pipeline().settings.max_jobs)
        current_app.extensions["pose_jobs"] = runner
    return runner


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
    numbers = record.frame_numbers()
    answers = fill_video(record.observations(), track.config, record.track_ids())
    out = []
    for number, tracked in zip(numbers, answers, strict=True):
        outcome = FrameOutcome(
            frame=_placeholder(*frame_size, number),
            tracked=tracked,
            session_id=session_id,
            session_rule="whole_video",
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
    if upload is not None:
        handle, path = tempfile.mkstemp(suffix=os.path.splitext(upload.filename or "")[1])
        with os.fdopen(handle, "wb") as out:
            upload.save(out)
        try:
            total = _frame_count(path)
        except ApiError:
            os.unlink(path)
            raise
        frames: Iterable[Frame] = _video_frames(path, pipeline.settings.max_image_pixels)
    else:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("frames"), list):
            raise ApiError(400, "bad_request", 'expected a "video" file or JSON {"frames": [...]}')
        images = body["frames"]
        if not images or not all(isinstance(i, str) for i in images):
            raise ApiError(400, "bad_request", '"frames" must be a non-empty list of base64 images')
        decoded = []
        for number, image in enumerate(images):
            try:
                decoded.append(pipeline.decode(image, number)[0])
            except ImageError as exc:
                raise ApiError(exc.status, exc.code, f"frame {number}: {exc}") from exc
        frames, total = decoded, len(decoded)
    job = _jobs().submit(frames, total, lambda job, f: _run_video(pipeline, job, f))
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
    """Estimate every frame in FIFO turn, track the main person, fill and smooth."""
    track = Track(tracker_config(pipeline.settings))
    size = (0, 0)
    model_version = pipeline.estimator.name
    for number, frame in enumerate(frames):
        estimate = pipeline.estimate_in_turn(frame)
        model_version = estimate.model_version
        track.step(number, estimate.people)
        size = (frame.width, frame.height)
        job.done = number + 1
    frames_out = whole_track_answers(track, size, job.job_id, model_version)
    return {"frame_count": len(frames_out), "frames": frames_out}


def _frame_count(path: str) -> int | None:
    import cv2

    capture = cv2.VideoCapture(path)
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
    capture.release()
    if count <= 0:
        raise ApiError(400, "bad_video", "the upload is not a video OpenCV can read")
    return count


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
