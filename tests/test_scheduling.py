"""FIFO order and the bounded queue: the gate itself, and real gunicorn under a slow model."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from pose_service.scheduling import FifoGate, QueueFull, QueueTimeout, ShuttingDown
from tests.support.frames import b64, png_bytes
from tests.support.server import launch

FRAME = b64(png_bytes(64, 36))


def test_gate_serves_waiters_in_arrival_order():
    gate = FifoGate(capacity=10, timeout_s=10)
    order: list[int] = []
    holder = threading.Event()

    def first() -> None:
        with gate.turn():
            holder.set()
            time.sleep(0.2)
            order.append(0)

    def later(i: int) -> None:
        with gate.turn():
            order.append(i)

    threads = [threading.Thread(target=first)]
    threads[0].start()
    holder.wait()
    for i in range(1, 8):
        t = threading.Thread(target=later, args=(i,))
        t.start()
        threads.append(t)
        while gate.waiting < i:  # make the arrival order certain
            time.sleep(0.001)
    for t in threads:
        t.join()
    assert order == list(range(8))
    assert gate.served == 8 and not gate.busy


def test_gate_refuses_beyond_capacity_and_after_close():
    gate = FifoGate(capacity=1, timeout_s=0.2)
    with gate.turn():
        waiter = threading.Thread(target=lambda: pytest.raises(QueueTimeout, _enter, gate))
        waiter.start()
        while gate.waiting < 1:
            time.sleep(0.001)
        with pytest.raises(QueueFull):
            _enter(gate)
        waiter.join()
    assert gate.refused == 2 and gate.waiting == 0
    gate.close()
    with pytest.raises(ShuttingDown):
        _enter(gate)


def _enter(gate: FifoGate) -> None:
    with gate.turn():
        pass


@pytest.fixture(scope="module")
def slow_service(replay_path, tmp_path_factory):
    """Real gunicorn whose model takes 400 ms a frame; two frames may wait."""
    service = launch(
        tmp_path_factory.mktemp("slow"),
        {
            "POSE_SERVICE_ESTIMATOR": "replay",
            "POSE_SERVICE_REPLAY_PATH": str(replay_path),
            "POSE_SERVICE_REPLAY_DELAY_MS": "400",
            "POSE_SERVICE_QUEUE_SIZE": "2",
            "POSE_SERVICE_THREADS": "8",
        },
    )
    yield service
    service.stop()


def _send_staggered(url: str, count: int, stagger_s: float) -> list[tuple[int, float, dict]]:
    results: list[tuple[int, float, dict] | None] = [None] * count

    def send(i: int) -> None:
        response = requests.post(
            url + "/pose/hybrid",
            timeout=60,
            headers={"X-Video-Id": f"v{i}"},
            json={"image_base64": FRAME, "frame_number": 3},
        )
        results[i] = (response.status_code, time.monotonic(), response)

    threads = []
    for i in range(count):
        t = threading.Thread(target=send, args=(i,))
        t.start()
        threads.append(t)
        time.sleep(stagger_s)
    for t in threads:
        t.join()
    return results  # type: ignore[return-value]


def test_requests_are_served_in_arrival_order_and_overflow_gets_503(slow_service):
    results = _send_staggered(slow_service.url, 6, 0.05)
    statuses = [r[0] for r in results]
    # One frame runs, two wait; the other three arrive to a full queue.
    assert statuses == [200, 200, 200, 503, 503, 503]
    finished = [r[1] for r in results[:3]]
    assert finished == sorted(finished)
    for _, _, response in results[3:]:
        body = response.json()
        assert body["code"] == "queue_full" and body["status"] == "busy"
        assert int(response.headers["Retry-After"]) >= 1
    health = requests.get(slow_service.url + "/health", timeout=5).json()
    assert health["queue"]["refused"] >= 3


def test_health_answers_while_inference_runs(slow_service):
    worker = threading.Thread(target=_send_staggered, args=(slow_service.url, 3, 0.0))
    worker.start()
    time.sleep(0.1)
    latencies = []
    for _ in range(10):
        start = time.monotonic()
        assert requests.get(slow_service.url + "/health", timeout=5).status_code == 200
        latencies.append(time.monotonic() - start)
    worker.join()
    assert max(latencies) < 0.1, latencies
