"""The pose's SMPL mesh drawn over its frame on the CPU: no GPU, no GL, so every host has it.

The vertices are projected with the answer's own camera (``camera.project``: the translation and
focal length the keypoints were projected with, so the mesh lands on them), the faces are shaded
by Lambert's law under one light from the camera's side and filled with OpenCV from the farthest
to the nearest (painter's order), then blended over the frame. On a closed mesh (SMPL's is) the
faces turned away from the camera are dropped first: hidden anyway, and half the work. One
``fillConvexPoly`` per face, on the mesh's bounding box only: 10-17 ms of CPU a frame for SMPL's
13 776 faces from 640x360 to 1920x1080 (``python -m benchmarks.mesh_render``), far under the
model's time.

Painter's order by face centroid is exact for a convex body and close for a person; where two
faces cross, the one whose centre is nearer wins the whole face (no z-buffer).
"""

from __future__ import annotations

import numpy as np

from .camera import project

SUBPIXEL_BITS = 4  # OpenCV's ``shift``: vertices placed to 1/16 pixel
AMBIENT = 0.35  # share of the colour a face turned away from the light keeps
LIGHT_TOWARDS = np.array([0.25, -0.45, -1.0]) / np.linalg.norm([0.25, -0.45, -1.0])  # camera frame
OPACITY = 0.85  # the mesh's weight where it covers the frame
MIN_DEPTH_M = 1e-3  # a vertex nearer than this (or behind the camera) cannot be drawn
# Projected coordinates are clipped to this many pixels from the origin, so OpenCV's fixed-point
# coordinates (x 16) stay far inside int32 even for a vertex a millimetre from the camera.
PIXEL_LIMIT = float(1 << 20)


class MeshRenderer:
    """Draws one mesh topology (``faces``, (F, 3) vertex indices) posed by each frame's
    vertices. Built once per faces array: whether the mesh is closed is worked out here."""

    def __init__(self, faces: np.ndarray) -> None:
        self.faces = np.ascontiguousarray(np.asarray(faces).reshape(-1, 3), dtype=np.int64)
        self.closed = is_closed(self.faces)
        self.vertices_needed = int(self.faces.max()) + 1 if len(self.faces) else 0

    def draw(
        self,
        bgr: np.ndarray,
        vertices: np.ndarray,
        translation: np.ndarray,
        focal: float,
        colour: tuple[int, int, int],
    ) -> bool:
        """Fill the mesh into ``bgr`` (in place) in shades of ``colour`` (BGR); False when
        there is nothing to draw (vertices that do not fit the faces, a mesh behind the camera
        or outside the frame), the frame then untouched."""
        import cv2

        height, width = bgr.shape[:2]
        vertices = np.asarray(vertices, dtype=np.float64)
        if vertices.ndim != 2 or vertices.shape[1] != 3 or len(self.faces) == 0:
            return False
        if len(vertices) < self.vertices_needed or not np.all(np.isfinite(vertices)):
            return False
        t = np.asarray(translation, dtype=np.float64)
        camera = vertices + t
        if camera[:, 2].min() < MIN_DEPTH_M:
            return False
        pixels = np.clip(
            project(vertices, t, float(focal), width, height), -PIXEL_LIMIT, PIXEL_LIMIT
        )
        order, shades = self._visible_far_to_near(camera)
        if len(order) == 0:
            return False
        corners = pixels[self.faces[order]]  # (n, 3, 2)
        x0, y0 = np.floor(corners.reshape(-1, 2).min(axis=0)).astype(int)
        x1, y1 = np.ceil(corners.reshape(-1, 2).max(axis=0)).astype(int) + 1
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if x0 >= x1 or y0 >= y1:
            return False
        scale = 1 << SUBPIXEL_BITS
        points = np.round((corners - (x0, y0)) * scale).astype(np.int32)
        # Never black: an untouched canvas pixel (0) is "no mesh here".
        colours = np.maximum(np.outer(shades, colour).round(), 1).astype(int).tolist()
        canvas = np.zeros((y1 - y0, x1 - x0, 3), np.uint8)
        fill = cv2.fillConvexPoly  # one call a face: the loop is most of the time
        for triangle, face_colour in zip(list(points), colours, strict=True):
            fill(canvas, triangle, face_colour, cv2.LINE_8, SUBPIXEL_BITS)
        covered = canvas.any(axis=2)
        region = bgr[y0:y1, x0:x1]
        blended = cv2.addWeighted(canvas, OPACITY, region, 1.0 - OPACITY, 0.0)
        region[covered] = blended[covered]
        return True

    def _visible_far_to_near(self, camera: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the faces to fill, farthest first, and each one's Lambert shade (0..1)."""
        a, b, c = (camera[self.faces[:, k]] for k in range(3))
        normals = _cross(b - a, c - a)
        normals /= np.maximum(np.sqrt(np.einsum("ij,ij->i", normals, normals)), 1e-12)[:, None]
        centres = a + b + c  # three times the centre: only signs and order are used
        lit = normals @ LIGHT_TOWARDS
        if self.closed:
            outward = 1.0 if signed_volume(a, b, c) >= 0 else -1.0
            facing = np.einsum("ij,ij->i", normals, centres) * -outward  # > 0: towards us
            keep = np.flatnonzero(facing > 0)
            lit = outward * lit
        else:  # an open surface has no inside: both sides are lit alike
            keep = np.arange(len(self.faces))
            lit = np.abs(lit)
        order = keep[np.argsort(-centres[keep, 2], kind="stable")]
        shades = AMBIENT + (1.0 - AMBIENT) * np.clip(lit[order], 0.0, 1.0)
        return order, shades


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Row-wise cross products of (n, 3) arrays (``np.cross`` is several times slower)."""
    return np.stack(
        [u[:, 1] * v[:, 2] - u[:, 2] * v[:, 1],
         u[:, 2] * v[:, 0] - u[:, 0] * v[:, 2],
         u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]], axis=1,
    )  # fmt: skip


def is_closed(faces: np.ndarray) -> bool:
    """Whether every edge of the triangles joins exactly two of them (a surface without a
    border, such as SMPL's body): only then has each face an outside to see."""
    if len(faces) == 0:
        return False
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    keys = edges[:, 0] * (int(faces.max()) + 1) + edges[:, 1]  # one number per edge
    _, counts = np.unique(keys, return_counts=True)
    return bool(np.all(counts == 2))


def signed_volume(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    """Six times the volume a closed mesh encloses: positive when its faces wind
    counter-clockwise seen from outside (their cross products point out)."""
    return float(np.einsum("ij,ij->i", a, _cross(b, c)).sum())
