"""The service under real gunicorn with ``estimator=hmr2`` on the CPU: the real 4D-Humans stack,
MediaPipe's person box (a CPU host's default detector), backend-like frames of the real clip.

Stand-in weights (``stand_ins.py``): the pose is SMPL's mean pose wherever the person is, so what
is checked is the contract's shape and semantics end to end, and a clean journal, not accuracy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.frames import b64, runner_pngs
from tests.support.server import RunningService, launch

FRAMES = 4


@pytest.fixture(scope="module")
def hmr2_service(
    service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    service = launch(
        tmp_path_factory.mktemp("hmr2-logs"),
        {**service_env, "POSE_SERVICE_HMR2_DETECTOR": "auto", "POSE_SERVICE_LOG_FORMAT": "json"},
        ready_timeout=300.0,
    )
    yield service
    service.stop()


def test_backend_like_frames_get_the_full_contract(hmr2_service: RunningService) -> None:
    health = requests.get(hmr2_service.url + "/health", timeout=5).json()
    assert health["status"] == "ready"
    assert health["estimator"] == "hmr2"
    assert health["models"]["hmr2"] == "loaded"
    for n, png in enumerate(runner_pngs(640)[:FRAMES]):
        answer = requests.post(
            hmr2_service.url + "/pose/hybrid",
            json={"image_base64": b64(png), "frame_number": n},
            timeout=120,
        )
        assert answer.status_code == 200, answer.text[:500]
        body = answer.json()
        assert body["has_3d"] is True
        assert body["temporal"]["source"] == "detected"
        assert body["keypoint_count"] == 24
        assert [k["name"] for k in body["keypoints"]][:3] == ["pelvis", "left_hip", "right_hip"]
        assert len(body["joints_3d_raw"]) == 24
        assert body["mesh_vertices"] == 6890
        assert len(body["mesh_vertices_data"]) == 6890
        assert len(body["mesh_faces_data"]) == 13776
        assert body["model_version"].startswith("4D-Humans HMR2.0b")
        assert body["scaled_focal_length"] == pytest.approx(5000 / 256 * 640)


def test_the_journal_is_json_only(hmr2_service: RunningService) -> None:
    """torch, timm, detectron2 and smplx warn on stderr and print on stdout while loading:
    every line must still be one JSON object."""
    lines = [line for line in hmr2_service.log_text().splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]
    assert any(e["event"] == "library_output" and "SMPL" in e["message"] for e in events)
    assert not any(Path(line).suffix == ".py" for line in lines)
