"""Every error answer has one shape: ``{"error": "...", "code": "..."}`` and a 4xx/5xx status.

Handlers are registered in one place so that no path (a Werkzeug 404/405/413, an uncaught
exception) answers with an HTML page or crashes the worker. :class:`ApiError` is the API's own
refusal (request validation, the token), which carries its answer; the domain errors of the
pipeline and ``whole_video`` are answered by ``error_map``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app
from werkzeug.exceptions import HTTPException

from ..observability import get_logger

log = get_logger("pose_service.api")


class ApiError(Exception):
    """An error answer: status, machine code, human message, optional extra fields/headers."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra or {}
        self.headers = headers or {}


def error_response(
    status: int,
    code: str,
    message: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {"error": message, "code": code, **(extra or {})}
    response = current_app.json.response(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


_HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
    413: "body_too_large", 415: "unsupported_media_type", 429: "too_many_requests",
}  # fmt: skip


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.extra, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        message = exc.description or exc.name
        if status == 413:
            limit = current_app.config.get("MAX_CONTENT_LENGTH")
            message = f"request body is larger than the limit of {limit} bytes"
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        return error_response(status, _HTTP_CODES.get(status, "http_error"), message, None, headers)

    @app.errorhandler(Exception)
    def _internal_error(exc: Exception) -> Response:
        log.exception("internal_error", error=f"{type(exc).__name__}: {exc}")
        return error_response(500, "internal_error", f"internal error: {type(exc).__name__}: {exc}")
