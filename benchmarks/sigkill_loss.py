"""SIGKILL mid-stream: how many answered frames of each video a restart has forgotten.

``--videos`` clients each stream their own video (``video_id``) as fast as the answers come
back (sequential, the backend's pattern) into a real ``pose-service serve`` whose replay model
takes ``--delay-ms`` a frame, with sessions saved every ``--interval-s``
(``SESSION_PERSIST_INTERVAL_S``) and a queue of ``--queue-size`` (default: one less than the
videos, so it stays full: every other video's frame waits while one runs, the case where a save
queued behind the frames came late or was refused). After ``--seconds`` (plus a jitter under one
interval, so the kill lands anywhere in the save cycle) the whole process group, master and
worker, is SIGKILLed; the service restarts on the same state directory and ``GET
/sessions/<id>`` says how many frames of each video it kept. Lost = frames answered 200 before
the kill minus frames restored (a frame saved whose answer the kill cut off counts as none
lost). Repeated ``--kills`` times, each on the service the last one restarted.

docs/reliability.md's bound, per video: one save interval's frames at the video's measured
rate, rounded up, plus the frame in the model when the save comes (the save waits for that turn
only, ``FifoGate.priority_turn``). Before, the save queued behind the frames and, the queue full,
was refused and skipped: with these defaults it lost p50 5.5, max 24 frames (a whole video).

    .venv/bin/python -m benchmarks.sigkill_loss [--videos 4] [--kills 5] [--seconds 3]
        [--delay-ms 30] [--interval-s 0.2] [--json]
"""

from __future__ import annotations

import base64
import math
import os
import random
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import requests

from benchmarks.common import clip_frame, emit, encode, free_port, parser, write_recording


@dataclass
class Service:
    url: str
    process: subprocess.Popen


def start(state: Path, recording: Path, settings: Mapping[str, str], log: Path) -> Service:
    """``pose-service serve`` (replay) on a free port keeping its sessions in ``state``, ready
    (saved sessions restored: readiness waits for them)."""
    from pose_service.devtools.local_service import start_service, stop_service, wait_until_ready

    env = {
        "POSE_SERVICE_ESTIMATOR": "replay",
        "POSE_SERVICE_REPLAY_PATH": str(recording),
        "POSE_SERVICE_STATE_DIR": str(state),
        **settings,
    }
    port = free_port()
    process = start_service("127.0.0.1", port, env, str(log))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, 60, process)
    except (TimeoutError, RuntimeError) as exc:
        stop_service(process)
        raise RuntimeError(f"{exc}\n{log.read_text(errors='replace')[-3000:]}") from exc
    return Service(url, process)


def _stream(url: str, video_id: str, image: str, stop: threading.Event, answered: list[int],
            slot: int) -> None:  # fmt: skip
    """Frames 0, 1, ... of one video, each after the last one's answer; a 503 (queue full,
    while a save holds the model) is sent again. Ends when the service goes."""
    session = requests.Session()
    n = 0
    while not stop.is_set():
        body = orjson.dumps({"image_base64": image, "frame_number": n, "video_id": video_id,
                             "mesh_format": "none"})  # fmt: skip
        try:
            response = session.post(url + "/pose/hybrid", data=body, timeout=30,
                                    headers={"Content-Type": "application/json"})  # fmt: skip
        except requests.RequestException:
            return  # killed
        if response.status_code == 200:
            n += 1
            answered[slot] = n
        elif response.status_code == 503:
            time.sleep(0.005)
        else:
            raise RuntimeError(f"frame {n} of {video_id}: {response.status_code} {response.text}")


def restored_frames(url: str, video_id: str) -> int:
    """Frames of ``video_id`` the restarted service holds (0 when it never saved it)."""
    response = requests.get(f"{url}/sessions/{video_id}", timeout=30)
    if response.status_code == 404:
        return 0
    response.raise_for_status()
    frames = response.json()["frames"]
    return int(frames[-1]["frame_number"]) + 1 if frames else 0


def kill_round(service: Service, round_id: int, videos: int, seconds: float, jitter_s: float,
               image: str) -> dict[str, Any]:  # fmt: skip
    """Stream, SIGKILL the whole service at ``seconds + jitter_s``; what each video had
    answered and at what rate."""
    stop = threading.Event()
    answered = [0] * videos
    ids = [f"kill{round_id}-video{k}" for k in range(videos)]
    threads = [
        threading.Thread(target=_stream, args=(service.url, ids[k], image, stop, answered, k))
        for k in range(videos)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds + jitter_s)
    os.killpg(service.process.pid, signal.SIGKILL)  # master and worker: no goodbye
    streamed_s = time.perf_counter() - started
    answered_at_kill = list(answered)  # an answer can no longer arrive
    stop.set()
    service.process.wait()
    for thread in threads:
        thread.join(35)
    return {"ids": ids, "answered": answered_at_kill, "streamed_s": streamed_s}


def bound_frames(interval_s: float, rate_fps: float) -> int:
    """The documented bound in whole frames: the interval's frames at ``rate_fps``, rounded up,
    plus the one in the model when the save comes."""
    return math.ceil(interval_s * rate_fps) + 1


def measure(videos: int = 4, kills: int = 5, seconds: float = 3.0, delay_ms: float = 30.0,
            interval_s: float = 0.2, queue_size: int | None = None, seed: int = 0,
            work_dir: Path | None = None) -> dict[str, Any]:  # fmt: skip
    """``kills`` rounds of stream, SIGKILL, restart; lost frames per video and their bound."""
    queue = videos - 1 if queue_size is None else queue_size
    settings = {
        "POSE_SERVICE_REPLAY_DELAY_MS": str(delay_ms),
        "POSE_SERVICE_SESSION_PERSIST_INTERVAL_S": str(interval_s),
        "POSE_SERVICE_QUEUE_SIZE": str(queue),
        "POSE_SERVICE_LOG_LEVEL": "warning",
    }
    jitter = random.Random(seed)
    image = base64.b64encode(encode(clip_frame(320, 180), "PNG")).decode("ascii")
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        root = Path(tmp)
        recording = root / "recording.npz"
        write_recording(recording)
        state, log = root / "state", root / "service.log"
        service = start(state, recording, settings, log)
        rounds = []
        try:
            for r in range(kills):
                outcome = kill_round(service, r, videos, seconds, jitter.uniform(0, interval_s),
                                     image)  # fmt: skip
                service = start(state, recording, settings, log)
                restored = [restored_frames(service.url, i) for i in outcome["ids"]]
                rates = [n / outcome["streamed_s"] for n in outcome["answered"]]
                rounds.append({
                    "answered": outcome["answered"],
                    "restored": restored,
                    "lost": [max(0, a - k) for a, k in zip(outcome["answered"], restored,
                                                           strict=True)],
                    "rate_fps": [round(x, 2) for x in rates],
                    "bound_frames": [bound_frames(interval_s, x) for x in rates],
                })  # fmt: skip
        finally:
            from pose_service.devtools.local_service import stop_service

            if service.process.poll() is None:
                stop_service(service.process)
    lost = [n for r in rounds for n in r["lost"]]
    rates = [x for r in rounds for x in r["rate_fps"]]
    over = [n - b for r in rounds for n, b in zip(r["lost"], r["bound_frames"], strict=True)]
    return {
        "videos": videos,
        "kills": kills,
        "seconds": seconds,
        "delay_ms": delay_ms,
        "interval_s": interval_s,
        "queue_size": queue,
        "lost_max": max(lost),
        "lost_p50": float(np.percentile(lost, 50)),
        "lost_mean": round(float(np.mean(lost)), 2),
        "rate_fps_mean": round(float(np.mean(rates)), 2),
        "bound_frames": bound_frames(interval_s, float(np.mean(rates))),
        "over_bound": sum(1 for x in over if x > 0),
        "rounds": rounds,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--videos", type=int, default=4)
    p.add_argument("--kills", type=int, default=5)
    p.add_argument("--seconds", type=float, default=3.0, help="streaming before each kill")
    p.add_argument("--delay-ms", type=float, default=30.0, help="the replay model's latency")
    p.add_argument("--interval-s", type=float, default=0.2, help="SESSION_PERSIST_INTERVAL_S")
    p.add_argument("--queue-size", type=int, help="QUEUE_SIZE; default: videos - 1 (full)")
    args = p.parse_args(argv)
    result = measure(args.videos, args.kills, args.seconds, args.delay_ms, args.interval_s,
                     args.queue_size)  # fmt: skip
    rows = [
        [n, r["answered"], r["restored"], r["lost"], r["rate_fps"], r["bound_frames"]]
        for n, r in enumerate(result["rounds"])
    ]
    rows.append(["all", "", "", f"max {result['lost_max']}, p50 {result['lost_p50']:g}",
                 f"mean {result['rate_fps_mean']}", result["bound_frames"]])  # fmt: skip
    emit(result, rows, ["kill", "answered", "restored", "lost", "fps", "bound"], args.json)
    return result


if __name__ == "__main__":
    main()
