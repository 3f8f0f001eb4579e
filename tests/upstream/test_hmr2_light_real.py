"""``HMR2Estimator`` as a CPU host runs it: MediaPipe's person box instead of ViTDet-H.

Its own module, so the ViTDet-H estimator of ``test_hmr2_real`` is released first (two loaded
stacks do not fit beside the service tests on a 24 GB machine). Stand-in weights: see
``stand_ins.py``; the detector (MediaPipe, on the real clip) is real.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from pose_service.types import Frame
from tests.upstream.test_hmr2_real import RUNNER_BOX, load_estimator


@pytest.fixture(scope="module")
def loaded_light(service_env: dict[str, str]) -> Iterator[SimpleNamespace]:
    """The real estimator as a CPU host runs it: MediaPipe's person box instead of ViTDet-H."""
    yield from load_estimator({**service_env, "POSE_SERVICE_HMR2_DETECTOR": "auto"})


def test_on_a_cpu_mediapipe_finds_the_runner_for_hmr2(
    loaded_light: SimpleNamespace, runner_frames
) -> None:
    """The real MediaPipe on the real clip gives HMR2 its crop; ViTDet-H is not even loaded."""
    estimator = loaded_light.estimator
    assert estimator.describe()["detector"] == "mediapipe"
    assert estimator.model_status() == {"hmr2": "loaded", "mediapipe_pose": "loaded"}
    assert estimator.model_roles() == {"hmr2": "hmr2", "vitdet": "mediapipe_pose"}
    assert estimator.role_status() == {
        "hmr2": "loaded", "vitdet": "loaded", "mediapipe_pose": "loaded"
    }  # fmt: skip
    estimate = estimator.estimate(Frame(runner_frames[0], 0))
    assert estimate.detector_ran
    (person,) = estimate.people
    x0, y0, x1, y1 = person.bbox
    rx0, ry0, rx1, ry1 = RUNNER_BOX
    overlap = max(0.0, min(x1, rx1) - max(x0, rx0)) * max(0.0, min(y1, ry1) - max(y0, ry0))
    assert overlap > 0.5 * (x1 - x0) * (y1 - y0)  # the box is on the runner
    assert person.vertices.shape == (6890, 3)
