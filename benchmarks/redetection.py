"""Track-guided re-detection on hard footage made from the real runner clip (lite estimator).

The runner clip is easy (MediaPipe finds the runner in every frame), so each case of
``pose_service.devtools.evaluation.degrade.CASES`` makes it hard, deterministically (a smaller
subject, motion blur, low light, a sweeping occluder). A synthetic degradation is a development
aid, not proof: the figures say what the code does on these frames, not on real hard sports
footage.

Per case, side by side on the same frames:
- ``mediapipe_image``: MediaPipe per image (``static_image_mode=True``, what lite runs);
- ``mediapipe_video``: MediaPipe's own video mode (``static_image_mode=False``), which looks
  again where it last saw the person: the target to reach;
- ``service``: the service's pipeline with rescue off and on (``POSE_SERVICE_RESCUE``), frames
  streamed in order: detected, rescued, predicted, without a pose; the keypoint error of rescued
  frames against lite on the undegraded frame (mapped into the degraded picture), wrong-person
  rescues (median keypoint error above a quarter of the reference box's diagonal) and the time
  per frame (rescued frames against lite's whole-frame look).

For every method, ``wrong_poses`` counts the frames it answered from a detection whose median
keypoint error is above a tenth of the reference box's diagonal: on these frames that is a pose
with its keypoints collapsed into the part of the body the model saw, not the runner's.

    .venv/bin/python -m benchmarks.redetection [--frames 180] [--cases small,small_blur] [--json]
"""

from __future__ import annotations

import time
from itertools import islice
from typing import Any

import numpy as np

from benchmarks.common import RUNNER_CLIP, emit, parser, percentiles

WIDTH = 640  # the backend's frame width
WRONG_PERSON_SHARE = 0.25  # of the reference box diagonal: a rescue this far off is someone else
WRONG_POSE_SHARE = 0.1  # of the reference box diagonal: a pose this far off is not the runner's


def _mediapipe_keypoints(frames: list[np.ndarray], video_mode: bool) -> list[Any]:
    """MediaPipe's own keypoints per frame, in the service's 24 joints (None: nobody found)."""
    import mediapipe as mp

    from pose_service.estimators.mediapipe_to_smpl import to_smpl

    found = []
    with mp.solutions.pose.Pose(static_image_mode=not video_mode, model_complexity=1,
                                min_detection_confidence=0.5) as pose:  # fmt: skip
        for rgb in frames:
            height, width = rgb.shape[:2]
            landmarks = pose.process(rgb).pose_landmarks
            if landmarks is None:
                found.append(None)
                continue
            points = [(p.x * width, p.y * height) for p in landmarks.landmark]
            found.append(to_smpl(np.array(points, dtype=np.float32)))
    return found


def _stream(frames: list[np.ndarray], rescue: bool, scale: float) -> list[tuple[Any, float]]:
    """Each frame's answer and wall time through the pipeline (lite, one video)."""
    from pose_service.config import Settings
    from pose_service.pipeline import PosePipeline
    from pose_service.types import Frame

    settings = Settings(session_persist=False, rescue=rescue, rescue_region_scale=scale)
    pipeline = PosePipeline(settings)
    pipeline.load()
    out = []
    for n, rgb in enumerate(frames):
        start = time.perf_counter()
        outcome = pipeline.process(Frame(rgb, n), video_id="clip")
        out.append((outcome.tracked, (time.perf_counter() - start) * 1e3))
    return out


def _reference(frames: list[np.ndarray]) -> list[Any]:
    """Lite on the undegraded frames: the person per frame (None where even it missed)."""
    from pose_service.config import Settings
    from pose_service.estimators.lite import MediaPipeEstimator
    from pose_service.types import Frame

    lite = MediaPipeEstimator(Settings())
    lite.load()
    return [(lite.estimate(Frame(rgb, n)).people or [None])[0] for n, rgb in enumerate(frames)]


def _keypoint_error(
    keypoints: np.ndarray, reference: Any, case: Any, width: int, height: int
) -> float:
    """Median keypoint distance (pixels) to the reference mapped into the degraded frame."""
    expected = case.map_points(reference.keypoints_2d, width, height)
    return float(np.median(np.linalg.norm(keypoints - expected, axis=1)))


def _wrong_poses(
    keypoints: list[Any], references: list[Any], case: Any, width: int, height: int
) -> int:
    """Frames whose keypoints lie further than ``WRONG_POSE_SHARE`` from the reference's."""
    return sum(
        _keypoint_error(k, r, case, width, height) > WRONG_POSE_SHARE * _reference_diagonal(r, case)
        for k, r in zip(keypoints, references, strict=True)
        if k is not None and r is not None
    )


def _reference_diagonal(reference: Any, case: Any) -> float:
    x0, y0, x1, y1 = reference.bbox
    return float(np.hypot(x1 - x0, y1 - y0) * case.scale)


def measure_case(
    name: str, originals: list[np.ndarray], references: list[Any], scale: float
) -> dict:
    from pose_service.devtools.evaluation.degrade import CASES

    case = CASES[name]
    frames = [case(rgb, n) for n, rgb in enumerate(originals)]
    height, width = frames[0].shape[:2]
    result: dict[str, Any] = {"frames": len(frames)}
    for label, video_mode in (("mediapipe_image", False), ("mediapipe_video", True)):
        found = _mediapipe_keypoints(frames, video_mode)
        result[label] = sum(k is not None for k in found)
        result[f"{label}_wrong_poses"] = _wrong_poses(found, references, case, width, height)
    for label, rescue in (("rescue_off", False), ("rescue_on", True)):
        answers = _stream(frames, rescue, scale)
        counts = {"detected": 0, "rescued": 0, "predicted": 0, "none": 0}
        errors, wrong, rescued_ms, detected_ms = [], 0, [], []
        answered = [
            t.pose.keypoints_2d if t.pose is not None and t.source == "detected" else None
            for t, _ in answers
        ]
        for n, (tracked, ms) in enumerate(answers):
            if tracked.pose is None:
                counts["none"] += 1
            elif tracked.source != "detected":
                counts["predicted"] += 1
            elif "rescued" in tracked.flags:
                counts["rescued"] += 1
                rescued_ms.append(ms)
                if references[n] is not None:
                    error = _keypoint_error(
                        tracked.pose.keypoints_2d, references[n], case, width, height
                    )
                    errors.append(error)
                    wrong += error > WRONG_PERSON_SHARE * _reference_diagonal(references[n], case)
            else:
                counts["detected"] += 1
                detected_ms.append(ms)
        result[label] = {
            **counts,
            "wrong_poses": _wrong_poses(answered, references, case, width, height),
            "wrong_person_rescues": wrong,
            "rescued_keypoint_error_px": percentiles(errors) if errors else None,
            "ms_per_frame": round(float(np.mean([ms for _, ms in answers])), 1),
            "rescued_frame_ms": percentiles(rescued_ms) if rescued_ms else None,
            "detected_frame_ms": percentiles(detected_ms) if detected_ms else None,
        }
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from pose_service.devtools.evaluation.degrade import CASES
    from pose_service.video_frames import read_frames

    p = parser(__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=180)
    p.add_argument("--cases", default=",".join(CASES))
    p.add_argument("--region-scale", type=float, default=None,
                   help="POSE_SERVICE_RESCUE_REGION_SCALE (default: the setting's)")  # fmt: skip
    args = p.parse_args(argv)
    originals = list(islice(read_frames(RUNNER_CLIP, WIDTH), args.frames))
    references = _reference(originals)
    from pose_service.config import Settings

    scale = args.region_scale or Settings.from_env().rescue_region_scale
    cases = {
        name: measure_case(name, originals, references, scale) for name in args.cases.split(",")
    }
    result = {"benchmark": "redetection", "clip": RUNNER_CLIP.name, "synthetic": True,
              "region_scale": scale, "cases": cases}  # fmt: skip
    header = ["case", "frames", "mp image (wrong)", "mp video (wrong)",
              "service detected+rescued (wrong), off → on", "rescued", "predicted", "no pose",
              "wrong person", "rescued err px p50",
              "ms/frame off → on", "rescued frame ms p50", "detected frame ms p50"]  # fmt: skip
    rows = []
    for name, c in cases.items():
        off, on = c["rescue_off"], c["rescue_on"]
        error = on["rescued_keypoint_error_px"]
        rows.append([
            name, c["frames"],
            f"{c['mediapipe_image']} ({c['mediapipe_image_wrong_poses']})",
            f"{c['mediapipe_video']} ({c['mediapipe_video_wrong_poses']})",
            f"{off['detected'] + off['rescued']} ({off['wrong_poses']}) → "
            f"{on['detected'] + on['rescued']} ({on['wrong_poses']})",
            on["rescued"], on["predicted"], on["none"], on["wrong_person_rescues"],
            "–" if error is None else error["p50"],
            f"{off['ms_per_frame']} → {on['ms_per_frame']}",
            "–" if on["rescued_frame_ms"] is None else on["rescued_frame_ms"]["p50"],
            "–" if on["detected_frame_ms"] is None else on["detected_frame_ms"]["p50"],
        ])  # fmt: skip
    emit(result, rows, header, args.json)
    return result


if __name__ == "__main__":
    from pose_service.observability import configure_logging

    configure_logging("warning")  # the pipeline's per-frame lines would drown the table
    main()
