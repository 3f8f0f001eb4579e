"""Requests real gunicorn refuses before the app sees them answer in the service's JSON shape."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.support.server import RunningService, launch

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
