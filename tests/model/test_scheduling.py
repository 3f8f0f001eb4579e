"""FIFO order and the bounded queue: the gate itself, and real gunicorn under a slow model."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
import requests

from pose_service.config import Settings
from pose_service.model.scheduling import FifoGate, QueueFull, QueueTimeout, ShuttingDown
from pose_service.pipeline import PosePipeline
from pose_service.sessions.router import SessionsFull
from pose_service.types import Frame
from tests.streaming.test_hints import HintedWalkerEstimator
from tests.support.frames import b64, png_bytes
from tests.support.queueing import queue_in_order, wait_until
from tests.support.server import launch

pytestmark = pytest.mark.service  # real programs (gunicorn, nginx, MediaPipe): the service tier

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


def test_the_session_save_goes_ahead_of_a_full_queue_of_frames():
    """The periodic save takes the turn right after the holder's, even with the queue full, so
    a SIGKILL loses about one save interval, not that plus the queue's wait."""
    gate = FifoGate(capacity=3, timeout_s=10)
    order: list[str] = []
    holder = threading.Event()

    def hold() -> None:
        with gate.turn():
            holder.set()
            time.sleep(0.2)
            order.append("holder")

    def frame(i: int) -> None:
        with gate.turn():
            order.append(f"frame {i}")

    def save() -> None:
        with gate.priority_turn():
            order.append("save")

    threads = [threading.Thread(target=hold)]
    threads[0].start()
    holder.wait()
    for i in range(3):
        threads.append(threading.Thread(target=frame, args=(i,)))
        threads[-1].start()
        while gate.waiting < i + 1:
            time.sleep(0.001)
    with pytest.raises(QueueFull):
        _enter(gate)  # the queue is full for frames...
    threads.append(threading.Thread(target=save))  # ...not for the save
    threads[-1].start()
    for t in threads:
        t.join()
    assert order == ["holder", "save", "frame 0", "frame 1", "frame 2"]


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


def test_a_new_video_without_room_is_refused_without_waiting_for_the_model():
    """Before, its frame waited for the model's turn (a server thread and a place in the queue
    held) only to be refused there: a flood of new ids filled the threads and the queue."""
    settings = Settings(max_sessions=1, queue_size=4, queue_timeout_s=2.0, session_persist=False)
    pipeline = PosePipeline(settings, HintedWalkerEstimator())
    pipeline.load()
    rgb = np.zeros((360, 640, 3), dtype=np.uint8)
    pipeline.process(Frame(rgb, 0), video_id="live")
    with pipeline.gate.turn():  # the model busy with another frame
        start = time.perf_counter()
        with pytest.raises(SessionsFull):
            pipeline.process(Frame(rgb, 0), video_id="flood-1")
        assert time.perf_counter() - start < 0.5
    assert pipeline.gate.refused == 0 and pipeline.gate.served == 2  # "live", then the holder


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


# --- TurnBatcher: one turn takes the frames waiting behind it --------------------------------


def _behind_a_busy_model(batcher, work, first, waiting, refused=()):  # type: ignore[no-untyped-def]
    """``first`` holds the model (its batch blocks) while each of ``waiting`` queues at the gate
    in turn, and each of ``refused`` is sent meanwhile; then the model is let go. Returns every
    batch ``work`` saw and each item's result (or the exception it raised)."""
    release = threading.Event()
    batches: list[list] = []
    results: dict = {}

    def holding_work(items):  # type: ignore[no-untyped-def]
        batches.append(items)
        if items == [first]:
            release.wait(5)
        return work(items)

    def call(item) -> None:  # type: ignore[no-untyped-def]
        try:
            results[item] = batcher.run(item, holding_work)[0]
        except Exception as exc:  # noqa: BLE001 - recorded for the assertions
            results[item] = exc

    threads = [threading.Thread(target=call, args=(first,))]
    threads[0].start()
    wait_until(lambda: bool(batches))
    threads += queue_in_order(batcher.gate, call, waiting)
    for item in refused:
        call(item)
    release.set()
    for thread in threads:
        thread.join()
    return batches, results


def _batcher(max_items: int, capacity: int = 10):  # type: ignore[no-untyped-def]
    from pose_service.model.scheduling import TurnBatcher

    return TurnBatcher(FifoGate(capacity=capacity, timeout_s=10), max_items=max_items)


def test_one_turn_takes_the_waiting_items_along():
    batcher = _batcher(max_items=3)
    batches, results = _behind_a_busy_model(
        batcher, lambda items: [i.upper() for i in items], "a", ["b", "c", "d", "e"]
    )
    # b's turn took c and d (max 3); e's own turn came next; nothing lost, order kept
    assert batches == [["a"], ["b", "c", "d"], ["e"]]
    assert results == {"a": "A", "b": "B", "c": "C", "d": "D", "e": "E"}
    assert batcher.batches == 3 and batcher.batched_items == 5
    assert batcher.gate.served == 5 and not batcher.gate.busy


def test_a_batch_error_reaches_every_request_of_the_batch():
    def work(items: list[str]) -> list[str]:
        if items == ["a"]:
            return ["A"]
        raise QueueTimeout(f"boom in {items}")  # any exception type, kept per request

    _, results = _behind_a_busy_model(_batcher(max_items=4), work, "a", ["b", "c"])
    assert results["a"] == "A"
    assert isinstance(results["b"], QueueTimeout) and isinstance(results["c"], QueueTimeout)
    assert results["b"] is not results["c"]  # each thread raised its own copy
    assert str(results["c"]) == "boom in ['b', 'c']"


def test_a_refused_request_leaves_no_item_behind():
    batches, results = _behind_a_busy_model(
        _batcher(max_items=8, capacity=1), lambda items: items, "a", ["b"], refused=["c"]
    )
    assert batches == [["a"], ["b"]]  # "c" was refused (one already waited) and never ran
    assert results["a"] == "a" and results["b"] == "b" and isinstance(results["c"], QueueFull)


def test_one_item_per_turn_is_the_plain_gate():
    batches, _ = _behind_a_busy_model(_batcher(max_items=1), lambda items: items, 0, [1, 2, 3])
    assert batches == [[0], [1], [2], [3]]


def test_real_gunicorn_batches_frames_of_concurrent_streams(tmp_path, replay_path):
    """Four sequential streams against a 300 ms model taking up to 4 frames a pass (the replay
    estimator's idealised batch: one delay per pass): passes take several streams' frames, each
    stream gets its own frames back, in order, and the answers are the recorded ones."""
    service = launch(
        tmp_path,
        {
            "POSE_SERVICE_ESTIMATOR": "replay",
            "POSE_SERVICE_REPLAY_PATH": str(replay_path),
            "POSE_SERVICE_REPLAY_DELAY_MS": "300",
            "POSE_SERVICE_BATCH_FRAMES": "4",
        },
    )
    answers: dict[int, list[dict]] = {}

    def stream(i: int) -> None:
        session = requests.Session()
        answers[i] = []
        for n in range(6):
            response = session.post(
                service.url + "/pose/hybrid",
                json={"image_base64": FRAME, "frame_number": n, "video_id": f"s{i}"},
                timeout=30,
            )
            assert response.status_code == 200, response.text
            answers[i].append(response.json())

    try:
        threads = [threading.Thread(target=stream, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        queue = requests.get(service.url + "/health", timeout=5).json()["queue"]
    finally:
        service.stop()
    assert queue["batch_frames"] == 4 and queue["batched_frames"] == 24
    assert queue["batches"] < 24  # some passes took several streams' frames
    frames_logged = [json.loads(line) for line in service.log_text().splitlines()
                     if '"event": "frame"' in line]  # fmt: skip
    assert any(line.get("batch_frames", 1) > 1 for line in frames_logged)
    reference = [a["keypoints"] for a in answers[0]]
    for i in range(4):
        assert [a["frame_number"] for a in answers[i]] == list(range(6))
        assert {a["session_id"] for a in answers[i]} == {f"s{i}"}
        assert [a["keypoints"] for a in answers[i]] == reference  # same recording, same rows
