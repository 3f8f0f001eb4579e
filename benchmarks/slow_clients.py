"""Slow and stalled clients against the service: can they starve ``/health`` and the frames?

``--clients`` connections each either send a request's headers one byte every ``--drip-s``
seconds (``headers``), or announce a 10 MB body and send 1 KB of it, then stall (``body``).
Meanwhile one client probes ``/health`` (5 s timeout, as the backend) every 0.25 s and another
sends a real frame every second. Reports the probes' latency, how many got no answer (a 5xx
counts as none) and how many were a 200.

    .venv/bin/python -m benchmarks.slow_clients [--url URL] [--attack headers] [--clients 20]

Without ``--url`` it starts a local ``pose-service serve`` (replay estimator) on 127.0.0.1.
"""

from __future__ import annotations

import base64
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import requests

from benchmarks.common import clip_frame, emit, encode, parser, percentiles, replay_service

PROBE_TIMEOUT_S = 5.0  # the backend's /health timeout


def _attacker(host: str, port: int, attack: str, drip_s: float, stop: float) -> None:
    try:
        sock = socket.create_connection((host, port), timeout=5)
    except OSError:
        return
    try:
        if attack == "headers":
            request = b"POST /pose/hybrid HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            for byte in request:
                if time.perf_counter() > stop:
                    return
                sock.sendall(bytes([byte]))
                time.sleep(drip_s)
        else:
            sock.sendall(
                b"POST /pose/video HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 10000000\r\n\r\n" + b"{" + b" " * 1023
            )
            while time.perf_counter() < stop:
                time.sleep(0.2)
    except OSError:
        return  # the server closed us: what a defence does
    finally:
        sock.close()


def _probe(url: str, stop: float, latencies: list[float], missed: list[str], codes: list[int],
           path: str, body: dict | None, every_s: float) -> None:  # fmt: skip
    while time.perf_counter() < stop:
        start = time.perf_counter()
        try:
            if body is None:
                response = requests.get(url + path, timeout=PROBE_TIMEOUT_S)
            else:
                response = requests.post(url + path, json=body, timeout=PROBE_TIMEOUT_S * 4)
            latencies.append((time.perf_counter() - start) * 1e3)
            codes.append(response.status_code)
            if response.status_code >= 500:
                missed.append(f"{response.status_code}")
        except requests.RequestException as exc:
            missed.append(type(exc).__name__)
        time.sleep(max(0.0, every_s - (time.perf_counter() - start)))


def attack(url: str, kind: str, clients: int, seconds: float, drip_s: float) -> dict[str, Any]:
    """Run the attack against ``url`` for ``seconds``; the probes' figures."""
    parts = urlsplit(url)
    frame = base64.b64encode(encode(clip_frame(640, 360), "PNG")).decode("ascii")
    stop = time.perf_counter() + seconds
    health: list[float] = []
    frames: list[float] = []
    health_missed: list[str] = []
    frames_missed: list[str] = []
    health_codes: list[int] = []
    frame_codes: list[int] = []
    threads = [
        threading.Thread(target=_attacker, args=(parts.hostname, parts.port, kind, drip_s, stop))
        for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # let the attackers take their connections
    probes = [
        threading.Thread(target=_probe, args=(url, stop, health, health_missed, health_codes,
                                              "/health", None, 0.25)),
        threading.Thread(target=_probe, args=(url, stop, frames, frames_missed, frame_codes,
                                              "/pose/hybrid",
                                              {"image_base64": frame, "frame_number": 0}, 1.0)),
    ]  # fmt: skip
    for thread in probes:
        thread.start()
    for thread in probes + threads:
        thread.join()
    return {
        "attack": kind,
        "clients": clients,
        "seconds": seconds,
        "health_ms": percentiles(health),
        "health_probes": len(health) + len(health_missed),
        "health_unanswered": len(health_missed),
        "health_ok": health_codes.count(200),
        "frame_ms": percentiles(frames),
        "frame_probes": len(frames) + len(frames_missed),
        "frame_unanswered": len(frames_missed),
        "frame_ok": frame_codes.count(200),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--url", help="a running service; default: start a local replay service")
    p.add_argument("--attack", choices=["headers", "body"], default="headers")
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--drip-s", type=float, default=2.0)
    args = p.parse_args(argv)
    if args.url:
        result = attack(args.url, args.attack, args.clients, args.seconds, args.drip_s)
    else:
        with replay_service() as (url, _process):
            result = attack(url, args.attack, args.clients, args.seconds, args.drip_s)
    rows = [
        ["/health", result["health_probes"], result["health_unanswered"],
         result["health_ms"]["p50"], result["health_ms"]["p95"]],
        ["/pose/hybrid", result["frame_probes"], result["frame_unanswered"],
         result["frame_ms"]["p50"], result["frame_ms"]["p95"]],
    ]  # fmt: skip
    emit(result, rows, ["probe", "sent", "unanswered", "p50 ms", "p95 ms"], args.json)
    return result


if __name__ == "__main__":
    main()
