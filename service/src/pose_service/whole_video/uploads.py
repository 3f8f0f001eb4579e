"""Where a job's input waits on disk: ``STATE_DIR/uploads``, bounded in bytes.

A job's input (an uploaded video, or the images of a ``{"frames": [...]}`` body) is written
here before the job is accepted, so it survives a restart with the job that needs it, and is
removed when the job ends or fails (``videos``), or at the next start when no active job
claims it (:meth:`UploadSpace.keep_only`). The space is bounded: a write that could pass
``max_bytes`` (counted from what the request says it carries, before a byte is written) is
refused, :class:`UploadTooLarge` when it could never fit, :class:`UploadsFull` when it fits
once other jobs end.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from ..observability import get_logger

log = get_logger("pose_service.uploads")
UPLOADS_DIR = "uploads"  # under STATE_DIR
LIMIT = "POSE_SERVICE_UPLOAD_MAX_BYTES"
LENGTH_BYTES = 4  # each image of an images file is prefixed by its length (big-endian)


class UploadsFull(RuntimeError):
    """The inputs of the jobs waiting or running fill the space: try again once some end."""


class UploadTooLarge(ValueError):
    """The input alone is larger than the whole space."""


class UploadsUnavailable(RuntimeError):
    """The uploads directory cannot be written (the message says why)."""


class UploadSpace:
    """The inputs kept for jobs, their bytes counted against ``max_bytes``."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._sizes: dict[str, int] = {}  # path -> bytes, every input kept
        self._reserved = 0  # bytes of writes under way
        self._lock = threading.Lock()

    def write(self, save: Callable[[BinaryIO], None], suffix: str, at_most: int) -> str:
        """Write an input (``save`` writes it into the open file) of at most ``at_most``
        bytes, once the space has room for that many; the file's path."""
        self._reserve(at_most)
        path = None
        try:
            try:
                self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
                handle, path = tempfile.mkstemp(suffix=suffix, dir=self.root)
            except OSError as exc:
                raise UploadsUnavailable(
                    f"the uploads directory {self.root} cannot be written: {exc}"
                ) from exc
            with os.fdopen(handle, "wb") as out:
                save(out)
            size = os.path.getsize(path)
        except BaseException:
            with self._lock:
                self._reserved -= at_most
            if path is not None:
                _unlink(path)
            raise
        with self._lock:
            self._reserved -= at_most
            self._sizes[path] = size
        return path

    def _reserve(self, nbytes: int) -> None:
        with self._lock:
            if nbytes > self.max_bytes:
                raise UploadTooLarge(
                    f"the input ({nbytes} bytes) is larger than the space for job inputs "
                    f"({self.max_bytes} bytes, {LIMIT})"
                )
            used = sum(self._sizes.values()) + self._reserved
            if used + nbytes > self.max_bytes:
                raise UploadsFull(
                    f"the inputs of the jobs waiting or running take {used} of {self.max_bytes} "
                    f"bytes ({LIMIT}); this one ({nbytes} bytes at most) fits once some end"
                )
            self._reserved += nbytes

    def remove(self, path: str | None) -> None:
        """Delete an input whose job ended (nothing if it is gone already)."""
        if path is None:
            return
        with self._lock:
            self._sizes.pop(path, None)
        _unlink(path)

    def keep_only(self, claimed: Iterable[str]) -> list[str]:
        """At start: count the inputs active jobs claim, delete every other file (an earlier
        process's orphans); the paths deleted."""
        claimed = {str(Path(p)) for p in claimed}
        removed = []
        with self._lock:
            for entry in _entries(self.root):
                if str(entry) in claimed:
                    self._sizes[str(entry)] = entry.stat().st_size
                else:
                    _unlink(str(entry))
                    removed.append(str(entry))
        if removed:
            log.info("orphan_uploads_removed", count=len(removed), files=removed)
        return removed

    def describe(self) -> dict[str, object]:
        """What ``/health`` reports: the directory, bytes used and the bound, files kept."""
        with self._lock:
            return {
                "path": str(self.root),
                "used_bytes": sum(self._sizes.values()) + self._reserved,
                "max_bytes": self.max_bytes,
                "files": len(self._sizes),
            }


def _entries(root: Path) -> list[Path]:
    try:
        return [entry for entry in root.iterdir() if entry.is_file() or entry.is_symlink()]
    except FileNotFoundError:
        return []


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.error("upload_not_removed", path=path, error=f"{type(exc).__name__}: {exc}")


def write_images(encoded: list[bytes]) -> Callable[[BinaryIO], None]:
    """A ``save`` for :meth:`UploadSpace.write` writing images, each prefixed by its length."""

    def save(out: BinaryIO) -> None:
        for data in encoded:
            out.write(len(data).to_bytes(LENGTH_BYTES, "big"))
            out.write(data)

    return save


def images_bytes(encoded: list[bytes]) -> int:
    """The size :func:`write_images` writes."""
    return sum(LENGTH_BYTES + len(data) for data in encoded)


def read_images(path: str) -> Iterator[bytes]:
    """The images of a file :func:`write_images` wrote, one at a time."""
    with open(path, "rb") as source:
        while head := source.read(LENGTH_BYTES):
            length = int.from_bytes(head, "big")
            data = source.read(length)
            if len(head) < LENGTH_BYTES or len(data) < length:
                raise ValueError(f"the job's images file {path} is cut short")
            yield data
