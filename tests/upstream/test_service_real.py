"""The service under real gunicorn with ``estimator=hmr2`` on the CPU: the real 4D-Humans stack,
MediaPipe's person box (a CPU host's default detector), backend-like frames of the real clip.

Stand-in weights (``stand_ins.py``): the pose is SMPL's mean pose wherever the person is, so what
is checked is the contract's shape and semantics end to end, and a clean journal, not accuracy.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
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


def test_visualization_draws_the_real_models_mesh(hmr2_service: RunningService) -> None:
    """``visualize: true`` with the real 4D-Humans stack and ``POSE_SERVICE_OVERLAY``'s default:
    the drawn frame is filled where the answer's own vertices project (the mesh, drawn on the
    CPU) and nowhere else but the label. The stand-in SMPL's mesh is a blob around each joint
    (``stand_ins.synthetic_body``), not a body: what is checked is the drawing, not the shape."""
    import cv2

    from pose_service.camera import project

    png = runner_pngs(640)[0]
    answer = requests.post(
        hmr2_service.url + "/pose/hybrid",
        json={"image_base64": b64(png), "frame_number": 0, "video_id": "drawn", "visualize": True},
        timeout=120,
    )
    assert answer.status_code == 200, answer.text[:500]
    body = answer.json()
    prefix = "data:image/png;base64,"
    assert body["visualization"].startswith(prefix)
    drawn = cv2.imdecode(
        np.frombuffer(base64.b64decode(body["visualization"][len(prefix) :]), np.uint8),
        cv2.IMREAD_COLOR,
    )
    original = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert drawn.shape == original.shape
    height, width = original.shape[:2]
    changed = np.abs(drawn.astype(np.int16) - original.astype(np.int16)).max(axis=2) > 8
    pixels = project(
        np.asarray(body["mesh_vertices_data"], np.float64),
        np.asarray(body["camera_translation"], np.float64),
        body["scaled_focal_length"],
        width,
        height,
    )
    x0, y0 = np.clip(np.floor(pixels.min(axis=0)).astype(int), 0, [width - 1, height - 1])
    x1, y1 = np.clip(np.ceil(pixels.max(axis=0)).astype(int), 0, [width - 1, height - 1])
    assert x1 - x0 >= 10 and y1 - y0 >= 20, "the mesh projects into the frame"
    inside = (pixels >= 0).all(axis=1) & (pixels < [width, height]).all(axis=1)
    x, y = np.floor(pixels[inside]).astype(int).T
    assert changed[y, x].mean() > 0.8, "the pixels the vertices project to are drawn"
    outside = changed.copy()
    outside[y0 : y1 + 1, x0 : x1 + 1] = False
    outside[:30] = False  # the source/confidence label, top left
    assert outside.mean() < 0.01


def test_the_journal_is_json_only(hmr2_service: RunningService) -> None:
    """torch, timm, detectron2 and smplx warn on stderr and print on stdout while loading:
    every line must still be one JSON object."""
    lines = [line for line in hmr2_service.log_text().splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]
    assert any(e["event"] == "library_output" and "SMPL" in e["message"] for e in events)
    assert not any(Path(line).suffix == ".py" for line in lines)
