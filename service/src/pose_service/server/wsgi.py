"""The WSGI entry point gunicorn imports in its worker: builds the app from the environment."""

from pose_service.api import create_app

app = create_app()
