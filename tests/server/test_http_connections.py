"""Answers sent before their request body was read close the connection; kept-alive sockets
outlive Node's 5 s idle reuse (``http_connections``, the worker, ``POSE_SERVICE_KEEPALIVE_S``).

The real-gunicorn tests speak raw HTTP/1.1 on one socket, as Node 20's keep-alive agent does:
a refusal, then the next request on the same socket.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import socket
import time
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image

from pose_service.server.http_connections import close_when_body_unread
from tests.support.nginx import nginx_binary, start_proxy
from tests.support.server import RunningService, free_port

pytestmark = pytest.mark.service  # real programs (gunicorn, nginx, MediaPipe): the service tier

BIG = 100 * 1024  # over gunicorn's drain of an unread body


def _png_b64() -> str:
    buffer = io.BytesIO()
    Image.fromarray(np.full((36, 64, 3), 90, np.uint8)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before an answer")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:])}
    length = int(headers.get("content-length", 0))
    while len(body) < length:
        body += sock.recv(65536)
    return int(lines[0].split()[1]), headers, body


def _request(method: str, path: str, body: bytes, content_type: str) -> bytes:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@pytest.fixture(scope="module", params=["gunicorn", "nginx"])
def port(request, replay_service: RunningService, tmp_path_factory) -> Iterator[int]:
    """The service's port, directly and through the role's nginx site in front of it."""
    if request.param == "gunicorn":
        yield replay_service.port
        return
    nginx = nginx_binary()
    if nginx is None:
        reason = "nginx is not installed (apt-get install nginx-light); .ci/run installs it"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    listen = free_port()
    proxy = start_proxy(nginx, tmp_path_factory.mktemp("proxy"), listen, replay_service.port)
    try:
        yield listen
    finally:
        proxy.stop()


def _frame_request() -> bytes:
    body = json.dumps({"image_base64": _png_b64(), "frame_number": 0}).encode()
    return _request("POST", "/pose/hybrid", body, "application/json")


@pytest.mark.parametrize(
    ("method", "path", "content_type"),
    [
        ("POST", "/pose/hybrid", "multipart/form-data; boundary=x"),  # 415 before the body
        ("POST", "/no/such/route", "application/octet-stream"),  # 404
    ],
)
def test_an_answer_before_the_body_is_read_closes_the_connection(
    port: int, method: str, path: str, content_type: str
):
    """gunicorn says close and closes; nginx has read the whole body before it asks gunicorn,
    so it may keep the socket: either way the client's next request is answered."""
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(_request(method, path, b"z" * BIG, content_type))
            status, headers, _ = _read_response(sock)
            assert status in (404, 415)
            if headers.get("connection") == "close":
                sock.settimeout(5)
                # the server closed its side: no second answer ever comes on this socket
                with contextlib.suppress(ConnectionResetError):
                    assert sock.recv(65536) == b""
                continue
            sock.sendall(_frame_request())  # kept: the same socket takes the next frame
            assert _read_response(sock)[0] == 200


def test_gunicorn_closes_after_an_early_answer(replay_service: RunningService):
    with socket.create_connection(("127.0.0.1", replay_service.port), timeout=10) as sock:
        sock.sendall(_request("POST", "/pose/hybrid", b"z" * BIG, "multipart/form-data; b=x"))
        assert _read_response(sock)[1]["connection"] == "close"


def test_an_answer_that_read_its_body_keeps_the_connection(port: int):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        bad = json.dumps({"image_base64": "not base64!!", "frame_number": 0}).encode()
        sock.sendall(_request("POST", "/pose/hybrid", bad, "application/json"))
        status, headers, _ = _read_response(sock)
        assert status == 400 and headers.get("connection", "keep-alive") != "close"
        sock.sendall(_frame_request())  # the same socket
        assert _read_response(sock)[0] == 200


def test_an_idle_kept_alive_socket_outlives_nodes_five_seconds(port: int):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(_frame_request())
        assert _read_response(sock)[0] == 200
        time.sleep(5.5)  # Node 20's agent reuses a free socket for up to 5 s
        sock.sendall(_frame_request())
        assert _read_response(sock)[0] == 200


def _run(app, environ: dict) -> tuple[list[tuple[str, str]], list]:
    seen: dict = {}
    closed: list = []

    def start_response(status, headers, exc_info=None):
        seen["headers"] = headers

    wrapped = close_when_body_unread(app, closed.append)
    b"".join(wrapped(environ, start_response))
    return seen["headers"], closed


def _environ(body: bytes, chunked: bool = False) -> dict:
    environ = {"wsgi.input": io.BytesIO(body)}
    if chunked:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    else:
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


def _reading(amount: int | None):
    def app(environ, start_response):
        stream = environ["wsgi.input"]
        if amount is None:
            while stream.read(7):
                pass
        elif amount:
            stream.read(amount)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    return app


@pytest.mark.parametrize(
    ("read", "body", "chunked", "closes"),
    [
        (0, b"abc", False, True),  # nothing read
        (2, b"abc", False, True),  # part of it
        (3, b"abc", False, False),  # all of it
        (0, b"", False, False),  # no body at all
        (None, b"abcdefghijk", True, False),  # chunked, read to its end
        (4, b"abcdefghijk", True, True),  # chunked, the end never seen
    ],
)
def test_the_wrapper_closes_exactly_when_the_body_was_not_read(read, body, chunked, closes):
    headers, closed = _run(_reading(read), _environ(body, chunked))
    assert (("Connection", "close") in headers) is closes
    assert bool(closed) is closes


def test_an_application_asking_for_close_gets_it():
    def app(environ, start_response):
        start_response("200 OK", [("Connection", "close")])
        return [b""]

    headers, closed = _run(app, _environ(b""))
    assert headers == [("Connection", "close")] and closed
