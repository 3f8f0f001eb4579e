"""The HTTP edge: the backend's contract (``/pose/hybrid``, ``/health``) and its additions.
It parses requests and builds answers, nothing more.

- ``app``: ``create_app(settings)``, the application factory (nothing happens at import).
- ``routes``: ``POST /pose/hybrid``, ``GET /health``, ``GET /openapi.json``.
- ``video_routes``: ``GET /sessions/<id>``, ``POST /pose/video``, ``GET /jobs/<id>``.
- ``legacy_routes`` + ``legacy``: the old service's routes the backend calls, in its shapes.
- ``ops_routes``: ``/livez``, ``/readyz``, ``/metrics`` and the per-request metric hooks.
- ``requests``: reading and validating a request; every problem is a named 4xx.
- ``responses``: the ``/pose/hybrid`` answer from a frame outcome; ``json``: orjson encoding.
- ``errors`` + ``error_map``: one error shape, and which domain error is which answer.
- ``openapi``: the OpenAPI document.
"""

from .app import create_app

__all__ = ["create_app"]
