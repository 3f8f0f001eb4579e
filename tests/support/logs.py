"""Capture a module's structured log events in a test.

The package's loggers are cached on first use (``cache_logger_on_first_use``), which
``structlog.testing.capture_logs`` cannot see through; so the module's ``log`` is swapped for a
fresh logger inside the capture.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs


@contextmanager
def captured_logs(monkeypatch: pytest.MonkeyPatch, *modules: ModuleType) -> Iterator[list[Any]]:
    """The events the given modules log inside the ``with`` block (dicts with ``event``)."""
    with capture_logs() as logs:
        for module in modules:
            monkeypatch.setattr(module, "log", structlog.get_logger(module.__name__))
        yield logs
