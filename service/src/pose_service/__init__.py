"""pose-service: drop-in ``/pose/hybrid`` with per-frame 3D pose and temporal tracking.

Layout (data flows one way per request: decode -> estimate -> track -> answer -> log):

- ``api/``          HTTP: Flask app factory, routes, request parsing, answer building, errors.
- ``estimators/``   per-frame pose models behind one interface (``hmr2``, ``lite``, ``replay``).
- ``tracking/``     per-video tracks that predict poses for missed frames; session routing.
- ``scheduling.py`` FIFO, bounded access to the one model instance of the process.
- ``observability.py`` structured JSON logs and memory figures.
- ``config.py``     every knob, from ``POSE_SERVICE_*``.
"""

__version__ = "0.1.0"
