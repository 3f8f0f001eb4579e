"""Throughput under the backend's pattern, against real gunicorn (``pose-service serve``).

Two streams, each sequential (next frame only after the answer, and at least ``--spacing-ms``
after the previous send), hit a service whose replay estimator takes ``--delay-ms`` per frame
(``POSE_SERVICE_REPLAY_DELAY_MS``); a third client polls ``/health`` meanwhile. The model runs
one frame at a time, so the ideal is ``min(1000 / delay, streams * 1000 / max(delay, spacing))``
frames/s; the service's own overhead is what keeps it from reaching it.

    .venv/bin/python -m benchmarks.throughput [--seconds 20] [--delay-ms 100] [--json]
"""

from __future__ import annotations

import base64
import threading
import time
from typing import Any

import orjson
import requests

from benchmarks.common import (
    clip_frame,
    emit,
    encode,
    parser,
    percentiles,
    replay_service,
)


def _stream(url: str, body_for: Any, spacing_s: float, stop: float, out: list[float]) -> None:
    session = requests.Session()
    n = 0
    while time.perf_counter() < stop:
        sent = time.perf_counter()
        response = session.post(url + "/pose/hybrid", data=body_for(n), timeout=30,
                                headers={"Content-Type": "application/json"})  # fmt: skip
        response.raise_for_status()
        out.append((time.perf_counter() - sent) * 1e3)
        n += 1
        time.sleep(max(0.0, spacing_s - (time.perf_counter() - sent)))


def _health(url: str, stop: float, out: list[float]) -> None:
    session = requests.Session()
    while time.perf_counter() < stop:
        start = time.perf_counter()
        session.get(url + "/health", timeout=10).raise_for_status()
        out.append((time.perf_counter() - start) * 1e3)
        time.sleep(0.1)


FRAMES = {  # what each stream sends: the backend's PNG frames, or a camera's 1080p JPEG
    "png640": (640, 360, "PNG"),
    "jpeg1080": (1920, 1080, "JPEG"),
}


def measure(
    seconds: float, delay_ms: float, spacing_ms: float, streams: int, frame: str = "png640"
) -> dict[str, Any]:
    """Start the service, run the streams for ``seconds``, stop it; the figures."""
    import psutil

    width, height, fmt = FRAMES[frame]
    text = base64.b64encode(encode(clip_frame(width, height), fmt)).decode("ascii")
    with replay_service({"POSE_SERVICE_REPLAY_DELAY_MS": str(delay_ms)}) as (url, process):
        worker = psutil.Process(process.pid).children(recursive=True)[-1]
        cpu_before = sum(worker.cpu_times()[:2])
        latencies: list[list[float]] = [[] for _ in range(streams)]
        health: list[float] = []
        begin = time.perf_counter()
        stop = begin + seconds
        threads = [
            threading.Thread(
                target=_stream,
                args=(
                    url,
                    lambda n, i=i: _body(text, n, f"bench-{i}"),
                    spacing_ms / 1e3,
                    stop,
                    latencies[i],
                ),
            )  # fmt: skip
            for i in range(streams)
        ]
        threads.append(threading.Thread(target=_health, args=(url, stop, health)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - begin
        worker_cpu_s = sum(worker.cpu_times()[:2]) - cpu_before
    frames = sum(len(x) for x in latencies)
    ideal = min(1000 / delay_ms, streams * 1000 / max(delay_ms, spacing_ms))
    achieved = frames / elapsed
    return {
        "frames": frames,
        "seconds": round(elapsed, 2),
        "achieved_fps": round(achieved, 2),
        "ideal_fps": round(ideal, 2),
        "share_of_ideal": round(achieved / ideal, 3),
        "frame_latency_ms": percentiles([v for x in latencies for v in x]),
        "health_latency_ms": percentiles(health),
        "health_probes": len(health),
        # the worker's CPU per answered frame: HTTP, decode, tracking, JSON, logs (the replay
        # model sleeps, it costs no CPU); /health probes are in it too, a small share
        "worker_cpu_ms_per_frame": round(worker_cpu_s * 1e3 / max(frames, 1), 2),
    }


def _body(text: str, n: int, video_id: str) -> bytes:
    return orjson.dumps({"image_base64": text, "frame_number": n, "video_id": video_id})


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--delay-ms", type=float, default=100.0)
    p.add_argument("--spacing-ms", type=float, default=50.0)
    p.add_argument("--streams", type=int, default=2)
    p.add_argument("--frame", choices=sorted(FRAMES), default="png640")
    args = p.parse_args(argv)
    figures = measure(args.seconds, args.delay_ms, args.spacing_ms, args.streams, args.frame)
    result = {"benchmark": "throughput", "delay_ms": args.delay_ms, "frame": args.frame,
              "spacing_ms": args.spacing_ms, "streams": args.streams, **figures}  # fmt: skip
    header = ["frames/s", "ideal", "share", "frame p50 ms", "frame p95 ms", "health p50 ms",
              "health p95 ms", "worker CPU ms/frame"]  # fmt: skip
    rows = [[figures["achieved_fps"], figures["ideal_fps"], figures["share_of_ideal"],
             figures["frame_latency_ms"]["p50"], figures["frame_latency_ms"]["p95"],
             figures["health_latency_ms"]["p50"], figures["health_latency_ms"]["p95"],
             figures["worker_cpu_ms_per_frame"]]]  # fmt: skip
    emit(result, rows, header, args.json)
    return result


if __name__ == "__main__":
    main()
