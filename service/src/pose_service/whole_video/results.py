"""How a finished job's result is kept: its domain value, encoded once in the job's worker.

A job's run gives a domain value (:class:`~.outcomes.WholeVideo`, or a rendered job's
:class:`~.overlay.RenderedVideo`). The job store (``durable``, ``job_store``) keeps JSON, so
that a finished job answers the same after a restart; the encoding is the answer's shape, which
the API owns. So the application declares the encoder it needs here and the API hands one in
(``api.app``): whole_video never imports the API, and a result is encoded once, not per poll.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .outcomes import WholeVideo
from .overlay import RenderedVideo


@dataclass(frozen=True)
class JobResultEncoder:
    """A job's domain value as the JSON-able result the job store keeps and ``GET /jobs/<id>``
    (``/job_status/<id>``) answers: ``video`` for a tracked video (jobs of ``POST /pose/video``),
    ``rendered`` for one also drawn (the legacy ``/process_video`` routes)."""

    video: Callable[[WholeVideo], Any]
    rendered: Callable[[RenderedVideo], Any]
