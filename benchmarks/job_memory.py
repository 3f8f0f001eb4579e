"""Memory of one whole-video job (``POST /pose/video`` with ``{"frames": [...]}``) in the worker.

Starts a local ``pose-service serve`` (replay estimator), sends ``--frames`` black PNGs of
``--width`` x ``--height`` as one job (small bodies that decode to a lot of pixels), samples the
gunicorn worker's RSS every 10 ms until the job is done, and reports the peak over the RSS before
and what is still held after (the result, kept for ``GET /jobs/<id>``).

    .venv/bin/python -m benchmarks.job_memory [--frames 200] [--width 1920 --height 1080]
"""

from __future__ import annotations

import base64
import io
import threading
import time
from typing import Any

import numpy as np
import requests
from PIL import Image

from benchmarks.common import emit, parser, replay_service

MIB = 2**20


def measure(frames: int, width: int, height: int) -> dict[str, Any]:
    import psutil

    buffer = io.BytesIO()
    Image.fromarray(np.zeros((height, width, 3), np.uint8)).save(buffer, "PNG")
    png = base64.b64encode(buffer.getvalue()).decode("ascii")
    with replay_service() as (url, process):
        worker = psutil.Process(process.pid).children(recursive=True)[-1]
        before = worker.memory_info().rss
        peak = [before]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], worker.memory_info().rss)
                time.sleep(0.01)

        sampler = threading.Thread(target=sample)
        sampler.start()
        body = {"frames": [png] * frames}
        start = time.perf_counter()
        location = requests.post(url + "/pose/video", json=body, timeout=60).headers["Location"]
        status = "queued"
        while status in ("queued", "running"):
            time.sleep(0.1)
            status = requests.get(url + location, timeout=10).json()["status"]
        seconds = time.perf_counter() - start
        time.sleep(0.5)
        done.set()
        sampler.join()
        after = worker.memory_info().rss
    return {
        "frames": frames,
        "frame_size": [width, height],
        "body_mib": round(len(png) * frames / MIB, 2),
        "rss_before_mib": round(before / MIB, 1),
        "peak_over_before_mib": round((peak[0] - before) / MIB, 1),
        "kept_after_mib": round((after - before) / MIB, 1),
        "job_seconds": round(seconds, 2),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=200)
    p.add_argument("--width", type=int, default=1920)
    p.add_argument("--height", type=int, default=1080)
    args = p.parse_args(argv)
    result = measure(args.frames, args.width, args.height)
    keys = ["frames", "body_mib", "peak_over_before_mib", "kept_after_mib", "job_seconds"]
    rows = [[f"{args.width}x{args.height}", *(result[k] for k in keys)]]
    emit(result, rows, ["size", "frames", "body MiB", "peak +MiB", "kept +MiB", "job s"], args.json)
    return result


if __name__ == "__main__":
    main()
