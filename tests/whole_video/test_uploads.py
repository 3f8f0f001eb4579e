"""The space for job inputs: bounded before a byte is written, every file accounted for."""

from __future__ import annotations

import pytest

from pose_service.whole_video.uploads import (
    UploadsFull,
    UploadSpace,
    UploadTooLarge,
    images_bytes,
    read_images,
    write_images,
)


def _bytes(n: int):
    return lambda out: out.write(b"x" * n)


def test_inputs_are_counted_and_one_that_could_pass_the_bound_is_refused_naming_it(tmp_path):
    space = UploadSpace(tmp_path / "uploads", max_bytes=100)
    first = space.write(_bytes(60), ".mp4", at_most=60)
    assert first.endswith(".mp4") and space.describe()["used_bytes"] == 60
    with pytest.raises(UploadsFull, match=r"60 of 100 bytes \(POSE_SERVICE_UPLOAD_MAX_BYTES\)"):
        space.write(_bytes(10), ".mp4", at_most=50)  # counted from what it may carry
    with pytest.raises(UploadTooLarge, match="POSE_SERVICE_UPLOAD_MAX_BYTES"):
        space.write(_bytes(10), ".mp4", at_most=101)
    assert len(list((tmp_path / "uploads").iterdir())) == 1  # nothing written for a refusal
    space.remove(first)
    assert space.describe() == {"path": str(tmp_path / "uploads"), "used_bytes": 0,
                                "max_bytes": 100, "files": 0}  # fmt: skip
    assert list((tmp_path / "uploads").iterdir()) == []
    space.write(_bytes(90), "", at_most=100)  # room again


def test_a_write_that_fails_leaves_no_file_and_no_reservation(tmp_path):
    space = UploadSpace(tmp_path, max_bytes=100)

    def broken(out):
        out.write(b"half")
        raise OSError("client went away")

    with pytest.raises(OSError, match="client went away"):
        space.write(broken, ".mp4", at_most=100)
    assert list(tmp_path.iterdir()) == [] and space.describe()["used_bytes"] == 0


def test_at_start_only_the_claimed_inputs_are_kept_and_counted(tmp_path):
    kept, orphan = tmp_path / "kept.mp4", tmp_path / "orphan.mp4"
    kept.write_bytes(b"k" * 7)
    orphan.write_bytes(b"o" * 5)
    space = UploadSpace(tmp_path, max_bytes=100)
    assert space.keep_only([str(kept)]) == [str(orphan)]
    assert list(tmp_path.iterdir()) == [kept]
    assert space.describe()["used_bytes"] == 7 and space.describe()["files"] == 1


def test_images_are_written_and_read_back_one_at_a_time(tmp_path):
    images = [b"\x89PNG first", b"", b"third" * 100]
    space = UploadSpace(tmp_path, max_bytes=10_000)
    path = space.write(write_images(images), ".frames", images_bytes(images))
    assert space.describe()["used_bytes"] == images_bytes(images)
    assert list(read_images(path)) == images
    with open(path, "r+b") as cut:
        cut.truncate(images_bytes(images) - 1)
    with pytest.raises(ValueError, match="cut short"):
        list(read_images(path))
