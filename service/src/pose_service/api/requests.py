"""Reading and validating a ``/pose/hybrid`` request; every problem is a named 4xx."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson
from flask import Request
from werkzeug.datastructures import FileStorage

from .errors import ApiError
from .responses import MESH_FORMATS, MeshFormat

MAX_FRAME_NUMBER = 10_000_000  # ~92 hours at 30 fps
VIDEO_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # whole string: fullmatch
KNOWN_FIELDS = frozenset({"image_base64", "frame_number", "visualize", "video_id", "mesh_format"})
MAX_FRAMES_PATTERN = re.compile(r"[0-9]{1,9}")  # a ``max_frames`` form field: whole string
OUTPUT_FORMATS = ("file_path",)  # what the backend sends as ``output_format`` (its default)


@dataclass(frozen=True)
class HybridRequest:
    """A validated ``/pose/hybrid`` request."""

    image_base64: str
    frame_number: int
    visualize: bool
    video_id: str | None
    mesh_format: MeshFormat = "full"  # lighter answers on request; old clients get "full"


def read_json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 4xx naming what is wrong."""
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Content-Type must be application/json, not {mimetype or 'missing'!r}",
        )
    raw = request.get_data(cache=False)
    if not raw:
        raise ApiError(400, "invalid_json", "request body is empty; expected a JSON object")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", f"request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(
            400, "invalid_body", f"request body must be a JSON object, not {type(body).__name__}"
        )
    return body


def parse_hybrid_request(request: Request, reject_unknown: bool = True) -> HybridRequest:
    """Validate the fields of the contract (and the optional ``video_id``).

    Unknown fields are refused by default (a misspelt ``frame_numbr`` would otherwise be
    silently ignored); ``POSE_SERVICE_REJECT_UNKNOWN_FIELDS=false`` accepts and ignores them.
    """
    body = read_json_object(request)
    unknown = sorted(set(body) - KNOWN_FIELDS)
    if unknown and reject_unknown:
        raise ApiError(
            400,
            "unknown_field",
            f"unknown field(s) {', '.join(unknown)}; accepted: {', '.join(sorted(KNOWN_FIELDS))}",
        )
    image = body.get("image_base64")
    if image is None:
        raise ApiError(400, "missing_field", "image_base64 is required (base64 of a PNG or JPEG)")
    if not isinstance(image, str):
        raise ApiError(400, "invalid_type", f"image_base64 must be a string, not {_kind(image)}")
    frame_number = body.get("frame_number")
    if frame_number is None:
        frame_number = 0
    elif isinstance(frame_number, bool) or not isinstance(frame_number, int):
        raise ApiError(
            400, "invalid_type", f"frame_number must be an integer, not {_kind(frame_number)}"
        )
    elif not 0 <= frame_number <= MAX_FRAME_NUMBER:
        raise ApiError(400, "invalid_value", f"frame_number must be within 0..{MAX_FRAME_NUMBER}")
    visualize = body.get("visualize")
    if visualize is None:
        visualize = False
    elif not isinstance(visualize, bool):
        raise ApiError(400, "invalid_type", f"visualize must be a boolean, not {_kind(visualize)}")
    video_id = body.get("video_id")
    if video_id is None:
        video_id = request.headers.get("X-Video-Id") or None
    if video_id is not None:
        if not isinstance(video_id, str):
            raise ApiError(400, "invalid_type", f"video_id must be a string, not {_kind(video_id)}")
        if not VIDEO_ID_PATTERN.fullmatch(video_id):
            raise ApiError(
                400, "invalid_value", "video_id must be 1-128 characters of A-Z a-z 0-9 . _ : -"
            )
    mesh_format = body.get("mesh_format")
    if mesh_format is None:
        mesh_format = "full"
    elif mesh_format not in MESH_FORMATS:
        raise ApiError(
            400, "invalid_value", f"mesh_format must be one of {', '.join(MESH_FORMATS)}"
        )
    return HybridRequest(image, frame_number, visualize, video_id, mesh_format)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)  # fmt: skip


def parse_video_images(request: Request) -> list[str]:
    """The base64 images of a ``POST /pose/video`` JSON body (``{"frames": [...]}``)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("frames"), list):
        raise ApiError(400, "bad_request", 'expected a "video" file or JSON {"frames": [...]}')
    images = body["frames"]
    if not images or not all(isinstance(i, str) for i in images):
        raise ApiError(400, "bad_request", '"frames" must be a non-empty list of base64 images')
    return images


def simulate_miss_asked(request: Request, allowed: bool) -> bool:
    """Whether ``X-Simulate-Miss`` asks to hide the frame from the estimator (refused unless
    the service allows it)."""
    asked = request.headers.get("X-Simulate-Miss", "").lower() in {"1", "true", "yes"}
    if asked and not allowed:
        raise ApiError(
            400,
            "simulated_misses_disabled",
            "X-Simulate-Miss needs POSE_SERVICE_ALLOW_SIMULATED_MISSES=true on the service",
        )
    return asked


@dataclass(frozen=True)
class LegacyVideoRequest:
    """A validated ``/process_video`` or ``/process_video_async`` upload."""

    video: FileStorage
    max_frames: int | None  # None: as many as the service allows


def parse_legacy_video(request: Request) -> LegacyVideoRequest:
    """The old service's multipart form: a ``video`` file, ``max_frames`` (a decimal string,
    at least 1) and ``output_format`` (``file_path``, the only one the backend sends)."""
    video = request.files.get("video")
    if video is None:
        raise ApiError(
            400, "missing_video", 'expected a multipart/form-data "video" file part (the video)'
        )
    raw = request.form.get("max_frames")
    max_frames = None
    if raw is not None:
        if not MAX_FRAMES_PATTERN.fullmatch(raw) or int(raw) < 1:
            raise ApiError(
                400,
                "invalid_value",
                f"max_frames must be a whole number of 1 or more, not {raw[:40]!r}",
            )
        max_frames = int(raw)
    output_format = request.form.get("output_format", OUTPUT_FORMATS[0])
    if output_format not in OUTPUT_FORMATS:
        raise ApiError(
            400, "invalid_value", f"output_format must be one of {', '.join(OUTPUT_FORMATS)}"
        )
    return LegacyVideoRequest(video, max_frames)
