"""Requests real gunicorn refuses before the app sees them answer in the service's JSON shape."""

from __future__ import annotations

import http.client
import json
import socket
import time
from pathlib import Path

import pytest

from pose_service.server.gunicorn_worker import is_whole_health_request
from tests.support.server import RunningService, launch

pytestmark = pytest.mark.service  # real programs (gunicorn, nginx, MediaPipe): the service tier

HEALTH = b"GET /health HTTP/1.1\r\nHost: x\r\n"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> RunningService:
    running = launch(tmp_path_factory.mktemp("worker"), {"POSE_SERVICE_ESTIMATOR": "lite"})
    yield running
    running.stop()


def _raw(service: RunningService, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        pytest.param(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414,
                     "request_line_too_long", id="long-request-line"),
        pytest.param(HEALTH + b"X-Big: " + b"b" * 9000 + b"\r\n\r\n",
                     431, "headers_too_large", id="huge-header"),
        pytest.param(HEALTH + b"".join(b"X-H%d: v\r\n" % i for i in range(120)) + b"\r\n",
                     431, "headers_too_large", id="too-many-headers"),
    ],
)  # fmt: skip
def test_a_refused_request_gets_the_json_error_shape(service, request_bytes, status, code):
    got, headers, body = _raw(service, request_bytes)
    assert got == status and headers["Content-Type"] == "application/json"
    answer = json.loads(body)
    assert answer["code"] == code
    assert "8190" in answer["error"] or "100 headers" in answer["error"]  # the limits, by number


def test_other_refusals_and_normal_requests_are_unchanged(service, tmp_path: Path):
    status, _, body = _raw(service, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 200 and json.loads(body)["service"] == "pose-service"
    status, _, _ = _raw(service, b"NOT A REQUEST\r\n\r\n")
    assert status == 400  # gunicorn's own answer to an unparsable request line


@pytest.mark.parametrize(
    ("head", "whole"),
    [
        (b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", True),
        (b"GET /health?verbose=1 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", True),
        (b"GET /health HTTP/1.1\r\nHost: x\r\n", False),  # headers still coming
        (b"GET /he", False),
        (b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n", False),  # a body
        (b"GET /health HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", False),
        (b"POST /health HTTP/1.1\r\nHost: x\r\n\r\n", False),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", False),
        (b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n", True),  # the probes and the scrape too
        (b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n", True),
        (b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: text/plain\r\n\r\n", True),
        (b"GET /metricsz HTTP/1.1\r\nHost: x\r\n\r\n", False),
        (b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n", False),
        (b"", False),
    ],
)
def test_only_a_whole_health_request_takes_the_health_threads(head: bytes, whole: bool):
    assert is_whole_health_request(head) is whole


def _stalled_body(port: int) -> socket.socket:
    """A frame request announcing 10 MB and sending 1 KB: it holds a request thread."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"POST /pose/hybrid HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 10000000\r\n\r\n" + b"{" + b" " * 1023)  # fmt: skip
    return sock


def test_health_is_answered_while_every_request_thread_is_held(service):
    """Before, /health queued behind the held threads (gunicorn alone: unanswered)."""
    stalled = [_stalled_body(service.port) for _ in range(12)]  # more than its 8 threads
    try:
        time.sleep(0.5)  # each one in a thread, reading its body
        for _ in range(3):
            start = time.perf_counter()
            status, _, _ = _raw(service, HEALTH + b"Connection: close\r\n\r\n")
            assert status == 200 and time.perf_counter() - start < 1.0
        kept = http.client.HTTPConnection("127.0.0.1", service.port, timeout=5)
        try:
            kept.connect()
            time.sleep(0.3)  # a connection silent at first waits in the poller, then is served
            sockets = []
            for _ in range(2):  # and its next request too (kept alive)
                kept.request("GET", "/health")
                response = kept.getresponse()
                assert response.status == 200 and json.loads(response.read())["ready"]
                sockets.append(kept.sock)
            assert sockets[0] is sockets[1] is not None  # one connection for both
        finally:
            kept.close()
    finally:
        for sock in stalled:
            sock.close()


def test_a_health_request_sent_slowly_is_still_answered(service):
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as sock:
        sock.sendall(b"GET /he")
        time.sleep(0.3)
        sock.sendall(b"alth HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")


def _read_ahead_attack(port: int) -> socket.socket:
    """One write: a quick kept-alive request, then a POST whose headers end exactly where the
    parser's first 8 KiB read does, then a body that starts like ``GET /health`` and stalls. After
    the first answer the POST waits in the parser's buffer while the socket shows the body."""
    first = b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n"
    head = (b"POST /pose/hybrid HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10000000\r\nX-Pad: ")  # fmt: skip
    pad = b"p" * (8192 - len(first) - len(head) - 4)
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(first + head + pad + b"\r\n\r\n" + HEALTH + b"\r\n")
    return sock


def test_a_request_read_ahead_into_the_parser_never_takes_a_health_thread(service):
    """Review finding: the peek saw the stalled body's "GET /health", the buffered POST went to
    a health thread and blocked reading its 10 MB; two such connections held both and /health
    queued for good. Bytes already in the parser's buffer now mean the main pool."""
    attacks = [_read_ahead_attack(service.port) for _ in range(3)]
    try:
        time.sleep(0.5)
        start = time.perf_counter()
        status, _, _ = _raw(service, HEALTH + b"Connection: close\r\n\r\n")
        assert status == 200 and time.perf_counter() - start < 1.0
    finally:
        for sock in attacks:
            sock.close()


def test_a_health_thread_gives_up_on_a_client_that_does_not_read(monkeypatch):
    """The health threads answer with a kernel send timeout, cleared afterwards (a client that
    never reads must not hold them in sendall)."""
    import struct

    from pose_service.server import gunicorn_worker

    seen = []
    left, right = socket.socketpair()

    def handle(self, conn):
        raw = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, 16)
        seen.append(struct.unpack("ll", raw)[0])
        return False

    monkeypatch.setattr(gunicorn_worker.JsonErrorThreadWorker, "handle", handle)
    worker = object.__new__(gunicorn_worker.JsonErrorThreadWorker)
    conn = type("Conn", (), {"sock": left})()
    try:
        assert worker._handle_health(conn) is False
        assert seen == [gunicorn_worker.HEALTH_SEND_TIMEOUT_S]
        after = struct.unpack("ll", left.getsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, 16))
        assert after == (0, 0)
    finally:
        left.close()
        right.close()
