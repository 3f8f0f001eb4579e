"""The old service's routes the backend calls: ``/warmup``, ``/reload``, ``/process_video``,
``/process_video_async``, ``/job_status/<id>``, ``/frame/<id>/<i>``.

These views read the request, call the pipeline or ``whole_video`` and answer in the old shapes
(``legacy``). The video routes are the whole-video jobs of ``POST /pose/video`` (one job
runner, its bounds and refusals) that also draw their frames (``whole_video.overlay``).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from . import context
from .legacy import (
    INLINE_IMAGES,
    accepted_answer,
    job_status_answer,
    process_video_answer,
    reload_refusal,
    warmup_answer,
)
from .requests import LegacyVideoRequest, parse_legacy_video

bp = Blueprint("legacy", __name__)
CACHE_FRAME = "public, max-age=3600"  # a rendered frame never changes


@bp.route("/warmup", methods=["GET", "POST"])
def warmup() -> Response:
    """Answers once the model is loaded (waiting for it up to ``warmup_timeout_s``)."""
    pipeline, settings = context.pipeline(), context.settings()
    waited_s = settings.warmup_timeout_s
    pipeline.wait_loaded(waited_s)
    status, body = warmup_answer(pipeline.health_snapshot(), waited_s)
    response = current_app.json.response(body)
    response.status_code = status
    if body.get("code") == "warming_up":
        response.headers["Retry-After"] = str(settings.retry_after_s)
    return response


@bp.post("/reload")
def reload() -> Response:
    """Refused: nothing a running service holds is reloaded safely (``legacy.RELOAD_REFUSAL``)."""
    response = current_app.json.response(reload_refusal(context.pipeline().health_snapshot()))
    response.status_code = 409
    return response


@bp.post("/process_video")
def process_video() -> Response:
    """A video tracked and drawn while the request waits; every frame answered."""
    videos = context.videos()
    form = parse_legacy_video(request)
    videos.admit()  # before the upload is read to disk
    job = videos.process_rendered(
        form.video.save, form.video.filename, _max_frames(form), request.content_length
    )
    images = videos.first_rendered_frames(job, INLINE_IMAGES)
    return current_app.json.response(process_video_answer(job, images))


@bp.post("/process_video_async")
def process_video_async() -> Response:
    """The same as a job: 200 ``accepted`` with its id for ``/job_status``."""
    videos = context.videos()
    form = parse_legacy_video(request)
    videos.admit()
    job = videos.submit_rendered(
        form.video.save, form.video.filename, _max_frames(form), request.content_length
    )
    return current_app.json.response(accepted_answer(job))


def _max_frames(form: LegacyVideoRequest) -> int:
    settings = context.settings()
    return settings.legacy_max_frames if form.max_frames is None else form.max_frames


@bp.get("/job_status/<job_id>")
def job_status(job_id: str) -> Response:
    """A job's state in the old words, its result once complete."""
    return current_app.json.response(job_status_answer(context.videos().job(job_id)))


@bp.get("/frame/<job_id>/<int:index>")
def frame(job_id: str, index: int) -> Response:
    """Rendered frame ``index`` of a complete job, as the JPEG it was drawn into."""
    image = context.videos().rendered_frame(job_id, index)
    response = current_app.response_class(image, mimetype="image/jpeg")
    response.headers["Cache-Control"] = CACHE_FRAME
    return response
