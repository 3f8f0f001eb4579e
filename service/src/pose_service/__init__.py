"""pose-service: drop-in ``/pose/hybrid`` with per-frame 3D pose and temporal tracking.

Layout (data flows one way per request: decode -> estimate -> track -> answer -> log):

- ``api/``          HTTP: Flask app factory, routes, request parsing, answer building, errors.
- ``estimators/``   per-frame pose models behind one interface (``hmr2``, ``lite``, ``replay``).
- ``pipeline.py``   the facade that composes the parts below for the API.
- ``model/``        the one model instance: loading, readiness, the FIFO gate and batching.
- ``streaming/``    one streamed frame's way: route, hint, rescue, track, hold.
- ``sessions/``     which video a frame belongs to; saving the sessions across restarts.
- ``tracking/``     one video's tracks that predict poses for missed frames (maths only).
- ``whole_video/``  whole-video jobs and answers.
- ``observability.py`` structured JSON logs and memory figures.
- ``metrics.py``    Prometheus metrics (``GET /metrics``): counted events, state read at scrape.
- ``config.py``     every knob, from ``POSE_SERVICE_*``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pose-service")  # service/pyproject.toml's, as installed
except PackageNotFoundError:  # the sources on sys.path without an install
    __version__ = "0+unknown"
