"""Missed frames filled from the frames in flight, measured the way the backend sends.

The real runner clip (640 wide PNGs, as the backend extracts them) is streamed through real
gunicorn with the lite estimator by a client like the backend's process pool
(``../shared/backend-calls.md`` §3): ``--in-flight`` requests outstanding, each started at least
``--spacing-ms`` after the previous one. ``--drop-share`` of the frames (bursts of 1-8, as
``pose-service demo --drop-share``) are hidden from the estimator (``X-Simulate-Miss``). Runs:

- ``reference``: nothing hidden, 4 in flight: what the estimator finds on every frame;
- ``one_at_a_time``: hidden frames, 1 in flight: today's streaming (the demo's way);
- ``in_flight_predict``: hidden frames, 4 in flight, look-ahead off (``TRACK_LOOKAHEAD_FRAMES=0``);
- ``in_flight``: hidden frames, 4 in flight, look-ahead at its default.

Per run: the hidden frames' keypoint error (pixels) against the reference run, how they were
answered (interpolated, predicted), and the round-trip latency of hidden vs detected frames
(p50/p95); ``model_pass_ms`` is the p50 round trip of a detected frame sent one at a time.

    .venv/bin/python -m benchmarks.lookahead [--frames 180] [--json]
"""

from __future__ import annotations

import base64
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import requests

from benchmarks.common import RUNNER_CLIP, emit, free_port, parser, percentiles
from pose_service.devtools.demo import (
    DEFAULT_SPACING_MS,
    burst_miss_mask,
    keypoint_pixel_error,
    video_frames_png,
)

POOL_IN_FLIGHT = 4  # the backend's MAX_CONCURRENT_PROCESSES default


def stream_pool(
    url: str, frames: Sequence[bytes], hidden: np.ndarray, in_flight: int, spacing_ms: float
) -> tuple[list[dict[str, Any]], list[float]]:
    """Every frame sent by ``in_flight`` workers, frames started in order, each start at least
    ``spacing_ms`` after the previous one (the pool's shared last-start time); the answers
    and round trips (ms), by frame."""
    answers: list[dict[str, Any]] = [{} for _ in frames]
    round_trips = [0.0] * len(frames)
    lock = threading.Lock()
    state = {"next": 0, "last_start": 0.0}
    local = threading.local()

    def worker() -> None:
        local.http = requests.Session()
        while True:
            with lock:
                index = state["next"]
                if index >= len(frames):
                    return
                state["next"] = index + 1
                wait = state["last_start"] + spacing_ms / 1000.0 - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                state["last_start"] = start = time.monotonic()
            body = {
                "image_base64": base64.b64encode(frames[index]).decode("ascii"),
                "frame_number": index,
                "visualize": False,
            }
            headers = {"Content-Type": "application/json"}
            if hidden[index]:
                headers["X-Simulate-Miss"] = "true"
            response = local.http.post(
                f"{url}/pose/hybrid", data=orjson.dumps(body), headers=headers, timeout=120
            )
            round_trips[index] = (time.monotonic() - start) * 1000.0
            answers[index] = response.json() if response.content else {}

    with ThreadPoolExecutor(in_flight) as pool:
        for future in [pool.submit(worker) for _ in range(in_flight)]:
            future.result()
    return answers, round_trips


@contextmanager
def lite_service(lookahead: int | None) -> Iterator[str]:
    """A local ``pose-service serve`` with lite, simulated misses allowed, state in a
    temporary folder; ``lookahead`` sets ``TRACK_LOOKAHEAD_FRAMES`` (None: the default)."""
    from pose_service.devtools.local_service import start_service, stop_service, wait_until_ready

    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "POSE_SERVICE_ESTIMATOR": "lite",
            "POSE_SERVICE_ALLOW_SIMULATED_MISSES": "true",
            "POSE_SERVICE_SIMULATED_MISS_TAKES_PASS": "true",  # a real miss costs a pass
            "POSE_SERVICE_STATE_DIR": str(Path(tmp) / "state"),
        }
        if lookahead is not None:
            env["POSE_SERVICE_TRACK_LOOKAHEAD_FRAMES"] = str(lookahead)
        port = free_port()
        process = start_service("127.0.0.1", port, env, str(Path(tmp) / "service.log"))
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_ready(url, 120, process)
            yield url
        finally:
            stop_service(process)


def _source(answer: dict[str, Any]) -> str:
    return (answer.get("temporal") or {}).get("source") or "none"


def _late(answer: dict[str, Any]) -> bool:
    """Answered after a later frame of its video (it overtook it in flight): placed between its
    neighbours by the late-frame rule, not by the look-ahead."""
    return "late_frame" in ((answer.get("temporal") or {}).get("flags") or [])


def summarise(
    answers: list[dict[str, Any]],
    round_trips: list[float],
    hidden: np.ndarray,
    reference: list[dict[str, Any]],
) -> dict[str, Any]:
    sources = [_source(a) for a in answers]
    hidden_sources = [s for s, h in zip(sources, hidden, strict=True) if h]
    return {
        "hidden_keypoint_error_px": keypoint_pixel_error(answers, reference, hidden),
        "hidden_interpolated": hidden_sources.count("interpolated"),
        "hidden_interpolated_late": sum(
            _source(a) == "interpolated" and _late(a)
            for a, h in zip(answers, hidden, strict=True)
            if h
        ),
        "hidden_predicted": hidden_sources.count("predicted"),
        "hidden_without_pose": hidden_sources.count("none"),
        "hidden_ms": percentiles([r for r, h in zip(round_trips, hidden, strict=True) if h]),
        "detected_ms": percentiles(
            [
                r
                for r, h, s in zip(round_trips, hidden, sources, strict=True)
                if not h and s == "detected"
            ]
        ),  # fmt: skip
        "answered_200": sum(1 for a in answers if "has_3d" in a),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=180, help="frames of the runner clip")
    p.add_argument("--drop-share", type=float, default=0.36, help="share of frames hidden")
    p.add_argument("--seed", type=int, default=0, help="of the hidden frames' draw")
    p.add_argument("--in-flight", type=int, default=POOL_IN_FLIGHT, help="requests outstanding")
    p.add_argument("--spacing-ms", type=float, default=DEFAULT_SPACING_MS, help="between starts")
    args = p.parse_args(argv)

    frames = list(islice(video_frames_png(RUNNER_CLIP), args.frames))
    hidden = burst_miss_mask(len(frames), args.drop_share, (1, 8), args.seed)
    nothing = np.zeros(len(frames), dtype=bool)
    k, spacing = args.in_flight, args.spacing_ms
    runs: dict[str, Any] = {}
    with lite_service(None) as url:
        reference, _ = stream_pool(url, frames, nothing, k, spacing)
        answers, trips = stream_pool(url, frames, hidden, 1, spacing)
        runs["one_at_a_time"] = summarise(answers, trips, hidden, reference)
        answers, trips = stream_pool(url, frames, hidden, k, spacing)
        runs["in_flight"] = summarise(answers, trips, hidden, reference)
    with lite_service(0) as url:
        answers, trips = stream_pool(url, frames, hidden, k, spacing)
        runs["in_flight_predict"] = summarise(answers, trips, hidden, reference)

    one = runs["one_at_a_time"]
    model_pass = one["detected_ms"]["p50"]
    ours = runs["in_flight"]
    result = {
        "frames": len(frames),
        "hidden": int(hidden.sum()),
        "in_flight": k,
        "spacing_ms": spacing,
        "model_pass_ms": model_pass,
        "runs": runs,
        "error_vs_one_at_a_time": _ratio(
            ours["hidden_keypoint_error_px"], one["hidden_keypoint_error_px"]
        ),
        "hidden_p50_minus_detected_p50_ms": round(
            ours["hidden_ms"]["p50"] - ours["detected_ms"]["p50"], 1
        ),
    }
    rows = [
        (name, r["hidden_keypoint_error_px"], r["hidden_interpolated"], r["hidden_predicted"],
         r["hidden_ms"]["p50"], r["detected_ms"]["p50"], r["hidden_ms"]["p95"],
         r["detected_ms"]["p95"])
        for name, r in runs.items()
    ]  # fmt: skip
    header = ("run", "hidden kp err px", "interpolated", "predicted", "hidden p50 ms",
              "detected p50 ms", "hidden p95 ms", "detected p95 ms")  # fmt: skip
    emit(result, rows, header, args.json)
    return result


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else round(a / b, 3)


if __name__ == "__main__":
    main()
