"""Floods against the real service: none may hang it, lose an accepted job or answer a 5xx
other than the deliberate 503s with ``Retry-After``.

Real gunicorn (``tests/support/server.launch``), the replay model taking ``DELAY_MS`` a pass in
place of the real one's latency. While each flood runs, ``/health`` is probed every 0.25 s with
the backend's 5 s timeout (``benchmarks.probes.Probe``): every probe must be answered and their
p95 stay under 100 ms, as under the slow-client attack (``tests/test_slow_clients.py``).
"""

from __future__ import annotations

import io
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
import requests
from PIL import Image

from benchmarks.common import percentiles
from benchmarks.probes import Probe
from tests.support.frames import b64, png_bytes
from tests.support.motion import HEIGHT, WIDTH
from tests.support.server import RunningService, launch, replay_env

pytestmark = pytest.mark.slow

DELAY_MS = 20  # the replay model's time a pass
HEALTH_P95_MS = 100.0
MAX_SESSIONS = 4


@pytest.fixture(scope="module")
def service(
    replay_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    """One replay service for the floods (each leaves nothing the next depends on)."""
    tmp = tmp_path_factory.mktemp("floods")
    env = replay_env(replay_path, tmp / "state", replay_delay_ms=str(DELAY_MS),
                     max_sessions=str(MAX_SESSIONS))  # fmt: skip
    running = launch(tmp, env)
    yield running
    running.stop()


@dataclass
class Answer:
    """What one request of a flood got back."""

    status: int
    code: str | None
    retry_after: str | None
    body: dict[str, Any] | None

    @property
    def label(self) -> str:
        return f"{self.status} {self.code}" if self.code else str(self.status)


def answer(send: Callable[[], requests.Response]) -> Answer:
    """What ``send()`` got: its status and error code, or status 0 and the exception's name
    when no answer came (never allowed)."""
    try:
        response = send()
    except requests.RequestException as exc:
        return Answer(0, type(exc).__name__, None, None)
    try:
        body = response.json()
    except ValueError:
        body = None
    code = body.get("code") if isinstance(body, dict) else None
    return Answer(response.status_code, code, response.headers.get("Retry-After"), body)


def at_once(count: int, call: Callable[[int], Answer]) -> list[Answer]:
    """``call(i)`` for ``i < count``, each in its own thread, released together."""
    barrier = threading.Barrier(count)
    answers: list[Answer | None] = [None] * count

    def one(i: int) -> None:
        barrier.wait()
        answers[i] = call(i)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(a is not None for a in answers)
    return answers  # type: ignore[return-value]


def counts(answers: list[Answer]) -> dict[str, int]:
    return dict(Counter(a.label for a in answers))


def only(answers: list[Answer], allowed: set[str], summary: str) -> None:
    """Every answer one of ``allowed`` (``"202"``, ``"503 jobs_full"``...); every 503 with
    a Retry-After."""
    assert {a.label for a in answers} <= allowed, summary
    assert all(a.retry_after for a in answers if a.status == 503), summary


def health_held(probe: Probe, summary: str) -> None:
    figures = probe.figures("health")
    assert figures["health_probes"] >= 4, summary
    assert figures["health_unanswered"] == 0, summary
    assert figures["health_ms"]["p95"] < HEALTH_P95_MS, summary


def wait_for_jobs(url: str, job_ids: list[str], timeout_s: float) -> dict[str, dict[str, Any]]:
    """Each job's last description, polled until none is queued or running (or time is up)."""
    last: dict[str, dict[str, Any]] = {}
    pending = list(job_ids)
    deadline = time.monotonic() + timeout_s
    with requests.Session() as http:
        while pending and time.monotonic() < deadline:
            for job_id in list(pending):
                body = http.get(f"{url}/jobs/{job_id}", timeout=10).json()
                last[job_id] = body
                if body.get("status") not in ("queued", "running"):
                    pending.remove(job_id)
            time.sleep(0.1)
    return last


def video_body(frames: list[str]) -> bytes:
    """``{"frames": [...]}`` encoded once, before a flood (not by each sender, at once)."""
    return orjson.dumps({"frames": frames})


def post_video(url: str, body: bytes) -> Answer:
    return answer(lambda: requests.post(url + "/pose/video", data=body, timeout=60,
                                        headers={"Content-Type": "application/json"}))  # fmt: skip


def report(name: str, probe: Probe, **figures: Any) -> str:
    health = probe.figures("health")
    line = (
        f"{name}: /health p50 {health['health_ms']['p50']:.1f} ms, "
        f"p95 {health['health_ms']['p95']:.1f} ms, {health['health_unanswered']} of "
        f"{health['health_probes']} unanswered; {figures}"
    )
    print(line)
    return line


JOB_FLOOD = 50
JOB_FRAMES = 8


def test_a_flood_of_jobs_is_accepted_or_refused_and_every_accepted_job_finishes(
    service: RunningService,
) -> None:
    frames = [b64(png_bytes(WIDTH, HEIGHT, colour=(n, 90, 90))) for n in range(JOB_FRAMES)]
    body = video_body(frames)
    with Probe(service.url, "/health") as probe:
        time.sleep(0.5)
        answers = at_once(JOB_FLOOD, lambda _i: post_video(service.url, body))
        accepted = [a.body["job_id"] for a in answers if a.status == 202 and a.body]
        jobs = wait_for_jobs(service.url, accepted, timeout_s=20)
    statuses = Counter(job.get("status") for job in jobs.values())
    summary = report("job flood", probe, answers=counts(answers), jobs=dict(statuses))
    only(answers, {"202", "503 jobs_full"}, summary)
    assert accepted, summary
    for job_id in accepted:
        job = jobs[job_id]
        assert job["status"] == "done", f"{job_id}: {job}"
        assert job["frames_done"] == job["frames_total"] == JOB_FRAMES, f"{job_id}: {job}"
        numbers = [f["frame_number"] for f in job["result"]["frames"]]
        assert numbers == list(range(JOB_FRAMES)), f"{job_id}: {numbers}"
    health_held(probe, summary)


ID_FLOOD_IDS = 40
ID_FLOOD_CLIENTS = 40
LIVE_FPS = 5.0  # the live stream's frames, one every 0.2 s (or at once when answered late)
LIVE_FRAMES = 30


def test_a_flood_of_video_ids_leaves_a_live_stream_in_its_session(
    service: RunningService,
) -> None:
    live_png = b64(png_bytes(WIDTH, HEIGHT, colour=(220, 220, 220)))
    flood_png = b64(png_bytes(WIDTH, HEIGHT, colour=(20, 20, 20)))
    url = service.url + "/pose/hybrid"
    flood: list[Answer] = []
    live: list[Answer] = []
    live_ms: list[float] = []
    stop = threading.Event()

    def flooder(client: int) -> None:
        """Client ``client``'s ``n``-th frame is frame ``n`` of video ``(client + n) % 40``."""
        n = 0
        with requests.Session() as http:
            while not stop.is_set():
                body = {"image_base64": flood_png, "frame_number": n, "mesh_format": "none",
                        "video_id": f"flood-{(client + n) % ID_FLOOD_IDS}"}  # fmt: skip
                flood.append(answer(lambda b=body: http.post(url, json=b, timeout=30)))
                n += 1

    def streamer() -> None:
        start = time.perf_counter()
        with requests.Session() as http:
            for n in range(LIVE_FRAMES):
                time.sleep(max(0.0, start + n / LIVE_FPS - time.perf_counter()))
                body = {"image_base64": live_png, "frame_number": n, "mesh_format": "none"}
                sent = time.perf_counter()
                live.append(answer(lambda b=body: http.post(url, json=b, timeout=30)))
                live_ms.append((time.perf_counter() - sent) * 1e3)

    with Probe(service.url, "/health") as probe:
        stream = threading.Thread(target=streamer)
        stream.start()
        time.sleep(0.3)  # the live stream has its session before the flood
        flooders = [threading.Thread(target=flooder, args=(c,)) for c in range(ID_FLOOD_CLIENTS)]
        for thread in flooders:
            thread.start()
        stream.join()
        stop.set()
        for thread in flooders:
            thread.join()
    sessions = Counter(a.body.get("session_id") for a in live if a.body)
    summary = report("id flood", probe, flood=counts(flood), live=counts(live),
                     live_sessions=dict(sessions), live_ms=percentiles(live_ms))  # fmt: skip
    only(flood, {"200", "503 sessions_full"}, summary)
    assert any(a.code == "sessions_full" for a in flood), summary
    assert [a.status for a in live] == [200] * LIVE_FRAMES, summary
    assert len(sessions) == 1, summary
    health_held(probe, summary)


# Black 1080p PNGs (8 KB each, 6 MB decoded, as benchmarks.job_memory): jobs whose bodies are
# small and whose pixels are not, one over MAX_JOB_PIXELS (~1900 such frames), one over
# MAX_BODY_BYTES (32 MiB, ~4100 frames), all at once.
BIG_ACCEPTED = (120, 120, 120)
BIG_TOO_MANY_PIXELS = 3000
BIG_TOO_LONG = 4500


def black_png_1080p() -> str:
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((1080, 1920, 3), np.uint8)).save(buffer, "PNG")
    return b64(buffer.getvalue())


def test_big_bodies_at_once_are_accepted_or_refused_without_hanging_health(
    service: RunningService,
) -> None:
    frame = black_png_1080p()
    sizes = [*BIG_ACCEPTED, BIG_TOO_MANY_PIXELS, BIG_TOO_LONG]
    bodies = [video_body([frame] * n) for n in sizes]
    with Probe(service.url, "/health") as probe:
        time.sleep(0.5)
        answers = at_once(len(bodies), lambda i: post_video(service.url, bodies[i]))
        accepted = {a.body["job_id"]: n for a, n in zip(answers, sizes, strict=True)
                    if a.status == 202 and a.body}  # fmt: skip
        jobs = wait_for_jobs(service.url, list(accepted), timeout_s=30)
    statuses = Counter(job.get("status") for job in jobs.values())
    summary = report("big bodies", probe, answers=counts(answers), jobs=dict(statuses),
                     body_mb=[round(len(b) / 1e6, 1) for b in bodies])  # fmt: skip
    only(answers, {"202", "413 job_too_large", "413 body_too_large", "503 jobs_full"}, summary)
    assert [a.label for a in answers[-2:]] == ["413 job_too_large", "413 body_too_large"], summary
    for job_id, frames in accepted.items():
        job = jobs[job_id]
        assert job["status"] == "done" and job["frames_done"] == frames, f"{job_id}: {job}"
    health_held(probe, summary)
