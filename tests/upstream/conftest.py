"""The upstream suite: the project's code against the real 4D-Humans, detectron2, smplx and PHALP.

Collected only inside the venv ``tests/upstream/build-env.sh`` builds with the project's roles
(``make test-upstream`` sets ``POSE_UPSTREAM_ENV``); the main suite never imports torch or hmr2.
Model files are random-weight stand-ins of the real architectures (``stand_ins.py``), built once
per stand-in version into ``POSE_UPSTREAM_MODELS``.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

if not os.environ.get("POSE_UPSTREAM_ENV"):
    collect_ignore_glob = ["test_*.py"]
else:
    # hmr2.configs derives its cache from HOME at import: the stand-ins' HOME from the start, as
    # the unit's HOME is the service user's.
    os.environ["HOME"] = str(Path(os.environ["POSE_UPSTREAM_MODELS"]) / "home")


@pytest.fixture(scope="session")
def stand_ins() -> SimpleNamespace:
    """The stand-in model files (built in a child process the first time), the 4D-Humans clone."""
    import sys

    import hmr2

    from tests.upstream import stand_ins as maker

    root = Path(os.environ["POSE_UPSTREAM_MODELS"])
    fourd_humans = Path(hmr2.__file__).resolve().parents[1]
    built = maker.build_in_child(sys.executable, root, fourd_humans, REPO / "service" / "src")
    return SimpleNamespace(
        root=root, fourd_humans=fourd_humans, **{k: Path(v) for k, v in built.items()}
    )


@pytest.fixture(scope="session")
def service_env(stand_ins: SimpleNamespace) -> dict[str, str]:
    """The environment the systemd unit gives the service, pointed at the stand-ins."""
    return {
        "HOME": str(stand_ins.home),
        "PYOPENGL_PLATFORM": "osmesa",
        "POSE_SERVICE_ESTIMATOR": "hmr2",
        "POSE_SERVICE_DEVICE": "cpu",
        "POSE_SERVICE_HMR2_DETECTOR": "vitdet",  # the GPU host's detector, here on the CPU
        "POSE_SERVICE_VITDET_WEIGHTS": str(stand_ins.vitdet_weights),
        "POSE_SERVICE_FOURD_HUMANS_DIR": str(stand_ins.fourd_humans),
    }


@pytest.fixture(scope="session")
def runner_frames() -> list:
    """The first frames of the real clip, full size (RGB)."""
    from itertools import islice

    from pose_service.video_frames import read_frames
    from tests.support.frames import RUNNER_CLIP

    frames = list(islice(read_frames(RUNNER_CLIP), 3))
    assert len(frames) == 3
    return frames
