"""What every benchmark shares: statistics, the table/JSON output, frames and a stand-in person.

Each benchmark prints a table for people and, with ``--json``, one JSON object with the same
figures (names in benchmarks/README.md), so CI and notes can quote numbers exactly.
"""

from __future__ import annotations

import argparse
import io
import socket
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
RUNNER_CLIP = REPO / "data" / "runner-180f.mp4"
MESH_VERTICES, MESH_FACES = 6890, 13776  # SMPL


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    """p50/p95/mean of a list of milliseconds, rounded for reading."""
    if not samples:
        return {"p50": 0.0, "p95": 0.0, "mean": 0.0}
    values = np.asarray(samples, dtype=np.float64)
    return {
        "p50": round(float(np.percentile(values, 50)), 3),
        "p95": round(float(np.percentile(values, 95)), 3),
        "mean": round(float(values.mean()), 3),
    }


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the shared ``--json`` flag."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    return p


def emit(
    result: dict[str, Any], rows: Iterable[Sequence[Any]], header: Sequence[str], as_json: bool
) -> None:
    """Print the JSON object or the table (same figures either way)."""
    if as_json:
        sys.stdout.write(orjson.dumps(result, option=orjson.OPT_SERIALIZE_NUMPY).decode() + "\n")
        return
    table = [list(map(str, header))] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for n, row in enumerate(table):
        print(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))


def _cell(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def clip_frame(width: int, height: int, index: int = 60) -> np.ndarray:
    """A real picture (the runner clip) at the asked size, RGB; gradients if OpenCV is absent."""
    try:
        import cv2
    except ImportError:  # pragma: no cover - lite extra not installed
        cv2 = None
    if cv2 is not None and RUNNER_CLIP.is_file():
        capture = cv2.VideoCapture(str(RUNNER_CLIP))
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, bgr = capture.read()
        capture.release()
        if ok:
            return cv2.cvtColor(cv2.resize(bgr, (width, height)), cv2.COLOR_BGR2RGB)
    y, x = np.mgrid[0:height, 0:width]
    noise = np.random.default_rng(index).integers(0, 30, (height, width, 3))
    return (np.stack([x % 256, y % 256, (x + y) % 256], axis=2) + noise).astype(np.uint8)


def encode(rgb: np.ndarray, fmt: str) -> bytes:
    """JPEG (quality 90) or PNG bytes, as a client would send them."""
    buffer = io.BytesIO()
    options = {"quality": 90} if fmt == "JPEG" else {"compress_level": 6}
    Image.fromarray(rgb).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def mesh_faces(seed: int = 0) -> np.ndarray:
    """SMPL-sized triangle indices (values are random: only size and dtype matter here)."""
    return np.random.default_rng(seed).integers(0, MESH_VERTICES, (MESH_FACES, 3)).astype(np.int32)


BODY_RINGS, BODY_SEGMENTS = 82, 84  # 82 x 84 + 2 poles = 6890 vertices, 2 x 84 x 82 = 13776 faces
BODY_SIZE_M = (0.22, 0.85, 0.14)  # half width, half height, half depth: a person-sized body


def closed_body_mesh() -> tuple[np.ndarray, np.ndarray]:
    """A closed mesh with SMPL's counts (a sphere's topology: 6890 vertices, 13 776 faces,
    wound counter-clockwise seen from outside), shaped as a 1.7 m standing ellipsoid in the
    camera-aligned body frame (y down): what the mesh renderer costs on a person-sized
    surface. Returns (vertices (6890, 3) float32, faces (13776, 3) int32)."""
    theta = np.linspace(0.0, np.pi, BODY_RINGS + 2)[1:-1]  # rings between the poles
    phi = np.linspace(0.0, 2 * np.pi, BODY_SEGMENTS, endpoint=False)
    ring = np.stack(
        [np.sin(theta)[:, None] * np.cos(phi), np.cos(theta)[:, None] + 0 * phi,
         np.sin(theta)[:, None] * np.sin(phi)], axis=-1,
    ).reshape(-1, 3)  # fmt: skip
    unit = np.concatenate([[[0.0, 1.0, 0.0]], ring, [[0.0, -1.0, 0.0]]])
    top, bottom = 0, len(unit) - 1
    faces = []
    for s in range(BODY_SEGMENTS):
        n = (s + 1) % BODY_SEGMENTS
        faces.append((top, 1 + n, 1 + s))
        for r in range(BODY_RINGS - 1):
            a, b = 1 + r * BODY_SEGMENTS + s, 1 + r * BODY_SEGMENTS + n
            c, d = a + BODY_SEGMENTS, b + BODY_SEGMENTS
            faces += [(a, b, d), (a, d, c)]
        last = 1 + (BODY_RINGS - 1) * BODY_SEGMENTS
        faces.append((bottom, last + s, last + n))
    vertices = (unit * np.array(BODY_SIZE_M)).astype(np.float32)
    return vertices, np.asarray(faces, dtype=np.int32)


def _rest_skeleton() -> np.ndarray:
    rng = np.random.default_rng(7)
    return (rng.normal(0, 0.25, (24, 3)) * np.array([1.0, 2.0, 0.3])).astype(np.float32)


_REST = _rest_skeleton()
_OWNER = np.random.default_rng(8).integers(0, 24, MESH_VERTICES)
_OFFSETS = np.random.default_rng(9).normal(0, 0.03, (MESH_VERTICES, 3)).astype(np.float32)


def walking_person(frame_number: int, width: int, height: int, mesh: bool) -> Any:
    """A person crossing the picture smoothly, as an estimator would return it (fresh arrays;
    with ``mesh``, hmr2's fields: vertices and the 24 joint rotations)."""
    from scipy.spatial.transform import Rotation

    from pose_service.types import PersonPose

    t = frame_number / 30.0
    joints = _REST + np.float32(0.05 * np.sin(2 * np.pi * 1.2 * t))
    centre = np.array([width * (0.3 + 0.01 * (frame_number % 40)), height * 0.5], np.float32)
    keypoints = centre + joints[:, :2] * (height / 4)
    return PersonPose(
        joints_3d=joints.astype(np.float32),
        keypoints_2d=keypoints.astype(np.float32),
        joint_confidence=np.full(24, 0.9, np.float32),
        score=0.95,
        bbox=np.array([*keypoints.min(axis=0), *keypoints.max(axis=0)], np.float32),
        camera_translation=np.array([0.1 * t, 0.1, 8.0], np.float32),
        focal_length=5000.0 / 256 * max(width, height),
        vertices=(joints[_OWNER] + _OFFSETS) if mesh else None,
        rotations=(
            Rotation.from_rotvec(np.tile([0.0, 0.3 * np.sin(2 * np.pi * t), 0.0], (24, 1)))
            .as_matrix()
            .astype(np.float32)
            if mesh
            else None
        ),
    )


def detected(frame_number: int, miss_share: float = 0.33) -> bool:
    """A fixed, spread-out miss pattern (about ``miss_share`` of frames missed)."""
    return (frame_number * 0.618034) % 1.0 >= miss_share


def write_recording(path: Path, frames: int = 60) -> None:
    """A replay ``.npz`` with a full SMPL-sized mesh (the heaviest answer)."""
    people = [walking_person(n, 640, 360, mesh=True) for n in range(frames)]
    np.savez(
        path,
        joints_3d=np.stack([p.joints_3d for p in people]),
        keypoints_2d=np.stack([p.keypoints_2d for p in people]),
        camera_translation=np.stack([p.camera_translation for p in people]),
        vertices=np.stack([p.vertices for p in people]).reshape(frames, MESH_VERTICES, 3),
        faces=mesh_faces(),
        detected=np.ones(frames, bool),
        model_version=np.array("bench-replay"),
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def replay_service(env: Mapping[str, str] | None = None) -> Iterator[tuple[str, Any]]:
    """A local ``pose-service serve`` (replay estimator, the recording above, state in a
    temporary folder: never the user's saved sessions), ready; its URL and process. Stopped
    on exit."""
    from pose_service.devtools.local_service import start_service, stop_service, wait_until_ready

    with tempfile.TemporaryDirectory() as tmp:
        recording = Path(tmp) / "bench.npz"
        write_recording(recording)
        port = free_port()
        service_env = {
            "POSE_SERVICE_ESTIMATOR": "replay",
            "POSE_SERVICE_REPLAY_PATH": str(recording),
            "POSE_SERVICE_STATE_DIR": str(Path(tmp) / "state"),
            **(env or {}),
        }
        process = start_service("127.0.0.1", port, service_env, str(Path(tmp) / "service.log"))
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_ready(url, 60, process)
            yield url, process
        finally:
            stop_service(process)
