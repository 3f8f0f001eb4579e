"""The answer's mesh options: ``full`` is the contract unchanged; lighter ones on request."""

from __future__ import annotations

import base64

import numpy as np
import orjson
import pytest

from pose_service.api.json import dumps_bytes
from pose_service.api.responses import FacesCache, build_frame_answer, video_frame_answers
from pose_service.pipeline import FrameOutcome
from pose_service.tracking.track import no_pose
from pose_service.types import Frame, PersonPose, TrackedPose
from pose_service.whole_video.outcomes import VideoFrame, WholeVideo

VERTICES = np.random.default_rng(0).normal(size=(6890, 3)).astype(np.float32)
FACES = np.random.default_rng(1).integers(0, 6890, (13776, 3)).astype(np.int32)


def _outcome() -> FrameOutcome:
    pose = PersonPose(
        joints_3d=np.zeros((24, 3), np.float32),
        keypoints_2d=np.ones((24, 2), np.float32),
        joint_confidence=np.full(24, 0.9, np.float32),
        score=0.9,
        bbox=np.array([0, 0, 10, 20], np.float32),
        camera_translation=np.array([0, 0, 5], np.float32),
        vertices=VERTICES,
    )
    tracked = TrackedPose(pose, "detected", 0.9, 1, 0)
    return FrameOutcome(Frame(np.zeros((4, 8, 3), np.uint8), 3), tracked, "s1", "frame_zero", "m")


def _answer(mesh_format: str) -> dict:
    return orjson.loads(
        dumps_bytes(build_frame_answer(_outcome(), FacesCache(FACES), False, mesh_format))
    )


def test_full_is_the_contract_answer_with_the_faces_spliced_in_verbatim():
    answer = _answer("full")
    assert answer == orjson.loads(dumps_bytes(build_frame_answer(_outcome(), FacesCache(FACES))))
    np.testing.assert_array_equal(np.array(answer["mesh_vertices_data"], np.float32), VERTICES)
    assert answer["mesh_faces_data"] == FACES.tolist()
    assert answer["mesh_vertices"] == 6890 and "mesh_vertices_encoding" not in answer


def test_faces_are_encoded_once_per_cache():
    cache = FacesCache(FACES)
    first = build_frame_answer(_outcome(), cache)["mesh_faces_data"]
    assert build_frame_answer(_outcome(), cache)["mesh_faces_data"] is first
    assert isinstance(first, orjson.Fragment)


def test_base64_vertices_round_trip_and_faces_are_left_out():
    answer = _answer("base64")
    assert answer["mesh_vertices_encoding"] == "base64-float32-le"
    raw = np.frombuffer(base64.b64decode(answer["mesh_vertices_data"]), "<f4").reshape(-1, 3)
    np.testing.assert_array_equal(raw, VERTICES)
    assert answer["mesh_faces_data"] is None and answer["mesh_vertices"] == 6890


@pytest.mark.parametrize("mesh_format", ["none", "base64"])
def test_lighter_answers_keep_every_other_field(mesh_format):
    full, light = _answer("full"), _answer(mesh_format)
    skip = {"mesh_vertices_data", "mesh_faces_data", "mesh_vertices_encoding"}
    assert {k: v for k, v in light.items() if k not in skip} == {
        k: v for k, v in full.items() if k not in skip
    }
    if mesh_format == "none":
        assert light["mesh_vertices_data"] is None and light["mesh_faces_data"] is None


def test_camera_params_is_the_weak_perspective_camera_of_the_translation():
    """At the body's depth the weak-perspective camera projects where the full-image camera
    does: ``scale * (X + t)`` in coordinates normalised to [-1, 1] across the longer side."""
    from pose_service.camera import project, scaled_focal_length

    width, height = 640, 360
    translation = np.array([0.3, -0.1, 12.0], np.float32)
    pose = PersonPose(
        joints_3d=np.zeros((24, 3), np.float32),
        keypoints_2d=np.zeros((24, 2), np.float32),
        joint_confidence=np.full(24, 0.9, np.float32),
        score=0.9,
        bbox=np.array([0, 0, 10, 20], np.float32),
        camera_translation=translation,
        focal_length=scaled_focal_length(width, height),
    )
    frame = Frame(np.zeros((height, width, 3), np.uint8), 0)
    outcome = FrameOutcome(frame, TrackedPose(pose, "detected", 0.9, 1, 0), "s", "r", "m")
    params = build_frame_answer(outcome, FacesCache(None))["camera_params"]
    assert params["type"] == "weak_perspective"
    assert (params["tx"], params["ty"]) == pytest.approx((0.3, -0.1), abs=1e-5)
    points = np.array([[0.0, 0.0, 0.0], [0.4, -0.8, 0.0], [-0.2, 0.9, 0.0]], np.float32)
    pixels = project(points, translation, scaled_focal_length(width, height), width, height)
    half = max(width, height) / 2.0
    weak = params["scale"] * (points[:, :2] + translation[:2]) * half + [width / 2, height / 2]
    np.testing.assert_allclose(weak, pixels, atol=0.01)


def test_camera_params_is_null_without_a_pose_or_a_camera():
    outcome = _outcome()
    assert build_frame_answer(outcome, FacesCache(None))["camera_params"]["scale"] > 0
    outcome.tracked.pose.camera_translation = None
    assert build_frame_answer(outcome, FacesCache(None))["camera_params"] is None
    outcome.tracked.pose = None
    assert build_frame_answer(outcome, FacesCache(None))["camera_params"] is None


@pytest.mark.parametrize("overlay", ["mesh", "skeleton"])
def test_visualize_draws_what_the_overlay_setting_says(overlay):
    """``visualization``: the frame with the pose's mesh (POSE_SERVICE_OVERLAY=mesh, the pose
    has one), else its skeleton; the PNG data URL the backend shows as it is."""
    import io

    from PIL import Image

    from benchmarks.common import closed_body_mesh
    from pose_service.camera import project, scaled_focal_length
    from pose_service.drawing import SOURCE_COLOURS

    vertices, faces = closed_body_mesh()
    width, height = 320, 180
    focal = scaled_focal_length(width, height)
    t = np.array([0.0, 0.0, focal * 1.7 / 120], np.float32)  # 120 px tall, mid-frame
    joints = np.stack([np.zeros(24), np.linspace(-0.5, 0.5, 24), np.zeros(24)], 1)
    pose = PersonPose(
        joints_3d=joints.astype(np.float32),
        keypoints_2d=project(joints, t, focal, width, height).astype(np.float32),
        joint_confidence=np.full(24, 0.9, np.float32),
        score=0.9,
        bbox=np.array([150, 30, 170, 150], np.float32),
        camera_translation=t,
        focal_length=focal,
        vertices=vertices,
    )
    rgb = np.full((height, width, 3), 90, np.uint8)
    outcome = FrameOutcome(
        Frame(rgb, 3), TrackedPose(pose, "detected", 0.9, 1, 0), "s1", "frame_zero", "m"
    )
    answer = build_frame_answer(outcome, FacesCache(faces), True, "none", overlay)
    prefix = "data:image/png;base64,"
    png = base64.b64decode(answer["visualization"].removeprefix(prefix))
    drawn = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    covered = np.any(drawn[27:] != 90, axis=2).sum()
    x, y = np.round(pose.keypoints_2d[12]).astype(int)
    skeleton_rgb = SOURCE_COLOURS["detected"][::-1]
    if overlay == "mesh":
        assert covered > 0.7 * np.pi * 7.5 * 60  # the body's filled ellipse
        assert tuple(drawn[y, x]) != skeleton_rgb
    else:
        assert covered < 0.5 * np.pi * 7.5 * 60
        assert tuple(drawn[y, x]) == skeleton_rgb


def test_a_whole_videos_frames_answer_as_streamed_frames_of_its_size_without_their_pixels():
    """Whole videos keep no pixels: their answers come from the frame number and the video's
    size, and are what a streamed frame of that size answers (no faces)."""
    with_pose, missed = _outcome().tracked, no_pose("nobody", "no_track_yet")
    video = WholeVideo([VideoFrame(3, with_pose), VideoFrame(7, missed)], (8, 4), "s1",
                       "frame_zero", "m")  # fmt: skip
    streamed = [
        FrameOutcome(Frame(np.zeros((4, 8, 3), np.uint8), n), tracked, "s1", "frame_zero", "m")
        for n, tracked in ((3, with_pose), (7, missed))
    ]
    answers = video_frame_answers(video)
    assert [a["frame_number"] for a in answers] == [3, 7]
    assert {(a["frame_width"], a["frame_height"]) for a in answers} == {(8, 4)}
    assert answers[0]["mesh_faces_data"] is None and answers[1]["error_code"] == "no_track_yet"
    assert dumps_bytes(answers) == dumps_bytes(
        [build_frame_answer(o, FacesCache(None)) for o in streamed]
    )
