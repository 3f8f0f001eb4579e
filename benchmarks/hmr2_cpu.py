"""``estimator=hmr2`` on this CPU, end to end through the service (real gunicorn).

The real 4D-Humans stack of ``make test-upstream`` (its venv, its stand-in model files: the real
HMR2 and detector architectures with random weights, so the same work as the real models), and
the backend's frames: the runner clip resized to 640 wide as PNG, one request at a time, each
after the answer to the last. Reports the client's wall time per frame (everything: upload,
decode, detector, HMR2, tracking, answer), the service's ``processing_time_ms``, the model load,
and how many frames ran the person detector.

    make test-upstream   # once: builds the venv and the stand-ins, prints nothing here
    VENV/bin/python -m benchmarks.hmr2_cpu --models DIR [--frames 30] [--detector auto]
        [--detect-every 1] [--json]

``DIR`` is the stand-ins' folder (``POSE_UPSTREAM_MODELS`` of ``make test-upstream``, under
/var/cache/pose-service-upstream). ``--detector auto`` is MediaPipe's person box on a CPU.
"""

from __future__ import annotations

import base64
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any

import requests

from benchmarks.common import RUNNER_CLIP, emit, parser, percentiles


def measure(models: Path, frames: int, detector: str, detect_every: int) -> dict[str, Any]:
    import hmr2

    from pose_service.devtools.demo import video_frames_png
    from pose_service.devtools.local_service import start_service, stop_service, wait_until_ready
    from tests.support.server import free_port

    pngs = list(islice(video_frames_png(RUNNER_CLIP, 640), frames))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    state = Path(tempfile.mkdtemp(prefix="hmr2-cpu-"))
    env = {
        "HOME": str(models / "home"),
        "PYOPENGL_PLATFORM": "osmesa",
        "POSE_SERVICE_ESTIMATOR": "hmr2",
        "POSE_SERVICE_DEVICE": "cpu",
        "POSE_SERVICE_HMR2_DETECTOR": detector,
        "POSE_SERVICE_DETECT_EVERY_FRAMES": str(detect_every),
        "POSE_SERVICE_VITDET_WEIGHTS": str(models / "detectron2/model_final_f05665.pkl"),
        "POSE_SERVICE_FOURD_HUMANS_DIR": str(Path(hmr2.__file__).resolve().parents[1]),
        "POSE_SERVICE_STATE_DIR": str(state / "state"),
    }
    started = time.perf_counter()
    process = start_service("127.0.0.1", port, env, str(state / "service.log"))
    try:
        wait_until_ready(url, 600.0, process)
        load_s = time.perf_counter() - started
        wall: list[float] = []
        service: list[float] = []
        sources: dict[str, int] = {}
        for n, png in enumerate(pngs):
            body = {"image_base64": base64.b64encode(png).decode(), "frame_number": n}
            t0 = time.perf_counter()
            answer = requests.post(url + "/pose/hybrid", json=body, timeout=300).json()
            wall.append((time.perf_counter() - t0) * 1e3)
            service.append(float(answer["processing_time_ms"]))
            source = str((answer.get("temporal") or {}).get("source"))
            sources[source] = sources.get(source, 0) + 1
        health = requests.get(url + "/health", timeout=5).json()
    finally:
        stop_service(process)
    return {
        "frames": len(pngs),
        "detector": detector,
        "detect_every_frames": detect_every,
        "load_s": round(load_s, 1),
        "wall_ms": percentiles(wall),
        "service_ms": percentiles(service),
        "sources": sources,
        "device": health.get("device"),
    }


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--models", type=Path, required=True, help="the stand-ins' folder")
    p.add_argument("--frames", type=int, default=30)
    p.add_argument("--detector", choices=["auto", "mediapipe", "vitdet"], default="auto")
    p.add_argument("--detect-every", type=int, default=1)
    args = p.parse_args()
    result = measure(args.models, args.frames, args.detector, args.detect_every)
    rows = [
        ("client wall per frame", result["wall_ms"]["p50"], result["wall_ms"]["p95"]),
        ("service processing_time_ms", result["service_ms"]["p50"], result["service_ms"]["p95"]),
    ]
    emit(result, rows, ("ms", "p50", "p95"), args.json)
    if not args.json:
        print(f"load {result['load_s']} s; sources {result['sources']}")


if __name__ == "__main__":
    main()
