"""Structured logs (one JSON object per line on stdout, for journald) and memory figures.

Logs carry numbers and names only: never image data.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import sys
import threading
from typing import Any

import psutil
import structlog

_configured = False


def configure_logging(level: str = "info", fmt: str = "json") -> None:
    """Route structlog and stdlib logging (gunicorn's too) to stdout as JSON lines."""
    global _configured
    level_no = logging.getLevelName(level.upper())
    if not isinstance(level_no, int):
        level_no = logging.INFO
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(sort_keys=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(level_no),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(real_stdout())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level_no)
    for name in ("gunicorn.error", "gunicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    _configured = True


# Native libraries (MediaPipe's absl/glog, TFLite) write straight to file descriptor 2:
# "W0000 00:00:1795586363.56 18477 file.cc:114] message", "INFO: Created TensorFlow Lite ...".
_GLOG_LINE = re.compile(r"^([IWEF])\d{4} [\d:.]+\s+\d+ ([^\]]+)\] ?(.*)$")
_PREFIXED_LINE = re.compile(r"^(INFO|WARNING|ERROR|FATAL): ?(.*)$")
_GLOG_LEVELS = {"I": "info", "W": "warning", "E": "error", "F": "critical"}


def parse_native_line(line: str) -> tuple[str, dict[str, str]]:
    """The log level and fields of one line a native library wrote to stderr."""
    glog = _GLOG_LINE.match(line)
    if glog:
        return _GLOG_LEVELS[glog.group(1)], {"source": glog.group(2), "message": glog.group(3)}
    prefixed = _PREFIXED_LINE.match(line)
    if prefixed:
        level = prefixed.group(1).lower().replace("fatal", "critical")
        return level, {"message": prefixed.group(2)}
    return "warning", {"message": line}  # Python tracebacks and anything else unexpected


def capture_stderr_as_json() -> None:
    """Make everything written to stderr (fd 2) a JSON log event, one per line.

    Native code bypasses Python logging, so its lines would break journald's one-JSON-object-
    per-line stream. fd 2 becomes a pipe; a daemon thread reads it and logs each line as a
    ``native_log`` event at the level the line's prefix says. Call once per process (the
    gunicorn worker, after fork); a no-op unless logs are JSON.
    """
    read_fd, write_fd = os.pipe()
    sys.stderr.flush()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    log = get_logger("native")

    def pump() -> None:
        with os.fdopen(read_fd, "r", encoding="utf-8", errors="replace") as lines:
            for raw in lines:
                line = raw.rstrip("\n")
                if not line.strip():
                    continue
                level, fields = parse_native_line(line)
                with contextlib.suppress(Exception):  # a log line must never stop the pump
                    getattr(log, level)("native_log", **fields)

    threading.Thread(target=pump, name="stderr-to-json", daemon=True).start()


class _PrintsToLog(io.TextIOBase):
    """A ``sys.stdout`` whose every line becomes a ``library_output`` event.

    A line written while this thread is already logging one (a handler that writes to
    ``sys.stdout``) goes to the real stdout instead, so logging can never loop back here.
    """

    def __init__(self, log: Any, real: Any) -> None:
        self._log = log
        self.real = real
        self._partial = ""
        self._lock = threading.Lock()
        self._emitting = threading.local()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if getattr(self._emitting, "active", False):
            return self.real.write(text)
        with self._lock:
            lines = (self._partial + text).split("\n")
            self._partial = lines.pop()
        self._emitting.active = True
        try:
            for line in lines:
                if line.strip():
                    with contextlib.suppress(Exception):
                        self._log.info("library_output", message=line)
        finally:
            self._emitting.active = False
        return len(text)

    def flush(self) -> None:
        self.real.flush()


def real_stdout() -> Any:
    """The process's stdout stream, even after :func:`capture_prints_as_json` replaced it."""
    return sys.stdout.real if isinstance(sys.stdout, _PrintsToLog) else sys.stdout


def capture_prints_as_json() -> None:
    """Make Python-level prints to stdout JSON events (``library_output``), one per line.

    Libraries print to stdout: smplx prints "WARNING: You are using a SMPL model, with only 10
    shape coefficients." whenever it builds an SMPL layer. Our own log handler keeps the real
    stdout (it took the stream object when logging was configured), so only stray prints are
    caught. Call after :func:`configure_logging`, once per process; a no-op unless logs are JSON.
    """
    if not isinstance(sys.stdout, _PrintsToLog):
        sys.stdout = _PrintsToLog(get_logger("library"), sys.stdout)


def get_logger(name: str = "pose_service") -> Any:
    """A structlog logger (configures defaults on first use)."""
    if not _configured:
        configure_logging()
    return structlog.get_logger(name)


def cuda_memory_bytes() -> dict[str, int] | None:
    """GPU memory torch's allocator holds in this process (``allocated``: tensors, ``reserved``:
    its cache), or None where torch is not imported or sees no CUDA device."""
    torch = sys.modules.get("torch")  # never import torch just to report on it
    if torch is None:
        return None
    try:
        if not torch.cuda.is_available():
            return None
        return {
            "allocated": int(torch.cuda.memory_allocated()),
            "reserved": int(torch.cuda.memory_reserved()),
        }
    except Exception:  # noqa: BLE001 - diagnostics must never fail a frame
        return None


def memory_report() -> dict[str, float]:
    """Process RSS and, when torch with CUDA is loaded, GPU memory (MiB)."""
    report = {"rss_mib": round(psutil.Process(os.getpid()).memory_info().rss / 2**20, 1)}
    cuda = cuda_memory_bytes()
    if cuda is not None:
        report["cuda_allocated_mib"] = round(cuda["allocated"] / 2**20, 1)
        report["cuda_reserved_mib"] = round(cuda["reserved"] / 2**20, 1)
        try:
            free, total = sys.modules["torch"].cuda.mem_get_info()
            report["cuda_free_mib"] = round(free / 2**20, 1)
            report["cuda_total_mib"] = round(total / 2**20, 1)
        except Exception:  # noqa: BLE001 - diagnostics must never fail a frame
            pass
    report["cpu_percent"] = psutil.cpu_percent(interval=None)
    return report
