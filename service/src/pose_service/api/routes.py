"""The endpoints: ``POST /pose/hybrid``, ``GET /health``, ``GET /openapi.json``."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from flask import Blueprint, Response, current_app, g, request

from .. import __version__
from ..observability import get_logger, memory_report
from ..streaming.outcome import FrameOutcome
from ..whole_video.videos import host_trackers
from . import context
from .json import dumps_bytes
from .openapi import openapi_document
from .requests import parse_hybrid_request, simulate_miss_asked
from .responses import FacesCache, build_frame_answer

bp = Blueprint("pose", __name__)
log = get_logger("pose_service.api")


def _faces() -> FacesCache:
    cache = current_app.extensions.get("pose_faces")
    if cache is None:
        cache = FacesCache(context.pipeline().faces)
        current_app.extensions["pose_faces"] = cache
    return cache


@bp.post("/pose/hybrid")
def pose_hybrid() -> Response:
    """One frame in, one pose out (detected, predicted from the track, or none with a reason)."""
    start = time.perf_counter()
    pipeline, settings = context.pipeline(), context.settings()
    req = parse_hybrid_request(request, settings.reject_unknown_fields)
    g.frame_number = req.frame_number  # for the log line of an error answer
    frame, decode_ms = pipeline.decode(req.image_base64, req.frame_number)
    simulate_miss = simulate_miss_asked(request, settings.allow_simulated_misses)
    outcome = pipeline.process(frame, req.video_id, simulate_miss)
    outcome.timings_ms["decode"] = decode_ms
    build_start = time.perf_counter()
    answer = build_frame_answer(outcome, _faces(), req.visualize, req.mesh_format, settings.overlay)
    # processing_time_ms: everything from arrival up to the final encoding.
    answer["processing_time_ms"] = round((time.perf_counter() - start) * 1e3, 2)
    body = dumps_bytes(answer)
    outcome.timings_ms["serialise"] = (time.perf_counter() - build_start) * 1e3
    total_ms = (time.perf_counter() - start) * 1e3
    _log_frame(outcome, total_ms)
    return current_app.response_class(body, mimetype="application/json")


def _log_frame(outcome: FrameOutcome, total_ms: float) -> None:
    tracked = outcome.tracked
    fields = {
        "frame_number": outcome.frame.frame_number,
        "session": outcome.session_id,
        "source": tracked.source,
        "confidence": tracked.tracking_confidence,
        "track_id": tracked.track_id,
        "frames_since_detection": tracked.frames_since_detection,
        "timings_ms": {k: round(v, 2) for k, v in outcome.timings_ms.items()},
        "total_ms": round(total_ms, 2),
    }
    if tracked.flags:
        fields["flags"] = tracked.flags
    if outcome.batch_frames > 1:
        fields["batch_frames"] = outcome.batch_frames
    if tracked.pose is None:
        log.warning("frame_lost", reason=tracked.reason, error=tracked.error, **fields)
    else:
        log.info("frame", **fields)
    if "outlier_rejected" in tracked.flags or "reacquired" in tracked.flags:
        log.warning("temporal_coherence_broken", scores=tracked.scores, **fields)
    if total_ms > context.settings().slow_frame_ms:
        log.warning("slow_frame", total_ms=round(total_ms, 1), **memory_report())


@bp.get("/health")
def health() -> Response:
    """Readiness for the backend and the systemd timer; never waits for the model."""
    settings = context.settings()
    state = context.pipeline().health_snapshot()
    body = {
        "status": state.status,
        "ready": state.status == "ready",
        "models": state.models,
        "model_roles": state.model_roles,
        "service": "pose-service",
        "timestamp": datetime.now(timezone.utc).isoformat(),
        "version": __version__,
        "estimator": state.estimator,
        "uptime_s": state.uptime_s,
        "load_seconds": state.load_seconds,
        "queue": state.queue,
        "sessions": state.sessions,
        "persistence": state.persistence,
        "uploads": context.videos().uploads_state(),
        "rescue": state.rescue,
        "tracker": {
            "max_gap_frames": settings.track_max_gap_frames,
            "smoothing": settings.track_smoothing,
            "detect_every_frames": settings.detect_every_frames,
            "whole_video_trackers": list(host_trackers(settings)),
        },
        **state.estimator_facts,
    }
    if state.load_error:
        body["error"] = state.load_error
    return current_app.json.response(body)


@bp.get("/openapi.json")
def openapi() -> Response:
    return current_app.json.response(openapi_document())
