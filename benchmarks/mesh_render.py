"""What drawing a frame costs on the CPU: the SMPL-sized mesh (``mesh_render``: project, cull,
sort, shade, fill, blend) and, for comparison, the skeleton, each through ``drawing.draw_answer``
(the frame copied, the pose drawn, the label) on a real frame of the runner clip.

Wall time, and the drawing thread's CPU time (``time.thread_time``: what it costs on a shared
machine, where the wall time also counts the other processes' turns).

The body is ``common.closed_body_mesh``: SMPL's counts (6890 vertices, 13 776 faces) on a
closed, person-sized surface, standing mid-frame and ``--height-share`` of the frame tall.

    .venv/bin/python -m benchmarks.mesh_render [--frames 60] [--sizes 720p,360p]
        [--height-share 0.6] [--json]
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from benchmarks.common import clip_frame, closed_body_mesh, emit, parser, percentiles

SIZES = {"1080p": (1920, 1080), "720p": (1280, 720), "360p": (640, 360)}
BODY_HEIGHT_M = 1.7


def _pose(width: int, height: int, height_share: float) -> Any:
    from pose_service.camera import project, scaled_focal_length
    from pose_service.types import PersonPose

    vertices, _ = closed_body_mesh()
    focal = scaled_focal_length(width, height)
    t = np.array([0.0, 0.0, focal * BODY_HEIGHT_M / (height_share * height)], np.float32)
    joints = np.stack([np.zeros(24), np.linspace(-0.7, 0.7, 24), np.zeros(24)], 1)
    joints = joints.astype(np.float32)
    keypoints = project(joints, t, focal, width, height).astype(np.float32)
    return PersonPose(
        joints_3d=joints,
        keypoints_2d=keypoints,
        joint_confidence=np.full(24, 0.9, np.float32),
        score=0.9,
        bbox=np.array([*keypoints.min(axis=0), *keypoints.max(axis=0)], np.float32),
        camera_translation=t,
        focal_length=focal,
        vertices=vertices,
    )


def measure(size: str, frames: int, height_share: float) -> dict[str, Any]:
    from pose_service.drawing import draw_answer
    from pose_service.mesh_render import MeshRenderer

    width, height = SIZES[size]
    bgr = np.ascontiguousarray(clip_frame(width, height)[..., ::-1])
    pose = _pose(width, height, height_share)
    start = time.perf_counter()
    renderer = MeshRenderer(closed_body_mesh()[1])
    setup_ms = (time.perf_counter() - start) * 1e3
    figures: dict[str, Any] = {"renderer_setup_ms": round(setup_ms, 2)}
    for style in ("mesh", "skeleton"):
        draw_answer(bgr, pose, "detected", 0.9, renderer, style)  # warm up
        wall, cpu = [], []
        for _ in range(frames):
            start, start_cpu = time.perf_counter(), time.thread_time()
            draw_answer(bgr, pose, "detected", 0.9, renderer, style)
            cpu.append((time.thread_time() - start_cpu) * 1e3)
            wall.append((time.perf_counter() - start) * 1e3)
        figures[f"{style}_ms"] = percentiles(wall)
        figures[f"{style}_cpu_ms"] = percentiles(cpu)
    return figures


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=60)
    p.add_argument("--sizes", default="720p,360p", help=f"comma list of {', '.join(SIZES)}")
    p.add_argument("--height-share", type=float, default=0.6, help="body height / frame height")
    args = p.parse_args(argv)
    cases = {size: measure(size, args.frames, args.height_share) for size in args.sizes.split(",")}
    result = {"benchmark": "mesh_render", "frames": args.frames,
              "height_share": args.height_share, "cases": cases}  # fmt: skip
    rows = [
        [size, c["mesh_ms"]["p50"], c["mesh_ms"]["p95"], c["mesh_cpu_ms"]["p50"],
         c["mesh_cpu_ms"]["p95"], c["skeleton_ms"]["p50"], c["renderer_setup_ms"]]
        for size, c in cases.items()
    ]  # fmt: skip
    header = ["size", "mesh p50 ms", "mesh p95 ms", "mesh CPU p50 ms", "mesh CPU p95 ms",
              "skeleton p50 ms", "setup ms"]  # fmt: skip
    emit(result, rows, header, args.json)
    return result


if __name__ == "__main__":
    main()
