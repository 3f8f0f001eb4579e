"""Whole-video endpoints: ``GET /sessions/<id>``, ``POST /pose/video``, ``GET /jobs/<id>``.

The work is ``whole_video``'s; these views read the request, call it and answer. Every frame
comes back in the ``/pose/hybrid`` frame format, gaps filled and the track smoothed (no mesh:
sessions keep joints and keypoints only).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request

from ..whole_video import WholeVideo
from ..whole_video.jobs import Job
from . import context
from .requests import parse_video_images
from .responses import video_frame_answers

bp = Blueprint("video", __name__)


def job_result(video: WholeVideo) -> dict[str, Any]:
    """A finished job's ``result`` (built once, in the job's worker)."""
    frames = video_frame_answers(video)
    result: dict[str, Any] = {
        "frame_count": len(frames),
        "truncated": video.truncated,  # true: frames past the record's limit are missing
        "frames": frames,
    }
    if video.tracker != "service":
        result.update(tracker=video.tracker, phalp_track_id=video.phalp_track_id)
    return result


@bp.get("/sessions/<session_id>")
def session_frames(session_id: str) -> Response:
    """Every frame of a streamed video so far, gaps filled, smoothed (whole-video mode)."""
    video = context.videos().session(session_id)
    frames = video_frame_answers(video)
    body = {
        "session_id": session_id,
        "frame_count": len(frames),
        "truncated": video.truncated,
        "frames": frames,
    }
    return current_app.json.response(body)


@bp.post("/pose/video")
def pose_video() -> Response:
    """A whole video (multipart ``video`` file) or ``{"frames": [base64, ...]}``: 202 + job."""
    videos = context.videos()
    upload = request.files.get("video")
    tracker = request.form.get("tracker", "service") if upload is not None else "service"
    videos.admit(tracker)  # before an upload is read to disk
    if upload is not None:
        job = videos.submit_upload(upload.save, upload.filename, tracker, request.content_length)
    else:
        job = videos.submit_images(parse_video_images(request))
    return _accepted(job)


def _accepted(job: Job) -> Response:
    response = current_app.json.response(job.describe())
    response.status_code = 202
    response.headers["Location"] = f"/jobs/{job.job_id}"
    return response


@bp.get("/jobs/<job_id>")
def job_status(job_id: str) -> Response:
    """Progress of a whole-video job, with every frame once it is done."""
    return current_app.json.response(context.videos().job(job_id).describe())
