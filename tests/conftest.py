"""Shared fixtures (real gunicorn servers with the replay and lite estimators) and the tiers.

Tiers, by marker: unmarked tests run in-process (``make test-fast``, in parallel); ``service``
tests start real programs or models (gunicorn, nginx, node, MediaPipe): whole files say so with
``pytestmark``, and any test asking for a fixture in ``SERVICE_FIXTURES`` is marked here;
``slow`` tests are the system attacks under a timed load. ``make test`` runs all three.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.support.motion import write_replay
from tests.support.server import RunningService, launch


@pytest.fixture(autouse=True)
def _private_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test gets its own HOME: the default state directory (saved sessions) lives under
    it, so no test restores another run's sessions and none writes into the real home."""
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))


REPLAY_FRAMES = 60
# Detected pattern of the replay recording: misses at 0-1 (before the first detection),
# a 4-frame burst at 10-13 and a long gap 30-59 that outlives the track.
REPLAY_DETECTED = np.ones(REPLAY_FRAMES, dtype=bool)
REPLAY_DETECTED[[0, 1, 10, 11, 12, 13]] = False
REPLAY_DETECTED[30:] = False


@pytest.fixture(scope="session")
def replay_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("replay") / "walk.npz"
    write_replay(str(path), REPLAY_FRAMES, REPLAY_DETECTED, with_mesh=True)
    return path


@pytest.fixture(scope="session")
def replay_service(
    replay_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    """Real gunicorn with the replay estimator (mesh included); tracks drop after 10 frames."""
    service = launch(
        tmp_path_factory.mktemp("logs"),
        {
            "POSE_SERVICE_ESTIMATOR": "replay",
            "POSE_SERVICE_REPLAY_PATH": str(replay_path),
            "POSE_SERVICE_TRACK_MAX_GAP_FRAMES": "10",
            "POSE_SERVICE_MAX_BODY_BYTES": str(2 * 1024 * 1024),
            "POSE_SERVICE_MAX_IMAGE_PIXELS": "4000000",
        },
    )
    yield service
    service.stop()


@pytest.fixture(scope="session")
def lite_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """Real gunicorn with the real MediaPipe estimator; simulated misses allowed."""
    service = launch(
        tmp_path_factory.mktemp("logs"),
        {"POSE_SERVICE_ESTIMATOR": "lite", "POSE_SERVICE_ALLOW_SIMULATED_MISSES": "true"},
    )
    yield service
    service.stop()


SERVICE_FIXTURES = frozenset({"replay_service", "lite_service"})  # each starts real gunicorn


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses a real service is in the service tier, whatever its file says."""
    for item in items:
        if SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.service)
