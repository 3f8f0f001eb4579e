"""gunicorn's threaded worker, with the service's JSON error shape for the requests gunicorn
itself refuses before the app sees them (a request line or headers over its limits).

gunicorn answers those with a small HTML page; a client of this service (the backend, or anyone
reading ``{"error", "code"}``) gets the same JSON shape as every other error instead. Anything
else gunicorn refuses keeps gunicorn's own answer.
"""

from __future__ import annotations

from typing import Any

import orjson
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.workers.gthread import ThreadWorker

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


class JsonErrorThreadWorker(ThreadWorker):
    """``gthread`` with :data:`JSON_REFUSALS` answered in the service's error shape."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        refusal = next((v for k, v in JSON_REFUSALS.items() if isinstance(exc, k)), None)
        if refusal is None:
            super().handle_error(req, client, addr, exc)
            return
        status, reason, code, message = refusal
        self.log.warning(f"refused before the app: {code} ({exc})")
        try:
            client.sendall(json_error(status, reason, code, message.format(cfg=self.cfg)))
        except OSError:
            self.log.debug("the client left before the refusal was sent")
