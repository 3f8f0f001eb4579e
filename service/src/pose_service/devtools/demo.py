"""``pose-service demo``: stream a video to the service the way the backend does.

One PNG frame per request, ``frame_number`` only (no video id), sequential, at least 50 ms
apart. ``--drop-share`` hides a share of frames from the estimator in bursts (the service's
``X-Simulate-Miss``), to show the tracker filling HMR2-like misses; the undropped run of the
same frames is then the reference for the pixel error of the predicted keypoints.
"""

from __future__ import annotations

import base64
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import requests

from ..video_frames import read_frames
from .demo_report import frame_source, keypoint_error

DEFAULT_SPACING_MS = 50.0  # the backend waits at least this long between requests


def video_frames_png(path: str | Path, width: int | None = 640) -> Iterator[bytes]:
    """PNG bytes of each frame, resized to ``width`` like the backend's ffmpeg extraction."""
    import cv2  # OpenCV comes with the lite extra (mediapipe)

    for rgb in read_frames(path, width):
        ok, png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        if not ok:
            raise RuntimeError("PNG encoding failed")
        yield png.tobytes()


def burst_miss_mask(
    count: int, share: float, burst: tuple[int, int], seed: int, miss_first: int = 0
) -> np.ndarray:
    """Which frames to hide: about ``share`` of ``count``, in bursts of ``burst`` lengths."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(count, dtype=bool)
    mask[: min(miss_first, count)] = True
    target = int(round(share * count))
    attempts = 0
    while mask.sum() < target and attempts < 100 * count:
        attempts += 1
        length = min(int(rng.integers(burst[0], burst[1] + 1)), target - int(mask.sum()))
        start = int(rng.integers(0, count))
        end = min(start + length, count)
        if mask[max(start - 1, 0) : end + 1].any():
            continue  # keep one detected frame between bursts, as real miss runs have
        mask[start:end] = True
    return mask


@dataclass
class StreamResult:
    """What came back for every frame of one streamed video."""

    answers: list[dict[str, Any]] = field(default_factory=list)
    round_trip_ms: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    def summary(self, dropped: np.ndarray | None = None) -> dict[str, Any]:
        n = len(self.statuses)
        with_pose = [a for a in self.answers if a.get("has_3d")]
        sources = [a.get("temporal", {}).get("source") for a in self.answers]
        first = next((i for i, a in enumerate(self.answers) if a.get("has_3d")), None)
        after_first = self.answers[first:] if first is not None else []
        out = {
            "frames": n,
            "answered_200": sum(1 for s in self.statuses if s == 200),
            "with_pose": len(with_pose),
            "coverage": round(len(with_pose) / n, 4) if n else 0.0,
            "coverage_after_first_detection": (
                round(sum(1 for a in after_first if a.get("has_3d")) / len(after_first), 4)
                if after_first else 0.0
            ),
            "detected": sources.count("detected"),
            "rescued": [frame_source(a) for a in self.answers].count("rescued"),
            "predicted": sources.count("predicted"),
            "dropped": int(dropped.sum()) if dropped is not None else 0,
            "round_trip_ms_p50": round(statistics.median(self.round_trip_ms), 1) if n else None,
            "round_trip_ms_p95": (
                round(float(np.percentile(self.round_trip_ms, 95)), 1) if n else None
            ),
            "processing_ms_p50": round(
                statistics.median(a.get("processing_time_ms", 0.0) for a in self.answers), 1
            ) if self.answers else None,
        }  # fmt: skip
        return out


def stream_video(
    url: str,
    frames: list[bytes],
    dropped: np.ndarray | None = None,
    spacing_ms: float = DEFAULT_SPACING_MS,
    progress: bool = True,
    session: requests.Session | None = None,
    first_frame_number: int = 0,
) -> StreamResult:
    """Send the frames one request each, in order, awaiting each answer (the backend's way)."""
    http = session or requests.Session()
    result = StreamResult()
    bar = _progress(len(frames), progress)
    last_sent = 0.0
    for index, png in enumerate(frames):
        wait = spacing_ms / 1000.0 - (time.monotonic() - last_sent)
        if wait > 0:
            time.sleep(wait)
        body = {
            "image_base64": base64.b64encode(png).decode("ascii"),
            "frame_number": first_frame_number + index,
        }
        headers = {"Content-Type": "application/json"}
        if dropped is not None and dropped[index]:
            headers["X-Simulate-Miss"] = "true"
        last_sent = time.monotonic()
        response = http.post(
            url.rstrip("/") + "/pose/hybrid", data=orjson.dumps(body), headers=headers, timeout=120
        )
        result.round_trip_ms.append((time.monotonic() - last_sent) * 1000.0)
        result.statuses.append(response.status_code)
        answer = response.json() if response.content else {}
        result.answers.append(answer)
        if bar is not None:
            source = answer.get("temporal", {}).get("source") or "none"
            bar.set_postfix_str(f"{source:<9} conf {answer.get('tracking_confidence', 0):.2f}")
            bar.update(1)
    if bar is not None:
        bar.close()
    return result


def keypoint_pixel_error(
    predicted: list[dict[str, Any]], reference: list[dict[str, Any]], frames: np.ndarray
) -> float | None:
    """Mean distance (pixels) between the keypoints of two runs on the chosen frames."""
    errors = [keypoint_error(predicted[i], reference[i]) for i in np.flatnonzero(frames)]
    known = [e for e in errors if e is not None]
    return round(float(np.mean(known)), 2) if known else None


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="frame", file=sys.stderr, dynamic_ncols=True)
