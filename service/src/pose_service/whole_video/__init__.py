"""Whole videos: the application layer behind ``POST /pose/video``, ``GET /jobs/<id>`` and
``GET /sessions/<id>``.

- ``videos``: :class:`WholeVideos`, what the API calls (admit, submit, look up).
- ``inputs``: a job's frames from an upload or base64 images, checked before it is accepted.
- ``runs``: the job bodies (our tracker, or PHALP's on the GPU host); ``jobs``: their scheduler.
- ``durable``: a job's life on disk (``job_store``: the table in the state directory;
  ``uploads``: its input there, bounded), so jobs resume after a restart and no input outlives
  its job.
- ``outcomes``: a filled, smoothed track as per-frame outcomes; ``phalp_tracker``: 4D-Humans'
  ``track.py`` in a child process and its results read.

Nothing here knows about HTTP: ``api/`` maps the errors of ``errors`` to answers.
"""

from .outcomes import WholeVideo
from .videos import WholeVideos

__all__ = ["WholeVideo", "WholeVideos"]
