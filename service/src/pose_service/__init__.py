"""pose-service: drop-in ``/pose/hybrid`` with per-frame 3D pose and temporal tracking.

Layout (data flows one way per request: decode -> estimate -> track -> answer -> log):

- ``api/``            HTTP: Flask app factory, routes, request parsing, answer building, errors;
  ``api/context.py``: where the views find what they serve.
- ``server/``         how gunicorn runs it: its config, the worker, connections, the WSGI entry.
- ``pipeline.py``     the facade that composes the parts below for the API.
- ``model/``          the one model instance: loading, readiness, the FIFO gate and batching.
- ``streaming/``      one streamed frame's way: route, hint, first look, rescue, track, hold.
- ``sessions/``       which video a frame belongs to; saving the sessions across restarts.
- ``tracking/``       one video's track, predicting poses for missed frames (maths only).
- ``estimators/``     per-frame pose models behind one interface (``hmr2/``, ``lite``, ``replay``).
- ``whole_video/``    whole-video jobs and sessions' whole tracks (``POST /pose/video``, ...).
- ``imaging.py``      base64 and image decoding; ``video_frames.py``: a video file's frames.
- ``types.py``        values that cross module borders; ``camera.py``, ``skeleton.py``: the
  contract's camera and SMPL skeleton.
- ``drawing.py``, ``mesh_render.py``  the pose drawn on a frame (skeleton, or the mesh on a CPU).
- ``observability.py`` structured JSON logs and memory figures.
- ``metrics.py``      Prometheus metrics (``GET /metrics``): counted events, state read at scrape.
- ``config.py``       every knob, from ``POSE_SERVICE_*``; ``config_spec.py``: what a declaration
  is; ``config_docs.py``: the settings tables written from them.
- ``cli.py``          the ``pose-service`` command; ``health_client.py``: ``check``'s probes.
- ``devtools/``       developer tools apart from the service (``demo``, ``eval``, a local
  service for tests and benchmarks); only ``demo`` and ``eval`` import them.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pose-service")  # service/pyproject.toml's, as installed
except PackageNotFoundError:  # the sources on sys.path without an install
    __version__ = "0+unknown"
