"""Which answers close their connection: every one sent before its request body was read.

A client that keeps its socket alive (Node 20's default agent does) sends its next request on
the same connection. If the service answers before reading the body (a 415 for a multipart
upload, a 404 on an unknown route, a 413 over the size limit) and keeps the connection, the
unread bytes are still on it: gunicorn drains a little and then closes, and the client's next
request on that socket fails with EPIPE / ECONNRESET, a lost frame. So such an answer says
``Connection: close`` and the server closes the connection after it, as the old service did
for every answer. An answer that read its whole body keeps the connection.

:func:`close_when_body_unread` wraps the WSGI application; the gunicorn worker installs it and
honours the verdict (``Response.force_close``: gunicorn drops an application's hop-by-hop
headers and writes its own ``Connection`` header from that).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class CountingInput:
    """``wsgi.input`` that remembers how much of the body the application read."""

    def __init__(self, stream: Any, length: int | None) -> None:
        self._stream = stream
        self.length = length  # None: chunked, the end is known only once a read returns b""
        self.read_bytes = 0
        self.ended = False

    def _seen(self, data: bytes, asked: int | None) -> bytes:
        self.read_bytes += len(data)
        if not data and asked != 0:
            self.ended = True
        return data

    def read(self, size: int | None = -1) -> bytes:
        return self._seen(self._stream.read(size), size)

    def readline(self, size: int | None = -1) -> bytes:
        return self._seen(self._stream.readline(size), size)

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        lines = self._stream.readlines(hint)
        for line in lines:
            self._seen(line, None)
        return lines

    def __iter__(self) -> Iterator[bytes]:
        for line in self._stream:
            yield self._seen(line, None)
        self.ended = True

    @property
    def fully_read(self) -> bool:
        if self.ended:
            return True
        return self.length is not None and self.read_bytes >= self.length


def body_length(environ: dict[str, Any]) -> int | None:
    """The request body's announced length: 0 without a body, None when chunked."""
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return None
    try:
        return max(int(environ.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return None


def close_when_body_unread(
    app: WsgiApp, on_close: Callable[[Callable[..., Any]], None] | None = None
) -> WsgiApp:
    """``app`` whose answers say ``Connection: close`` when the application did not read its
    request's whole body first (or asked for the close itself); ``on_close`` receives the
    server's ``start_response`` then, for the server to close the connection after the answer."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = body_length(environ)
        counting = None
        if length != 0:
            counting = CountingInput(environ["wsgi.input"], length)
            environ["wsgi.input"] = counting

        def answer(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            asked = any(k.lower() == "connection" and v.lower() == "close" for k, v in headers)
            if asked or (counting is not None and not counting.fully_read):
                headers = [(k, v) for k, v in headers if k.lower() != "connection"]
                headers.append(("Connection", "close"))
                if on_close is not None:
                    on_close(start_response)
            return start_response(status, headers, exc_info)

        return app(environ, answer)

    wrapped.__wrapped__ = app  # type: ignore[attr-defined]  # the application, for hooks
    return wrapped


def force_gunicorn_close(start_response: Callable[..., Any]) -> None:
    """Close the connection after this answer: ``start_response`` is a bound method of
    gunicorn's ``Response``, whose ``force_close`` makes it write ``Connection: close``."""
    response = getattr(start_response, "__self__", None)
    if response is not None and hasattr(response, "force_close"):
        response.force_close()
