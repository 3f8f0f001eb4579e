"""The old service's answer shapes, for the routes of it the backend calls (docs/api.md "Legacy
routes the backend calls"; the facts in the backend's client code: ``/warmup``, ``/reload``,
``/process_video``, ``/process_video_async``, ``/job_status/<id>``, ``/frame/<id>/<i>``).

Only shapes: the work is ``whole_video``'s (jobs, rendering) and the pipeline's (the load).
Every frame keeps the ``/pose/hybrid`` frame format, with the old names added next to it.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from typing import Any

from ..pipeline import HealthSnapshot
from ..whole_video.jobs import Job
from ..whole_video.overlay import RenderedVideo
from .responses import video_frame_answers

# /job_status's words for a job's states (the old service's), from the job runner's.
JOB_STATES = {"queued": "queued", "running": "processing", "done": "complete", "failed": "error"}
# Frames of a /process_video answer that carry their drawn image inline (``image_base64``), as
# many as the old service answered at most; every frame is also at ``image_url``.
INLINE_IMAGES = 60
RELOAD_REFUSAL = (
    "models are not reloaded in a running service: its one model instance serves every "
    "stream, and dropping it or loading a second copy beside it (gigabytes on the GPU for "
    "hmr2) would fail or stall the frames in flight. To load new model files restart the "
    "service (systemctl restart pose-service); live sessions are saved and restored "
    "(POSE_SERVICE_STATE_DIR)"
)


def warmup_answer(state: HealthSnapshot, waited_s: float) -> tuple[int, dict[str, Any]]:
    """``/warmup``'s status and body: 200 ``ready`` once the model is loaded, else 500
    ``error`` (the load failed, or it is still loading after ``waited_s``), each role with its
    model and its load time or why it is not loaded."""
    if state.status == "ready":
        reason, message = None, f"models loaded in {state.load_seconds} s ({state.estimator})"
    elif state.status == "warming_up":
        reason = (
            f"models still loading after {waited_s:g} s (POSE_SERVICE_WARMUP_TIMEOUT_S); "
            "/health says ready when they are"
        )
        message = reason
    else:
        reason = state.load_error or "models could not be loaded"
        message = f"model load failed: {reason}"
    body: dict[str, Any] = {"status": "ready" if reason is None else "error", "message": message}
    for role, model in state.model_roles.items():
        entry: dict[str, Any] = {"status": state.models.get(role, "not_loaded"), "model": model}
        if entry["status"] == "loaded":
            entry["load_time_seconds"] = state.load_seconds
        else:
            entry["error"] = reason or "not loaded"
        body[role] = entry
    if reason is None:
        return 200, body
    code = "warming_up" if state.status == "warming_up" else "model_unavailable"
    return 500, {**body, "error": reason, "code": code}


def reload_refusal(state: HealthSnapshot) -> dict[str, Any]:
    """``/reload``'s answer: a refusal saying why, and the models as they stay."""
    return {
        "status": "error",
        "error": RELOAD_REFUSAL,
        "code": "reload_unsupported",
        "models": state.models,
        "model_roles": state.model_roles,
    }


def rendered_result(rendered: RenderedVideo) -> dict[str, Any]:
    """A rendered job's result (built once, in its worker): the old ``/process_video`` ``data``
    and ``/job_status`` ``result`` fields together, every frame in the ``/pose/hybrid`` format
    plus the old names."""
    output, video = rendered.output, rendered.video
    fps = output.fps
    answers = video_frame_answers(video)
    frames = [legacy_frame(a, fps, output.job_id, i) for i, a in enumerate(answers)]
    size_mb = output.video_path.stat().st_size / 2**20 if output.video_path.is_file() else 0.0
    return {
        "status": "success",
        "job_id": output.job_id,
        "output_path": str(output.video_path),
        "video_path": str(output.video_path),
        "output_dir": str(output.directory),
        "total_frames": rendered.total_frames,
        "processed_frames": len(frames),
        "frame_count": len(frames),
        "fps": round(fps, 3),
        "resolution": [output.width, output.height],
        "video_duration": round(rendered.total_frames / fps, 3),
        "processing_time_seconds": round(rendered.seconds, 3),
        "output_size_mb": round(size_mb, 3),
        "frame_acceptance": [
            {"frame_number": f["frame_number"], "accepted": f["has_3d"],
             "source": f["temporal"]["source"]}
            for f in frames
        ],
        "pose_timeline": [
            {"frame_number": f["frame_number"], "timestamp": f["timestamp"],
             "has_3d": f["has_3d"], "source": f["temporal"]["source"],
             "tracking_confidence": f["tracking_confidence"],
             "joint_angles_3d": f["joint_angles_3d"]}
            for f in frames
        ],
        "frames": frames,
    }  # fmt: skip


def legacy_frame(answer: dict[str, Any], fps: float, job_id: str, index: int) -> dict[str, Any]:
    """One frame: its ``/pose/hybrid`` answer, the old names (``frameNumber``, ``timestamp``,
    ``vertices`` and ``faces``: null, whole-video frames keep no mesh) and its drawn image's
    address."""
    number = answer["frame_number"]
    return {
        "frameNumber": number,
        "timestamp": round(number / fps, 4),
        **answer,
        "vertices": None,
        "faces": None,
        "image_url": f"/frame/{job_id}/{index}",
    }


def process_video_answer(job: Job, images: Sequence[bytes]) -> dict[str, Any]:
    """``/process_video``'s answer: ``{status: success, data}``, the first frames with their
    drawn image inline as ``image_base64`` (raw base64 of the JPEG, no ``data:`` prefix)."""
    result: dict[str, Any] = job.result
    frames = list(result["frames"])
    for index, image in enumerate(images):
        frames[index] = {**frames[index], "image_base64": base64.b64encode(image).decode("ascii")}
    return {"status": "success", "data": {**result, "frames": frames}}


def accepted_answer(job: Job) -> dict[str, Any]:
    """``/process_video_async``'s answer."""
    return {
        "status": "accepted",
        "job_id": job.job_id,
        "message": f"processing {job.total} frames; poll GET /job_status/{job.job_id}",
    }


def job_status_answer(job: Job) -> dict[str, Any]:
    """``/job_status/<id>``: the old state words, with the elapsed time while queued or
    processing, the result, ``output_path`` and ``processing_time`` when complete, the error
    when it failed; and the job runner's progress."""
    now = time.time()
    body: dict[str, Any] = {
        "job_id": job.job_id,
        "status": JOB_STATES[job.status],
        "frames_done": job.done,
        "frames_total": job.total,
    }
    if job.status in ("queued", "running"):
        body["elapsed_time"] = round(now - (job.started or job.created), 3)
    elif job.status == "done":
        result = job.result
        body["result"] = result
        body["output_path"] = result.get("output_path") if isinstance(result, dict) else None
        body["processing_time"] = round((job.finished or now) - (job.started or job.created), 3)
    else:
        body["error"] = job.error
    return body
