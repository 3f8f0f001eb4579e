"""What the views serve, found on the running app: the one place that knows where
``create_app`` put the settings, the pipeline and the whole-video jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

from ..config import Settings

if TYPE_CHECKING:
    from ..pipeline import PosePipeline
    from ..whole_video import WholeVideoService

SETTINGS_KEY, PIPELINE_KEY, VIDEOS_KEY = "POSE_SETTINGS", "pose_pipeline", "pose_videos"


def install(
    app: Flask, settings: Settings, pipeline: PosePipeline, videos: WholeVideoService
) -> None:
    """Keep what the app serves on it (``create_app``)."""
    app.config[SETTINGS_KEY] = settings
    app.extensions[PIPELINE_KEY] = pipeline
    app.extensions[VIDEOS_KEY] = videos


def settings() -> Settings:
    """The service's settings."""
    return current_app.config[SETTINGS_KEY]


def pipeline() -> PosePipeline:
    """The worker's pipeline (frames, health)."""
    return current_app.extensions[PIPELINE_KEY]


def videos() -> WholeVideoService:
    """The worker's whole-video jobs and sessions."""
    return current_app.extensions[VIDEOS_KEY]


def pipeline_of(app: Any) -> PosePipeline | None:
    """The pipeline of ``app`` (any object: a server's wsgi that is not our app has none)."""
    return getattr(app, "extensions", {}).get(PIPELINE_KEY)
