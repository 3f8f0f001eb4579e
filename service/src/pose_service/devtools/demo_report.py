"""``pose-service demo --report DIR``: where the tracker carried the pose, at a glance.

- ``annotated.mp4``: every frame with the answered skeleton drawn on it, coloured by where the
  pose came from (detected, rescued, predicted, interpolated), with the tracking confidence;
- ``timeline.png``: per frame the source (a colour band), ``tracking_confidence`` and, when the
  demo hid frames from the estimator, the keypoint error against the undropped run;
- ``frames.json``: the per-frame figures behind both.

Reads the service's answers (the contract's JSON), so it shows exactly what a client got.
OpenCV and matplotlib come with the lite extra (mediapipe requires both).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..drawing import SOURCE_COLOURS, VIDEO_FPS, draw_pose, open_video_writer, pose_source


def frame_source(answer: dict[str, Any]) -> str:
    """``detected`` / ``rescued`` / ``predicted`` / ``interpolated`` / ``none`` of an answer."""
    temporal = answer.get("temporal") or {}
    flags = temporal.get("flags") or []
    return pose_source(bool(answer.get("has_3d")), temporal.get("source"), flags)


def keypoints(answer: dict[str, Any]) -> np.ndarray | None:
    """The answer's 24 image keypoints (x, y), or None without a pose."""
    points = answer.get("keypoints") if answer.get("has_3d") else None
    return None if not points else np.array([[p["x"], p["y"]] for p in points], np.float32)


def keypoint_error(answer: dict[str, Any], reference: dict[str, Any]) -> float | None:
    """Mean distance (pixels) between two answers' keypoints; None unless both have a pose."""
    ours, theirs = keypoints(answer), keypoints(reference)
    if ours is None or theirs is None:
        return None
    return float(np.linalg.norm(ours - theirs, axis=1).mean())


def per_frame(
    answers: Sequence[dict[str, Any]],
    dropped: np.ndarray | None = None,
    reference: Sequence[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Source, confidence, hidden or not and (hidden frames) the error against the reference."""
    rows = []
    for index, answer in enumerate(answers):
        hidden = bool(dropped[index]) if dropped is not None else False
        error = None
        if hidden and reference is not None:
            error = keypoint_error(answer, reference[index])
            error = None if error is None else round(error, 2)
        rows.append({
            "frame": index,
            "source": frame_source(answer),
            "tracking_confidence": float(answer.get("tracking_confidence") or 0.0),
            "hidden": hidden,
            "error_px": error,
        })  # fmt: skip
    return rows


def draw(bgr: np.ndarray, answer: dict[str, Any]) -> np.ndarray:
    """The frame with the answer's skeleton and a label (source, confidence) drawn on it."""
    confidence = float(answer.get("tracking_confidence") or 0.0)
    return draw_pose(bgr, keypoints(answer), frame_source(answer), confidence)


def write_video(path: Path, frames_rgb: Sequence[np.ndarray], answers: Sequence[dict]) -> None:
    import cv2

    height, width = frames_rgb[0].shape[:2]
    writer = open_video_writer(path, width, height, VIDEO_FPS)
    try:
        for rgb, answer in zip(frames_rgb, answers, strict=True):
            writer.write(draw(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), answer))
    finally:
        writer.release()


def write_timeline(path: Path, rows: Sequence[dict[str, Any]], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frames = np.array([r["frame"] for r in rows])
    errors = [(r["frame"], r["error_px"]) for r in rows if r["error_px"] is not None]
    figure, axis = plt.subplots(figsize=(10, 3.2), dpi=110)
    for source, bgr in SOURCE_COLOURS.items():
        chosen = frames[[r["source"] == source for r in rows]]
        if len(chosen):
            axis.bar(chosen, 0.08, bottom=1.04, width=1.0, color=_rgb(bgr), label=source)
    hidden = frames[[r["hidden"] for r in rows]]
    if len(hidden):
        axis.bar(hidden, 0.04, bottom=1.13, width=1.0, color="black", label="hidden from it")
    axis.plot(frames, [r["tracking_confidence"] for r in rows], color="black", lw=1.2,
              label="tracking_confidence")  # fmt: skip
    axis.set_ylim(0, 1.2)
    axis.set_xlim(-0.5, len(rows) - 0.5)
    axis.set_xlabel("frame")
    axis.set_ylabel("tracking_confidence")
    if errors:
        second = axis.twinx()
        second.plot(*zip(*errors, strict=True), "o", ms=3, color="crimson",
                    label="keypoint error vs undropped (px)")  # fmt: skip
        second.set_ylabel("error on hidden frames, px")
        second.legend(loc="lower right", fontsize=7)
    axis.legend(loc="lower left", fontsize=7, ncol=4)
    axis.set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _rgb(bgr: tuple[int, int, int]) -> tuple[float, float, float]:
    return (bgr[2] / 255.0, bgr[1] / 255.0, bgr[0] / 255.0)


def write_report(
    directory: Path,
    frames_rgb: Sequence[np.ndarray],
    answers: Sequence[dict[str, Any]],
    dropped: np.ndarray | None = None,
    reference: Sequence[dict[str, Any]] | None = None,
    title: str = "",
) -> dict[str, str]:
    """The annotated video, the timeline and their figures in ``directory``; their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = per_frame(answers, dropped, reference)
    paths = {name: directory / name for name in ("annotated.mp4", "timeline.png", "frames.json")}
    write_video(paths["annotated.mp4"], frames_rgb, answers)
    write_timeline(paths["timeline.png"], rows, title)
    paths["frames.json"].write_text(json.dumps(rows, indent=1))
    return {name: str(path) for name, path in paths.items()}
