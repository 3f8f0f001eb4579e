"""What fast JPEG decoding changes in a model's answer, next to what a JPEG quality change does.

``POSE_SERVICE_FAST_JPEG_DECODE`` trades exact pixels for ~3 ms per 1080p frame. This runs the
``lite`` estimator (MediaPipe Pose) on the real clip three ways: the frame sent as JPEG quality
90 and decoded exactly (the reference), the same bytes decoded fast, and the frame sent at
quality 95 and decoded exactly (a change any client could make). It reports how far the second
and third move the keypoints from the first. Accuracy, not time: it can run on a busy machine.

    .venv/bin/python -m benchmarks.decode_accuracy [--frames 180] [--width 1920] [--json]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.common import RUNNER_CLIP, emit, parser

REFERENCE_QUALITY = 90
OTHER_QUALITY = 95


def _clip_frames(frames: int, width: int) -> list[np.ndarray]:
    import cv2

    capture = cv2.VideoCapture(str(RUNNER_CLIP))
    out = []
    while len(out) < frames:
        ok, bgr = capture.read()
        if not ok:
            break
        if bgr.shape[1] != width:
            bgr = cv2.resize(bgr, (width, round(bgr.shape[0] * width / bgr.shape[1])))
        out.append(np.ascontiguousarray(bgr[:, :, ::-1]))
    capture.release()
    return out


def measure(frames: int, width: int) -> dict[str, Any]:
    import simplejpeg

    from pose_service.config import Settings
    from pose_service.estimators.lite import MediaPipeEstimator
    from pose_service.imaging import decode_image
    from pose_service.types import Frame

    ways = ("exact", "fast", f"quality_{OTHER_QUALITY}")
    estimators = {way: MediaPipeEstimator(Settings()) for way in ways}
    for estimator in estimators.values():
        estimator.load()
    moved: dict[str, list[tuple[float, float]]] = {way: [] for way in ways[1:]}
    grey: dict[str, list[float]] = {way: [] for way in ways[1:]}
    rgbs = _clip_frames(frames, width)
    for n, rgb in enumerate(rgbs):
        reference = simplejpeg.encode_jpeg(rgb, quality=REFERENCE_QUALITY, colorspace="RGB")
        other = simplejpeg.encode_jpeg(rgb, quality=OTHER_QUALITY, colorspace="RGB")
        pixels = {
            "exact": decode_image(reference, 10**9),
            "fast": decode_image(reference, 10**9, fast_jpeg=True),
            ways[2]: decode_image(other, 10**9),
        }
        found = {way: estimators[way].estimate(Frame(pixels[way], n)).people for way in ways}
        for way in ways[1:]:
            grey[way].append(float(np.abs(pixels[way].astype(int) - pixels["exact"]).mean()))
            if found[way] and found["exact"]:
                a, b = found["exact"][0], found[way][0]
                px = float(np.linalg.norm(a.keypoints_2d - b.keypoints_2d, axis=1).mean())
                mm = float(np.abs(a.joints_3d - b.joints_3d).mean() * 1000.0)
                moved[way].append((px, mm))
    result: dict[str, Any] = {"frames": len(rgbs), "frame_size": f"{width}x{rgbs[0].shape[0]}"}
    for way in ways[1:]:
        shifts = np.array(moved[way]).reshape(-1, 2)
        result[way] = {
            "pixel_difference_mean": round(float(np.mean(grey[way])), 3),
            "keypoints_px": {
                "mean": round(float(shifts[:, 0].mean()), 3) if len(shifts) else None,
                "p95": round(float(np.percentile(shifts[:, 0], 95)), 3) if len(shifts) else None,
            },
            "joints_3d_mm_mean": round(float(shifts[:, 1].mean()), 3) if len(shifts) else None,
            "frames_compared": len(shifts),
        }
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=180)
    p.add_argument("--width", type=int, default=1920)
    args = p.parse_args(argv)
    figures = measure(args.frames, args.width)
    result = {"benchmark": "decode_accuracy", "clip": RUNNER_CLIP.name, **figures}
    header = ["vs exact q90", "grey levels", "keypoints px mean", "px p95", "3D mm mean", "frames"]
    rows = [
        [way, f["pixel_difference_mean"], f["keypoints_px"]["mean"], f["keypoints_px"]["p95"],
         f["joints_3d_mm_mean"], f["frames_compared"]]
        for way, f in figures.items()
        if isinstance(f, dict)
    ]  # fmt: skip
    emit(result, rows, header, args.json)
    return result


if __name__ == "__main__":
    main()
