"""gunicorn's threaded worker, with ``/health`` (and the probes ``/livez``, ``/readyz``,
``/metrics``) kept out of the queue for the request threads, the service's JSON error shape for
the requests gunicorn itself refuses before the app sees them (a request line or headers over
its limits), and SIGTERM told to the pipeline (``/readyz`` says 503 while the worker drains).

gthread hands every readable connection to one pool of ``threads`` threads, first come first
served. A flood of requests (40 clients sending frames of videos the service has no room for,
each answered in a few ms) keeps that queue tens deep, and ``/health`` waited behind it (p50
~115 ms, p95 155-190 ms with 8 threads; ``tests/test_floods.py``), as it did behind clients
holding every thread with a slow request. Here a connection whose whole request is already
received and is ``GET /health`` goes to a small pool of its own instead. Only a complete request
goes there, so no client can hold those threads by sending it slowly; anything else, a request
still arriving included, goes to the main pool as before. A new connection that has sent nothing
yet waits in the poller (as gunicorn's own deferred connections do) until it has, so it can be
told apart; it never holds a thread meanwhile.

gunicorn answers its own refusals with a small HTML page; a client of this service (the backend,
or anyone reading ``{"error", "code"}``) gets the same JSON shape as every other error instead.
Anything else gunicorn refuses keeps gunicorn's own answer.

An answer sent before its request's body was read closes the connection (``http_connections``).
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import orjson
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.workers.gthread import DEFAULT_WORKER_DATA_TIMEOUT, ThreadWorker

from ..metrics import count_refusal
from .http_connections import close_when_body_unread, force_gunicorn_close

# The refusals answered as JSON: exception -> (status, reason phrase, code, message), the
# message formatted with gunicorn's config (``cfg``: the limits ``gunicorn_conf`` sets).
JSON_REFUSALS: dict[type[Exception], tuple[int, str, str, str]] = {
    LimitRequestLine: (414, "URI Too Long", "request_line_too_long",
                       "the request line is longer than {cfg.limit_request_line} bytes"),
    LimitRequestHeaders: (431, "Request Header Fields Too Large", "headers_too_large",
                          "more than {cfg.limit_request_fields} headers, or one longer than "
                          "{cfg.limit_request_field_size} bytes"),
}  # fmt: skip


def json_error(status: int, reason: str, code: str, message: str) -> bytes:
    """A whole HTTP/1.1 response carrying the service's error shape; the connection closes."""
    body = orjson.dumps({"error": message, "code": code})
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


HEALTH_THREADS = 2
# The probes answered by the health threads: none waits for the model or a client.
PROBE_PATHS = frozenset({b"/health", b"/livez", b"/readyz", b"/metrics"})
PEEK_BYTES = 2048  # a probe's whole request (the backend's is ~150 bytes); longer: main pool
# A health thread gives up on a client that does not read its answer within this (a client
# that never reads could otherwise hold both health threads in ``sendall`` for good).
HEALTH_SEND_TIMEOUT_S = 5


def is_whole_health_request(head: bytes) -> bool:
    """Whether ``head`` (the first bytes waiting on a connection) is a whole ``GET /health``
    (or other :data:`PROBE_PATHS`) request: its request line and every header, and no body
    announced (gunicorn would wait to drain one), so answering it never waits on the client."""
    line, _, _ = head.partition(b"\r\n")
    method, _, rest = line.partition(b" ")
    path = rest.split(b" ", 1)[0].split(b"?", 1)[0]
    headers, complete, _ = head.partition(b"\r\n\r\n")
    announced = any(f in headers.lower() for f in (b"\ncontent-length:", b"\ntransfer-encoding:"))
    return method == b"GET" and path in PROBE_PATHS and bool(complete) and not announced


def served_pipeline(wsgi: Any) -> Any:
    """The pipeline of the Flask app a worker serves (inside ``http_connections``' wrapper),
    or None before the app is loaded. gunicorn's master calls ``worker_exit`` too (a worker
    already gone when told to stop), with no app: it must never import the app then."""
    if wsgi is None:
        return None
    from ..api.context import pipeline_of  # here: the master imports this module, not the app

    return pipeline_of(getattr(wsgi, "__wrapped__", wsgi))


class JsonErrorThreadWorker(ThreadWorker):
    """``gthread`` with whole ``/health`` requests served by threads of their own, and
    :data:`JSON_REFUSALS` answered in the service's error shape."""

    def init_process(self) -> None:
        self.health_pool = ThreadPoolExecutor(HEALTH_THREADS, thread_name_prefix="health")
        super().init_process()

    def load_wsgi(self) -> None:
        """The application, with every answer sent before its body was read closing the
        connection (``http_connections``)."""
        super().load_wsgi()
        self.wsgi = close_when_body_unread(self.wsgi, force_gunicorn_close)

    def enqueue_req(self, conn: Any) -> None:
        """Hand the connection to the health pool or the main one (see the module's doc).
        Bytes the parser has already read ahead (a kept-alive connection whose body drain read
        into its next request) mean the socket no longer starts at a request: main pool; TLS
        sockets cannot be peeked at: main pool."""
        buffered = conn.parser is not None and conn.parser.unreader.buf.getvalue()
        if buffered or self.cfg.is_ssl:
            super().enqueue_req(conn)
            return
        try:
            head = conn.sock.recv(PEEK_BYTES, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            if not conn.initialized and not conn.data_ready:
                self._wait_for_first_bytes(conn)
                return
            head = b""  # its next request already read into the parser's buffer: main pool
        except OSError:
            head = b""  # the main pool's handle() meets the same error and closes it
        if head:
            conn.data_ready = True  # handle() need not wait for data in a thread
        if not is_whole_health_request(head):
            super().enqueue_req(conn)
            return
        done = self.health_pool.submit(self._handle_health, conn)
        done.add_done_callback(lambda fut: self.method_queue.defer(self.finish_request, conn, fut))

    def _handle_health(self, conn: Any) -> Any:
        """gthread's ``handle`` with a send timeout (``SO_SNDTIMEO``: ``handle`` makes the socket
        blocking, which clears Python's own timeout): a stalled reader's ``sendall`` fails, the
        connection is closed, the thread is free again."""
        _send_timeout(conn.sock, HEALTH_SEND_TIMEOUT_S)
        try:
            return self.handle(conn)
        finally:
            _send_timeout(conn.sock, 0)

    def _wait_for_first_bytes(self, conn: Any) -> None:
        """Park a new, silent connection in the poller, as gunicorn parks one whose thread
        waited in vain; closed if nothing comes within the time gunicorn would give it (its
        thread's wait, then the pending wait)."""
        conn.timeout = time.monotonic() + DEFAULT_WORKER_DATA_TIMEOUT + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ,
                             partial(self.on_pending_socket_readable, conn))  # fmt: skip

    def handle_exit(self, sig: Any, frame: Any) -> None:
        """SIGTERM: gunicorn stops accepting and lets the in-flight requests finish; meanwhile
        ``/readyz`` answers 503 (a request on a kept-alive connection can still ask)."""
        super().handle_exit(sig, frame)
        pipeline = served_pipeline(getattr(self, "wsgi", None))
        if pipeline is not None:
            pipeline.begin_draining()

    def run(self) -> None:
        try:
            super().run()
        finally:
            self.health_pool.shutdown(wait=False)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        refusal = next((v for k, v in JSON_REFUSALS.items() if isinstance(exc, k)), None)
        if refusal is None:
            super().handle_error(req, client, addr, exc)
            return
        status, reason, code, message = refusal
        self.log.warning(f"refused before the app: {code} ({exc})")
        count_refusal(code)
        try:
            client.sendall(json_error(status, reason, code, message.format(cfg=self.cfg)))
        except OSError:
            self.log.debug("the client left before the refusal was sent")


def _send_timeout(sock: socket.socket, seconds: int) -> None:
    """Set the kernel's send timeout of ``sock`` (0: none); a closed socket is left alone."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", seconds, 0))
