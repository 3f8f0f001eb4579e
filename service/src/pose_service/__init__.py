"""pose-service: drop-in ``/pose/hybrid`` with per-frame 3D pose and temporal tracking.

Layout (data flows one way per request: decode -> estimate -> track -> answer -> log):

- ``api/``          HTTP: Flask app factory, routes, request parsing, answer building, errors.
- ``estimators/``   per-frame pose models behind one interface (``hmr2``, ``lite``, ``replay``).
- ``tracking/``     per-video tracks that predict poses for missed frames; session routing.
- ``scheduling.py`` FIFO, bounded access to the one model instance of the process.
- ``observability.py`` structured JSON logs and memory figures.
- ``metrics.py``    Prometheus metrics (``GET /metrics``): counted events, state read at scrape.
- ``config.py``     every knob, from ``POSE_SERVICE_*``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pose-service")  # service/pyproject.toml's, as installed
except PackageNotFoundError:  # the sources on sys.path without an install
    __version__ = "0+unknown"
