"""Developer tools, apart from the service: what ``pose-service demo`` and ``pose-service eval``
run, and what the tests and benchmarks use to drive a real service. The service never imports
them (the CLI imports them only inside those two commands).

- ``demo``: stream a video the way the backend does, against a running service.
- ``demo_report``: the demo's annotated video, timeline and per-frame JSON.
- ``local_service``: start a local ``pose-service serve``, wait until ready, stop it.
- ``evaluation/``: ``pose-service eval``, gap filling measured against ground truth (its own
  docstring lists its modules).
"""
