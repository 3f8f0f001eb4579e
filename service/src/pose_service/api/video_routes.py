"""Whole-video endpoints: ``GET /sessions/<id>``, ``POST /pose/video``, ``GET /jobs/<id>``.

Both return every frame in the ``/pose/hybrid`` frame format, gaps filled and the track
smoothed by ``tracking.offline`` (no mesh: sessions keep joints and keypoints only). A video
upload may ask for ``tracker=phalp``: on the GPU host, PHALP's offline tracker
(``tracking.phalp_offline``) then tracks the video and our filler replaces its ghost frames.
"""

from __future__ import annotations

import itertools
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from flask import Blueprint, Response, current_app, request

from ..imaging import ImageError
from ..jobs import Job, JobRunner
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
        runner = JobRunner(_pipeline().settings.max_jobs)
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
    if upload is not None:
        handle, path = tempfile.mkstemp(suffix=upload_suffix(upload.filename))
        with os.fdopen(handle, "wb") as out:
            upload.save(out)
        try:
            total = _frame_count(path)
        except ApiError:
            os.unlink(path)
            raise
        if tracker == "phalp":
            job = _jobs().submit((), total, lambda job, _: _run_phalp_video(pipeline, job, path))
            return _accepted(job)
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
    return _accepted(job)


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
    with pipeline.gate.turn():  # SMPL on the device, in FIFO turn with the streaming frames
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
