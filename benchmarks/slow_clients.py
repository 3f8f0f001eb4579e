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

from benchmarks.common import clip_frame, emit, encode, parser, replay_service
from benchmarks.probes import PROBE_TIMEOUT_S, Probe


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


def attack(url: str, kind: str, clients: int, seconds: float, drip_s: float) -> dict[str, Any]:
    """Run the attack against ``url`` for ``seconds``; the probes' figures."""
    parts = urlsplit(url)
    frame = base64.b64encode(encode(clip_frame(640, 360), "PNG")).decode("ascii")
    stop = time.perf_counter() + seconds
    threads = [
        threading.Thread(target=_attacker, args=(parts.hostname, parts.port, kind, drip_s, stop))
        for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # let the attackers take their connections
    health = Probe(url, "/health").start(until=stop)
    body = {"image_base64": frame, "frame_number": 0}
    frames = Probe(url, "/pose/hybrid", body, every_s=1.0, timeout_s=PROBE_TIMEOUT_S * 4)
    frames.start(until=stop)
    for thread in threads:
        thread.join()
    health.join()
    frames.join()
    return {
        "attack": kind,
        "clients": clients,
        "seconds": seconds,
        **health.figures("health"),
        **frames.figures("frame"),
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
