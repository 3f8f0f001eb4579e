"""What a drawn frame shows (``drawing.draw_answer`` / ``draw_tracked``): the mesh where the pose
has one and the overlay asks for it, the skeleton otherwise, the label always."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.common import closed_body_mesh
from pose_service.camera import project, scaled_focal_length
from pose_service.drawing import SOURCE_COLOURS, draw_answer, draw_tracked, mesh_colour
from pose_service.mesh_render import MeshRenderer
from pose_service.types import PersonPose, TrackedPose

pytest.importorskip("cv2")

W, H = 640, 360
GREY = 90
FOCAL = scaled_focal_length(W, H)
VERTICES, FACES = closed_body_mesh()
RENDERER = MeshRenderer(FACES)
LABEL_ROWS = 27  # the label's box: rows 0..26


def _pose(mesh: bool = True) -> PersonPose:
    """The closed body standing mid-frame, 250 px tall, with 24 keypoints inside it projected
    by the same camera."""
    t = np.array([0.0, 0.0, FOCAL * 1.7 / 250], np.float32)
    joints = np.stack([np.zeros(24), np.linspace(-0.6, 0.6, 24), np.zeros(24)], 1)
    joints = joints.astype(np.float32)
    return PersonPose(
        joints_3d=joints,
        keypoints_2d=project(joints, t, FOCAL, W, H).astype(np.float32),
        joint_confidence=np.full(24, 0.9, np.float32),
        score=0.9,
        bbox=np.array([300, 55, 340, 305], np.float32),
        camera_translation=t,
        focal_length=FOCAL,
        vertices=VERTICES if mesh else None,
    )


def _frame() -> np.ndarray:
    return np.full((H, W, 3), GREY, np.uint8)


def _at_keypoints(image: np.ndarray, pose: PersonPose) -> np.ndarray:
    xy = np.round(pose.keypoints_2d).astype(int)
    return image[xy[:, 1], xy[:, 0]]


def test_a_pose_with_a_mesh_is_drawn_as_the_mesh_in_its_source_colour():
    pose = _pose()
    drawn = draw_answer(_frame(), pose, "predicted", 0.5, RENDERER, "mesh")
    at = _at_keypoints(drawn, pose).astype(float)
    skeleton = np.array(SOURCE_COLOURS["predicted"], float)
    assert (np.abs(at - skeleton).max(axis=1) > 30).all()  # no skeleton drawn over the mesh
    # shades of the lighter source colour, blended over the grey
    shade = (at - 0.15 * GREY) / (0.85 * np.array(mesh_colour("predicted"), float))
    assert np.ptp(shade, axis=1).max() < 0.05 and (shade[:, 0] > 0.35).all()
    covered = np.any(drawn[LABEL_ROWS:] != GREY, axis=2)
    assert covered.sum() > 0.6 * np.pi * 15 * 125  # the body's ellipse, filled


@pytest.mark.parametrize(
    "why",
    ["no mesh (lite)", "skeleton asked", "no faces", "mesh off-frame"],
)
def test_otherwise_the_skeleton_is_drawn_at_the_keypoints(why):
    pose, renderer, style = _pose(), RENDERER, "mesh"
    if why == "no mesh (lite)":
        pose = _pose(mesh=False)
    elif why == "skeleton asked":
        style = "skeleton"
    elif why == "no faces":
        renderer = None
    else:  # the mesh projects off the frame; the keypoints (as given) stay in it
        pose.camera_translation = pose.camera_translation + np.float32([40.0, 0.0, 0.0])
    drawn = draw_answer(_frame(), pose, "detected", 0.9, renderer, style)
    np.testing.assert_array_equal(
        _at_keypoints(drawn, pose), np.tile(SOURCE_COLOURS["detected"], (24, 1))
    )
    covered = np.any(drawn[LABEL_ROWS:] != GREY, axis=2)
    assert covered.sum() < 0.3 * np.pi * 15 * 125  # lines and dots, not a filled body


def test_a_frame_without_a_pose_gets_its_label_only():
    drawn = draw_answer(_frame(), None, "none", 0.0, RENDERER, "mesh")
    assert (drawn[LABEL_ROWS:] == GREY).all()
    assert np.any(drawn[:LABEL_ROWS] != GREY)


def test_draw_tracked_keeps_the_channel_order_it_was_given():
    tracked = TrackedPose(_pose(mesh=False), "detected", 0.9, 1, 0)
    bgr = draw_tracked(_frame(), tracked, RENDERER)
    rgb = draw_tracked(_frame(), tracked, RENDERER, rgb=True)
    np.testing.assert_array_equal(rgb, bgr[..., ::-1])
    rescued = TrackedPose(_pose(mesh=False), "detected", 0.9, 1, 0, flags=["rescued"])
    drawn = draw_tracked(_frame(), rescued, None)
    assert tuple(_at_keypoints(drawn, rescued.pose)[0]) == SOURCE_COLOURS["rescued"]
