"""The CPU mesh renderer (``mesh_render``): where the mesh lands, what hides what, what is lit.

Pixels are asserted on a uniform grey frame: a pixel the mesh covers differs from the grey, one
it does not is the grey exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.common import closed_body_mesh
from pose_service.camera import project, scaled_focal_length
from pose_service.mesh_render import MeshRenderer, is_closed

pytest.importorskip("cv2")

W, H = 640, 360
GREY = 90
FOCAL = scaled_focal_length(W, H)
COLOUR = (60, 200, 80)
# Outward-wound (counter-clockwise seen from outside) unit cube, corners 0..7 = (x, y, z) bits.
CUBE_FACES = np.array(
    [
        (0, 2, 3), (0, 3, 1),  # x = 0
        (4, 5, 7), (4, 7, 6),  # x = 1
        (0, 1, 5), (0, 5, 4),  # y = 0
        (2, 6, 7), (2, 7, 3),  # y = 1
        (0, 4, 6), (0, 6, 2),  # z = 0
        (1, 3, 7), (1, 7, 5),  # z = 1
    ],
    dtype=np.int32,
)  # fmt: skip
CUBE_CORNERS = np.array([(x, y, z) for x in (0, 1) for y in (0, 1) for z in (0, 1)], float)


def _frame() -> np.ndarray:
    return np.full((H, W, 3), GREY, np.uint8)


def _cube(centre: tuple[float, float, float], size: float, turn_y_deg: float = 0.0) -> np.ndarray:
    angle = np.radians(turn_y_deg)
    c, s = np.cos(angle), np.sin(angle)
    rotation = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return ((CUBE_CORNERS - 0.5) * size) @ rotation.T + np.array(centre)


def _body_at(depth_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    vertices, faces = closed_body_mesh()
    return vertices, faces, np.array([0.0, 0.0, depth_m], np.float32)


def _covered(image: np.ndarray) -> np.ndarray:
    return np.any(image != GREY, axis=2)


def test_the_body_lands_where_the_camera_projects_it_and_nowhere_else():
    vertices, faces, t = _body_at(FOCAL * 1.7 / 250)  # 1.7 m tall -> 250 px
    image = _frame()
    assert MeshRenderer(faces).draw(image, vertices, t, FOCAL, COLOUR)
    pixels = project(vertices, t, FOCAL, W, H)
    ys, xs = np.nonzero(_covered(image))
    assert abs(xs.min() - pixels[:, 0].min()) <= 1.5 and abs(xs.max() - pixels[:, 0].max()) <= 1.5
    assert abs(ys.min() - pixels[:, 1].min()) <= 1.5 and abs(ys.max() - pixels[:, 1].max()) <= 1.5
    assert ys.max() - ys.min() == pytest.approx(250, abs=3)
    # filled, not outlined: every pixel inside the ellipse's outline is covered
    inside = ((np.arange(W)[None] - W / 2) / 15) ** 2 + ((np.arange(H)[:, None] - H / 2) / 120) ** 2
    assert _covered(image)[inside < 1].all()


def test_the_nearer_surface_hides_the_farther_whatever_the_faces_order():
    """A cube facing the camera (brightly lit) in front of a larger cube turned 50 degrees
    (its front faces dimmer): where they overlap, the near cube's shade."""
    near = _cube((0.0, 0.0, 4.0), 0.4)
    far = _cube((0.1, 0.0, 6.0), 1.2, turn_y_deg=50)
    vertices = np.concatenate([near, far])
    t = np.zeros(3)
    for faces in (np.concatenate([CUBE_FACES, CUBE_FACES + 8]),  # near listed first
                  np.concatenate([CUBE_FACES + 8, CUBE_FACES])):  # fmt: skip
        image = _frame()
        assert MeshRenderer(faces).draw(image, vertices, t, FOCAL / 10, COLOUR)
        alone_near, alone_far = _frame(), _frame()
        MeshRenderer(CUBE_FACES).draw(alone_near, near, t, FOCAL / 10, COLOUR)
        MeshRenderer(CUBE_FACES).draw(alone_far, far, t, FOCAL / 10, COLOUR)
        both = _covered(alone_near) & _covered(alone_far)
        assert both.sum() > 500  # they do overlap
        assert not np.array_equal(alone_near[both], alone_far[both])  # and look different there
        np.testing.assert_array_equal(image[both], alone_near[both])
        only_far = _covered(alone_far) & ~_covered(alone_near)
        np.testing.assert_array_equal(image[only_far], alone_far[only_far])


def test_faces_turned_away_are_not_drawn_and_the_winding_convention_does_not_matter():
    """A closed mesh shows its outside: the body drawn with every face's winding reversed (the
    other convention) gives the same picture, and its centre has the front's bright shade."""
    vertices, faces, t = _body_at(FOCAL * 1.7 / 250)
    as_given, reversed_winding = _frame(), _frame()
    MeshRenderer(faces).draw(as_given, vertices, t, FOCAL, COLOUR)
    MeshRenderer(faces[:, ::-1]).draw(reversed_winding, vertices, t, FOCAL, COLOUR)
    np.testing.assert_array_equal(as_given, reversed_winding)
    centre = as_given[H // 2, W // 2].astype(float)
    expected_front = 0.85 * np.array(COLOUR) + 0.15 * GREY  # lit nearly head-on
    assert np.abs(centre - expected_front).max() < 0.25 * max(COLOUR)


def test_closed_is_told_from_open():
    assert is_closed(closed_body_mesh()[1]) and is_closed(CUBE_FACES)
    assert not is_closed(CUBE_FACES[:-2])  # a cube without its back: open
    assert not is_closed(np.zeros((0, 3), np.int32))


@pytest.mark.parametrize(
    "case",
    ["behind the camera", "outside the frame", "fewer vertices than the faces use", "not finite"],
)
def test_nothing_to_draw_leaves_the_frame_untouched(case):
    vertices, faces, t = _body_at(FOCAL * 1.7 / 250)
    if case == "behind the camera":
        t = np.array([0.0, 0.0, -5.0])
    elif case == "outside the frame":
        t = t + np.array([t[2], 0.0, 0.0])  # 45 degrees to the right
    elif case == "fewer vertices than the faces use":
        vertices = vertices[:100]
    else:
        vertices = vertices.copy()
        vertices[5] = np.nan
    image = _frame()
    assert not MeshRenderer(faces).draw(image, vertices, t, FOCAL, COLOUR)
    assert not _covered(image).any()


def test_a_mesh_reaching_the_camera_is_still_drawn():
    """The body's front 1.5 mm from the lens: its faces project millions of pixels out (their
    coordinates are clipped for OpenCV) and the frame is covered, the camera being inside the
    body's outline."""
    vertices, faces, _ = _body_at(0.0)
    t = np.array([0.0, 0.0, 0.14 + 0.0015])
    image = _frame()
    assert MeshRenderer(faces).draw(image, vertices, t, FOCAL, COLOUR)
    assert _covered(image).mean() > 0.9
