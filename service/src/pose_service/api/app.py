"""The application factory: ``create_app(settings)`` builds the Flask app; nothing at import."""

from __future__ import annotations

import hmac

from flask import Flask, request

from ..config import Settings
from ..observability import configure_logging
from ..pipeline import PosePipeline
from ..whole_video import WholeVideoService
from ..whole_video.results import JobResultEncoder
from . import context
from .error_map import register_domain_errors
from .errors import ApiError, register_error_handlers
from .json import OrjsonProvider
from .legacy import rendered_result
from .legacy_routes import bp as legacy_bp
from .ops_routes import PROBE_PATHS, install_metrics
from .ops_routes import bp as ops_bp
from .routes import bp
from .video_routes import bp as video_bp
from .video_routes import job_result

OPEN_PATHS = frozenset({"/health", "/openapi.json"}) | PROBE_PATHS


def create_app(
    settings: Settings | None = None,
    pipeline: PosePipeline | None = None,
    start_loading: bool = True,
) -> Flask:
    """Build the app around one pipeline (one model instance per process)."""
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    app = Flask("pose_service", static_folder=None)
    app.json = OrjsonProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    pipeline = pipeline or PosePipeline(settings)
    videos = WholeVideoService(
        pipeline.settings,  # the settings its model host and stepper were built from
        pipeline.model,
        pipeline.stepper,
        pipeline.live_session,
        JobResultEncoder(video=job_result, rendered=rendered_result),
    )
    context.install(app, settings, pipeline, videos)
    register_error_handlers(app)
    register_domain_errors(app, settings.retry_after_s)
    app.register_blueprint(ops_bp)  # first: its clock starts before any other hook runs
    install_metrics(app)
    app.register_blueprint(bp)
    app.register_blueprint(video_bp)
    app.register_blueprint(legacy_bp)

    if settings.auth_token:

        @app.before_request
        def _require_token() -> None:
            if request.path in OPEN_PATHS:
                return
            given = request.headers.get("X-Pose-Service-Token", "")
            if not hmac.compare_digest(given.encode(), settings.auth_token.encode()):
                raise ApiError(401, "unauthorized", "missing or wrong X-Pose-Service-Token header")

    if start_loading:
        pipeline.start_loading()
    return app
