"""Malformed requests to /pose/hybrid against real gunicorn: each a named 4xx, never a 500.

The server runs with a 2 MiB body limit and a 4 Mpx image limit (see conftest).
"""

from __future__ import annotations

import base64
import io
import zlib

import numpy as np
import pytest
import requests
from PIL import Image

from tests.support.frames import b64, png_bytes

pytestmark = pytest.mark.service  # real programs (gunicorn, nginx, MediaPipe): the service tier

JSON = "application/json"
GOOD = b64(png_bytes(64, 36))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a size and carries no pixels (bomb / zero-size stand-in)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def encoded(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


NOISE = Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8))
JPEG = encoded(NOISE, "JPEG")
PNG = encoded(NOISE, "PNG")


def body(**fields: object) -> bytes:
    import json

    return json.dumps({"image_base64": GOOD, **fields}).encode()


# (name, raw body, content type, expected status, expected code)
CASES = [
    ("not json", b"hello", JSON, 400, "invalid_json"),
    ("empty body", b"", JSON, 400, "invalid_json"),
    ("json array", b"[1, 2]", JSON, 400, "invalid_body"),
    ("json string", b'"abc"', JSON, 400, "invalid_body"),
    ("json number", b"42", JSON, 400, "invalid_body"),
    ("json null", b"null", JSON, 400, "invalid_body"),
    ("invalid utf-8", b'{"image_base64": "\xff\xfe"}', JSON, 400, "invalid_json"),
    ("missing image", b'{"frame_number": 1}', JSON, 400, "missing_field"),
    ("null image", b'{"image_base64": null}', JSON, 400, "missing_field"),
    ("image number", b'{"image_base64": 12}', JSON, 400, "invalid_type"),
    ("image list", b'{"image_base64": ["a"]}', JSON, 400, "invalid_type"),
    ("image object", b'{"image_base64": {"a": 1}}', JSON, 400, "invalid_type"),
    ("image bool", b'{"image_base64": true}', JSON, 400, "invalid_type"),
    ("image empty", b'{"image_base64": ""}', JSON, 400, "empty_image"),
    ("frame_number string", body(frame_number="3"), JSON, 400, "invalid_type"),
    ("frame_number float", body(frame_number=1.5), JSON, 400, "invalid_type"),
    ("frame_number bool", body(frame_number=True), JSON, 400, "invalid_type"),
    ("frame_number list", body(frame_number=[1]), JSON, 400, "invalid_type"),
    ("frame_number negative", body(frame_number=-1), JSON, 400, "invalid_value"),
    ("frame_number huge", body(frame_number=10**15), JSON, 400, "invalid_value"),
    ("visualize string", body(visualize="yes"), JSON, 400, "invalid_type"),
    ("visualize number", body(visualize=1), JSON, 400, "invalid_type"),
    ("video_id number", body(video_id=7), JSON, 400, "invalid_type"),
    ("video_id illegal", body(video_id="../etc"), JSON, 400, "invalid_value"),
    ("video_id too long", body(video_id="v" * 500), JSON, 400, "invalid_value"),
    ("video_id newline", body(video_id="abc\n"), JSON, 400, "invalid_value"),
    ("unknown field", body(frame_numbr=3), JSON, 400, "unknown_field"),
    ("bad padding", body(image_base64="aGVsbG8"), JSON, 400, "invalid_base64"),
    ("illegal characters", body(image_base64="aGVs*G8="), JSON, 400, "invalid_base64"),
    ("whitespace inside", body(image_base64="aGVs bG8="), JSON, 400, "invalid_base64"),
    ("data url text", body(image_base64="data:text/plain;base64," + GOOD), JSON, 400,
     "unsupported_media_type"),
    ("data url not base64", body(image_base64="data:image/png,abc"), JSON, 400, "invalid_base64"),
    ("not an image", body(image_base64=b64(b"hello world, not a picture")), JSON, 400,
     "invalid_image"),
    ("truncated jpeg", body(image_base64=b64(JPEG[: len(JPEG) // 3])), JSON, 400, "invalid_image"),
    ("truncated png", body(image_base64=b64(PNG[: len(PNG) // 2])), JSON, 400, "invalid_image"),
    ("zero size png", body(image_base64=b64(png_header_only(0, 0))), JSON, 400, "invalid_image"),
    ("gif", body(image_base64=b64(encoded(NOISE, "GIF"))), JSON, 400, "unsupported_image_format"),
    ("tiff", body(image_base64=b64(encoded(NOISE, "TIFF"))), JSON, 400,
     "unsupported_image_format"),
    ("decompression bomb", body(image_base64=b64(png_header_only(40_000, 40_000))), JSON, 413,
     "image_too_large"),
    ("oversized body", body(padding="x" * (3 * 1024 * 1024)), JSON, 413, "body_too_large"),
    ("deeply nested", b'{"image_base64": "a", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}", JSON, 400,
     "invalid_json"),
    ("text content type", body(), "text/plain", 415, "unsupported_media_type"),
    ("form content type", b"image_base64=abc", "application/x-www-form-urlencoded", 415,
     "unsupported_media_type"),
    ("no content type", body(), None, 415, "unsupported_media_type"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "data", "content_type", "status", "code"), CASES,
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_malformed_request_gets_a_named_4xx(replay_service, name, data, content_type, status, code):
    headers = {"Content-Type": content_type} if content_type else {}
    response = requests.post(replay_service.url + "/pose/hybrid", data=data, headers=headers,
                             timeout=30)  # fmt: skip
    assert response.status_code == status, (name, response.text[:300])
    answer = response.json()
    assert answer["code"] == code, (name, answer)
    assert isinstance(answer["error"], str) and len(answer["error"]) > 10
    assert GOOD[:40] not in answer["error"]  # errors never echo image data


def test_the_service_is_healthy_after_all_of_them(replay_service):
    for _, data, content_type, _, _ in CASES:
        requests.post(replay_service.url + "/pose/hybrid", data=data, timeout=30,
                      headers={"Content-Type": content_type or ""})  # fmt: skip
    assert requests.get(replay_service.url + "/health", timeout=5).json()["status"] == "ready"
    ok = requests.post(
        replay_service.url + "/pose/hybrid",
        timeout=30,
        json={"image_base64": GOOD, "frame_number": 3, "video_id": "after"},
    )
    assert ok.status_code == 200
    assert len(CASES) >= 30
    assert "data:image" not in replay_service.log_text()
    assert base64.b64encode(b"hello world")[:8].decode() not in replay_service.log_text()
