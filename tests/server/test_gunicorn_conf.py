"""gunicorn's master reads ``gunicorn_conf`` before it forks the worker: reading it must not load
the application (Flask app, pipeline, OpenCV), which only the worker needs."""

from __future__ import annotations

import json
import subprocess
import sys


def test_reading_the_config_loads_no_application_module():
    probe = (
        "import json, sys; import pose_service.server.gunicorn_conf; "
        "print(json.dumps(sorted(m for m in sys.modules if m == 'cv2' or m.startswith("
        "('pose_service.api', 'pose_service.pipeline', 'pose_service.estimators')))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(loaded.stdout) == []


def test_the_masters_worker_exit_loads_no_application_module():
    """gunicorn's master calls ``worker_exit`` for a worker already gone (no app in it): that
    must not import the application into the master while it stops."""
    probe = (
        "import json, sys, types; import pose_service.server.gunicorn_conf as conf; "
        "conf.worker_exit(None, types.SimpleNamespace(pid=1, wsgi=None)); "
        "print(json.dumps(sorted(m for m in sys.modules if m == 'cv2' or m.startswith("
        "('pose_service.api', 'pose_service.pipeline', 'pose_service.estimators')))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(loaded.stdout.splitlines()[-1]) == []
