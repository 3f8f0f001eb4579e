"""The HTTP edge: the backend's contract (``/pose/hybrid``, ``/health``) and its additions."""

from .app import create_app

__all__ = ["create_app"]
