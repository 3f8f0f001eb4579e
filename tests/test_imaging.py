"""Decoding the backend's base64 frames, and refusing bad ones before they cost anything."""

from __future__ import annotations

import base64
import io
import zlib

import numpy as np
import pytest
from PIL import Image

from pose_service.imaging import ImageError, decode_base64_image, decode_image
from tests.support.frames import png_bytes


def test_png_and_jpeg_decode_to_rgb():
    png = decode_image(png_bytes(8, 4, (10, 20, 30)), 10_000)
    assert png.shape == (4, 8, 3) and png.dtype == np.uint8 and tuple(png[0, 0]) == (10, 20, 30)
    buffer = io.BytesIO()
    Image.new("L", (6, 3), 77).save(buffer, format="JPEG")
    assert decode_image(buffer.getvalue(), 10_000).shape == (3, 6, 3)


def test_data_url_prefix_is_accepted_and_non_images_refused():
    raw = png_bytes()
    text = base64.b64encode(raw).decode()
    assert decode_base64_image("data:image/png;base64," + text) == raw
    with pytest.raises(ImageError) as err:
        decode_base64_image("data:text/plain;base64," + text)
    assert err.value.code == "unsupported_media_type"


@pytest.mark.parametrize("text", ["", "   ", "abc", "a$b=", "====", "YWJj\x00"])
def test_bad_base64_is_refused(text):
    with pytest.raises(ImageError) as err:
        decode_base64_image(text)
    assert err.value.code in {"invalid_base64", "empty_image"} and err.value.status == 400


def test_truncated_image_is_refused():
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
                    ).save(buffer, format="JPEG")  # fmt: skip
    with pytest.raises(ImageError) as err:
        decode_image(buffer.getvalue()[:300], 10_000)
    assert err.value.code == "invalid_image"


def test_a_decompression_bomb_is_refused_from_its_header():
    # A 40 000 x 40 000 PNG header with almost no data: refused before any pixel is decoded.
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = (40_000).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")
    with pytest.raises(ImageError) as err:
        decode_image(bomb, 36_000_000)
    assert err.value.code == "image_too_large" and err.value.status == 413


def _pillow_pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _photo(width: int = 96, height: int = 64) -> np.ndarray:
    """Smooth gradients plus noise: exercises chroma upsampling and the IDCT."""
    y, x = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(3)
    base = np.stack([x * 255 // width, y * 255 // height, (x + y) % 256], axis=2)
    return np.clip(base + rng.integers(-20, 20, base.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    "options",
    [
        {"format": "JPEG", "quality": 90},
        {"format": "JPEG", "quality": 75, "subsampling": 0},
        {"format": "JPEG", "quality": 85, "progressive": True},
        {"format": "PNG"},
    ],
)
def test_fast_decode_gives_exactly_pillows_pixels(options):
    buffer = io.BytesIO()
    Image.fromarray(_photo()).save(buffer, **options)
    data = buffer.getvalue()
    decoded = decode_image(data, 10_000_000)
    assert decoded.dtype == np.uint8 and decoded.shape == (64, 96, 3)
    np.testing.assert_array_equal(decoded, _pillow_pixels(data))


def test_exif_orientation_is_not_applied():
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW" tag: the service uses the stored pixels, like Pillow
    Image.fromarray(_photo(80, 40)).save(buffer, format="JPEG", exif=exif)
    decoded = decode_image(buffer.getvalue(), 10_000_000)
    assert decoded.shape == (40, 80, 3)
    np.testing.assert_array_equal(decoded, _pillow_pixels(buffer.getvalue()))


def test_truncated_jpeg_is_refused_on_the_fast_path_too():
    buffer = io.BytesIO()
    Image.fromarray(_photo(320, 240)).save(buffer, format="JPEG")
    with pytest.raises(ImageError) as err:
        decode_image(buffer.getvalue()[:-200], 10_000_000)
    assert err.value.code == "invalid_image"


def test_jpeg_goes_through_libjpeg_turbo_and_fast_mode_stays_close(monkeypatch):
    import simplejpeg

    calls = []
    real = simplejpeg.decode_jpeg
    monkeypatch.setattr(simplejpeg, "decode_jpeg", lambda *a, **k: calls.append(k) or real(*a, **k))
    buffer = io.BytesIO()
    Image.fromarray(_photo(320, 240)).save(buffer, format="JPEG", quality=90)
    data = buffer.getvalue()
    exact = decode_image(data, 10_000_000)
    fast = decode_image(data, 10_000_000, fast_jpeg=True)
    assert [c["fastdct"] for c in calls] == [False, True]
    np.testing.assert_array_equal(exact, _pillow_pixels(data))
    difference = np.abs(fast.astype(int) - exact.astype(int))
    assert fast.shape == exact.shape and 0 < difference.mean() < 2.0


BASE64_CASES = [
    "YWJjZA==", "YWJj", "YQ==", "YR==", "", "YWJjZA", "YWJjZA=", "YWJjZA===", "YW Jj",
    "YW\nJj", "ab$c", "ab=c", "=YWJj", "YWJjZA==YQ==", "YWJjZA==\n", "YWJjé",
]  # fmt: skip


@pytest.mark.parametrize("text", BASE64_CASES)
def test_base64_follows_the_standard_librarys_strict_rules(text):
    """pybase64 (the fast decoder) accepts and refuses exactly what ``binascii`` does."""
    import base64

    from pose_service.imaging import _strict_b64decode

    try:
        expected = base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error is a ValueError, as is a non-ASCII str
        expected = None
    if expected is None:
        with pytest.raises(ValueError):
            _strict_b64decode(text)
    else:
        assert _strict_b64decode(text) == expected


def test_bad_base64_is_named_as_such():
    assert decode_base64_image("YWJjZA==") == b"abcd"
    for bad in ("YWJjZA", "YWJjZA=", "YW Jj", "YW\nJj", "ab$c", "ab=c", "YWJjé"):
        with pytest.raises(ImageError) as err:
            decode_base64_image(bad)
        assert err.value.code == "invalid_base64", bad
