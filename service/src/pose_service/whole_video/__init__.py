"""Whole videos: the application layer behind ``POST /pose/video``, ``GET /jobs/<id>`` and
``GET /sessions/<id>`` (and the old service's video routes).

- ``videos``: :class:`WholeVideoService`, what the API calls (admit, submit, look up).
- ``outcomes``: :class:`WholeVideo`, one video's frames (number and pose; a filled, smoothed
  track) and the facts their answers share: the result of a job or of a session's whole track,
  a domain value the API renders (no frame pixels).
- ``results``: :class:`~.results.JobResultEncoder`, how a job's domain value becomes the JSON
  its job keeps (the API's answer shapes, handed in by ``api.app``).
- ``inputs``: a job's frames from an upload or base64 images, checked before it is accepted.
- ``runs``: the job bodies (our tracker, or PHALP's on the GPU host); ``jobs``: their scheduler.
- ``durable``: a job's life on disk (``job_store``: the table in the state directory;
  ``uploads``: its input there, bounded), so jobs resume after a restart and no input outlives
  its job.
- ``overlay``: a rendered job's frames drawn (JPEGs and one overlay video, bounded on disk);
  ``mesh_spill``: its meshes kept on disk between tracking and drawing.
- ``phalp_tracker``: 4D-Humans' ``track.py`` in a child process and its results read.
- ``errors``: why a whole-video request is refused.

Nothing here knows about HTTP: ``api/`` maps the errors of ``errors`` to answers.
"""

from .outcomes import WholeVideo
from .videos import WholeVideoService

__all__ = ["WholeVideo", "WholeVideoService"]
