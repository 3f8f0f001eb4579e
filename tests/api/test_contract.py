"""The backend's contract (docs/contract.md), field by field, against real gunicorn.

The replay estimator plays a recorded smooth motion with known misses (see conftest), so every
answer can be checked exactly: detected frames, predicted frames, frames with no pose.
"""

from __future__ import annotations

import base64
import io

import jsonschema
import numpy as np
import pytest
import requests
from PIL import Image

from pose_service.camera import scaled_focal_length
from pose_service.skeleton import JOINT_ANGLE_TRIPLETS, SMPL_JOINT_NAMES, joint_angles_deg
from tests.conftest import REPLAY_DETECTED
from tests.support.frames import b64, png_bytes
from tests.support.motion import HEIGHT, WIDTH, walking_sequence

pytestmark = pytest.mark.service  # real programs (gunicorn, nginx, MediaPipe): the service tier

FRAME_PNG = b64(png_bytes(WIDTH, HEIGHT))
JSON = {"Content-Type": "application/json"}
TRUTH = walking_sequence(60)


def post(url: str, frame_number: int | None, **extra: object) -> requests.Response:
    body: dict[str, object] = {"image_base64": FRAME_PNG, **extra}
    if frame_number is not None:
        body["frame_number"] = frame_number
    return requests.post(url + "/pose/hybrid", json=body, timeout=30)


@pytest.fixture(scope="module")
def stream(replay_service) -> list[dict]:
    """Frames 0..45 of one video, sent like the backend (sequential, no id)."""
    answers = []
    for n in range(46):
        response = post(replay_service.url, n)
        assert response.status_code == 200, response.text
        answers.append(response.json())
    return answers


@pytest.fixture(scope="module")
def frame_schema(replay_service) -> dict:
    doc = requests.get(replay_service.url + "/openapi.json", timeout=5).json()
    return doc["components"]["schemas"]["Frame"]


def test_every_answer_matches_the_published_schema(stream, frame_schema):
    validator = jsonschema.Draft202012Validator(frame_schema)
    for answer in stream:
        light = dict(answer)  # the mesh rows are checked by shape below, not row by row
        for key in ("mesh_vertices_data", "mesh_faces_data"):
            if light[key] is not None:
                light[key] = light[key][:10]
        validator.validate(light)
        assert answer["keypoint_count"] == len(answer["keypoints"])


def test_detected_frame_has_every_contract_field(stream, replay_path):
    answer = stream[5]
    assert REPLAY_DETECTED[5]
    assert answer["frame_number"] == 5
    assert (answer["frame_width"], answer["frame_height"]) == (WIDTH, HEIGHT)
    assert answer["has_3d"] is True
    assert [k["name"] for k in answer["keypoints"]] == list(SMPL_JOINT_NAMES)
    joints = np.array(answer["joints_3d_raw"])
    assert joints.shape == (24, 3)
    np.testing.assert_allclose(joints, TRUTH["joints_3d"][5], atol=1e-4)
    for row, joint in zip(answer["keypoints"], joints, strict=True):
        assert (row["x_3d"], row["y_3d"], row["z_3d"]) == pytest.approx(tuple(joint), abs=1e-4)
        assert 0.0 <= row["confidence"] <= 1.0
    pixels = np.array([[k["x"], k["y"]] for k in answer["keypoints"]])
    np.testing.assert_allclose(pixels, TRUTH["keypoints_2d"][5], atol=0.01)
    depth = np.array([k["z"] for k in answer["keypoints"]])
    np.testing.assert_allclose(depth, joints[:, 2] + TRUTH["camera_translation"][5][2], atol=1e-3)
    assert answer["camera_translation"] == pytest.approx(
        list(TRUTH["camera_translation"][5]), abs=1e-4
    )
    assert answer["scaled_focal_length"] == pytest.approx(
        scaled_focal_length(WIDTH, HEIGHT), abs=1e-3
    )
    tz = TRUTH["camera_translation"][5][2]
    assert answer["camera_params"] == {
        "scale": pytest.approx(2 * scaled_focal_length(WIDTH, HEIGHT) / (WIDTH * tz), rel=1e-4),
        "tx": pytest.approx(float(TRUTH["camera_translation"][5][0]), abs=1e-4),
        "ty": pytest.approx(float(TRUTH["camera_translation"][5][1]), abs=1e-4),
        "type": "weak_perspective",
    }
    recording = np.load(replay_path)
    assert answer["mesh_vertices"] == 6890
    assert np.array(answer["mesh_vertices_data"]).shape == (6890, 3)
    assert answer["mesh_faces_data"] == recording["faces"].tolist()
    assert answer["processing_time_ms"] > 0
    assert answer["model_version"] == "replay-walk"
    assert answer["tracking_confidence"] == pytest.approx(0.95)
    assert answer["temporal"]["source"] == "detected"
    assert answer["temporal"]["frames_since_detection"] == 0
    assert "error" not in answer and "visualization" not in answer


def test_joint_angles_are_measured_at_the_named_joints(stream):
    answer = stream[5]
    joints = np.array(answer["joints_3d_raw"])
    assert set(answer["joint_angles_3d"]) == set(JOINT_ANGLE_TRIPLETS)
    index = {n: i for i, n in enumerate(SMPL_JOINT_NAMES)}
    for name, (a, v, b) in JOINT_ANGLE_TRIPLETS.items():
        assert v.endswith(name) or name == "spine"
        u, w = joints[index[a]] - joints[index[v]], joints[index[b]] - joints[index[v]]
        expected = np.degrees(np.arccos(u @ w / np.linalg.norm(u) / np.linalg.norm(w)))
        assert answer["joint_angles_3d"][name] == pytest.approx(expected, abs=0.02)
    assert answer["joint_angles_3d"] == joint_angles_deg(joints.astype(np.float32))


def test_frames_before_the_first_detection_say_why(stream):
    for answer in stream[:2]:
        assert answer["has_3d"] is False
        assert answer["keypoints"] == [] and answer["keypoint_count"] == 0
        assert answer["joints_3d_raw"] is None and answer["camera_translation"] is None
        assert answer["camera_params"] is None
        assert answer["mesh_vertices_data"] is None and answer["mesh_faces_data"] is None
        assert answer["tracking_confidence"] == 0.0
        assert "no person detected" in answer["error"]
        assert answer["temporal"]["source"] is None


def test_missed_frames_get_a_predicted_pose_with_falling_confidence(stream):
    detected_confidence = stream[9]["tracking_confidence"]
    previous = detected_confidence
    for gap, n in enumerate(range(10, 14), start=1):
        answer = stream[n]
        assert answer["has_3d"] is True
        assert answer["temporal"]["source"] == "predicted"
        assert answer["temporal"]["frames_since_detection"] == gap
        assert answer["tracking_confidence"] < previous
        previous = answer["tracking_confidence"]
        pixels = np.array([[k["x"], k["y"]] for k in answer["keypoints"]])
        error = np.linalg.norm(pixels - TRUTH["keypoints_2d"][n], axis=1).mean()
        hold_last = np.linalg.norm(TRUTH["keypoints_2d"][9] - TRUTH["keypoints_2d"][n], axis=1)
        assert error < 0.5 * hold_last.mean(), f"frame {n}: {error:.1f} px off"
        assert answer["mesh_vertices"] == 6890
    assert stream[14]["temporal"]["source"] == "detected"
    assert stream[14]["temporal"]["track_id"] == stream[9]["temporal"]["track_id"]


def test_a_track_without_detections_for_too_long_is_dropped(stream):
    # The recording misses every frame from 30 on; the service drops tracks after 10 frames.
    assert all(a["has_3d"] for a in stream[30:40])
    for answer in stream[41:46]:
        assert answer["has_3d"] is False
        assert "dropped" in answer["error"] and answer["error_code"] == "track_lost"


def test_frame_number_defaults_to_zero(replay_service):
    answer = post(replay_service.url, None).json()
    assert answer["frame_number"] == 0


def test_visualize_returns_the_frame_as_a_png_data_url(replay_service):
    answer = post(replay_service.url, 5, visualize=True, video_id="viz").json()
    prefix = "data:image/png;base64,"
    assert answer["visualization"].startswith(prefix)
    image = Image.open(io.BytesIO(base64.b64decode(answer["visualization"][len(prefix) :])))
    assert image.size == (WIDTH, HEIGHT)


def test_health_keeps_the_old_fields(replay_service):
    health = requests.get(replay_service.url + "/health", timeout=5).json()
    assert health["status"] == "ready" and health["ready"] is True
    assert set(health["models"]) >= {"hmr2", "vitdet"}
    assert set(health["models"].values()) <= {"loaded", "not_loaded"}
    # hmr2 / vitdet are the body-model and person-detector roles; the recording fills both
    assert health["models"] == {"hmr2": "loaded", "vitdet": "loaded", "replay": "loaded"}
    assert health["model_roles"] == {"hmr2": "replay", "vitdet": "replay"}
    assert health["service"] == "pose-service"
    assert isinstance(health["timestamp"], str)
    assert health["queue"]["capacity"] >= 1
    # additions: how tracking is set up, and which whole-video trackers this host offers
    assert health["tracker"] == {
        "max_gap_frames": 10,
        "smoothing": "off",
        "detect_every_frames": 1,
        "whole_video_trackers": ["service"],  # no PHALP here (replay estimator, no 4D-Humans)
    }


@pytest.mark.parametrize(
    ("data", "headers", "status", "code"),
    [
        (b"not json", JSON, 400, "invalid_json"),
        (b"[1, 2]", JSON, 400, "invalid_body"),
        (b"{}", JSON, 400, "missing_field"),
        (b'{"image_base64": 5}', JSON, 400, "invalid_type"),
        (b'{"image_base64": "@@@"}', JSON, 400, "invalid_base64"),
        (b'{"image_base64": "aGVsbG8="}', JSON, 400, "invalid_image"),
        (b'{"image_base64": "x"}', {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        (b"{" + b" " * (3 * 1024 * 1024) + b"}", JSON, 413,
         "body_too_large"),
    ],
)  # fmt: skip
def test_bad_requests_get_a_named_4xx(replay_service, data, headers, status, code):
    response = requests.post(
        replay_service.url + "/pose/hybrid", data=data, headers=headers, timeout=30
    )
    assert response.status_code == status
    body = response.json()
    assert body["code"] == code and body["error"]


def test_an_image_over_the_pixel_limit_is_refused_before_decoding(replay_service):
    big = png_bytes(3000, 2000)  # 6 Mpx > the 4 Mpx limit this server runs with
    response = requests.post(
        replay_service.url + "/pose/hybrid", json={"image_base64": b64(big)}, timeout=30
    )
    assert response.status_code == 413
    assert response.json()["code"] == "image_too_large"


def test_unknown_paths_and_methods_answer_json(replay_service):
    missing = requests.get(replay_service.url + "/nope", timeout=5)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    wrong = requests.get(replay_service.url + "/pose/hybrid", timeout=5)
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"


def test_openapi_document_describes_the_endpoints(replay_service):
    doc = requests.get(replay_service.url + "/openapi.json", timeout=5).json()
    assert doc["openapi"].startswith("3.1")
    assert {"/pose/hybrid", "/health", "/openapi.json"} <= set(doc["paths"])
    from openapi_spec_validator import validate

    validate(doc)
