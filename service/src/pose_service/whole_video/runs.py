"""The job bodies: our tracker over the estimator's frames (optionally rendered into an
overlay video and per-frame images), or PHALP's over the upload."""

from __future__ import annotations

import itertools
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import closing
from pathlib import Path

import numpy as np

from ..config import Settings
from ..mesh_render import MeshRenderer
from ..model.host import ModelHost
from ..sessions.router import Session
from ..streaming.stepper import FrameStepper
from ..tracking.offline import fill_video
from ..tracking.track import Track
from ..types import Frame
from ..video_frames import read_frames, video_fps
from . import overlay, phalp_tracker
from .errors import BadVideo
from .jobs import Job
from .mesh_spill import SPILL_NAME, MeshSpill
from .outcomes import WholeVideo, filled_track, video_frames

DEFAULT_FPS = 30.0  # when the container does not say (the backend's clips)


def run_service_tracker(
    model: ModelHost,
    stepper: FrameStepper,
    settings: Settings,
    job: Job,
    frames: Iterable[Frame],
    meshes: MeshSpill | None = None,
) -> WholeVideo:
    """Step the frames through the streaming way (box hints, rescue, the track) in FIFO
    turns, ``batch_limit`` frames per estimator pass, then fill and smooth the track; the mesh
    of each detected frame goes to ``meshes``."""
    track = Track(settings.tracker_config())
    session = Session.of_track(job.job_id, True, (0, 0), track, 0.0)
    size = (0, 0)
    model_version = model.name
    for chunk in _chunks(frames, model.batch_limit):
        for frame, outcome in zip(chunk, stepper.step_video(session, chunk), strict=True):
            model_version, tracked = outcome.model_version, outcome.tracked
            if meshes is not None and tracked.source == "detected" and tracked.pose is not None:
                meshes.add(frame.frame_number, tracked.pose)
            size = (frame.width, frame.height)
            job.done = frame.frame_number + 1
    return filled_track(track, size, job.job_id, model_version)


def run_rendered(
    model: ModelHost,
    stepper: FrameStepper,
    settings: Settings,
    job: Job,
    path: str,
    count: int,
    total_frames: int,
    store: overlay.OutputStore,
) -> overlay.RenderedVideo:
    """The first ``count`` frames of the upload tracked as a whole video (our tracker), then
    drawn from a second read of the file into the job's output (``job.output``). With
    ``POSE_SERVICE_OVERLAY=mesh`` and an estimator with a mesh, each detected frame's mesh waits
    in the job's folder until its frame is drawn (``mesh_spill``)."""
    started = time.perf_counter()
    folder = store.folder(job.job_id)
    meshes = None
    if settings.overlay == "mesh" and model.faces is not None:
        meshes = overlay.JobMeshes(MeshRenderer(model.faces), MeshSpill(folder / SPILL_NAME))
    try:
        fps = video_fps(path) or DEFAULT_FPS
        with closing(_decoded(path, settings.max_image_pixels)) as decoded:
            first = itertools.islice(decoded, count)
            frames = (Frame(rgb, number) for number, rgb in enumerate(first))
            spill = None if meshes is None else meshes.spill
            video = run_service_tracker(model, stepper, settings, job, frames, spill)
        if job.done == 0:
            raise BadVideo("no frame of the upload could be decoded")
        with closing(_decoded(path, settings.max_image_pixels)) as decoded:
            again = itertools.islice(decoded, len(video.frames))
            output = overlay.render(
                again, video.frames, folder, job.job_id, fps, settings.overlay, meshes
            )
    finally:
        if meshes is not None:
            meshes.spill.remove()
    store.keep(output)
    job.output = output
    return overlay.RenderedVideo(video, output, total_frames, time.perf_counter() - started)


def _decoded(path: str, max_pixels: int) -> Iterator[np.ndarray]:
    """The upload's frames; one larger than the container said is :class:`BadVideo`."""
    try:
        yield from read_frames(path, None, max_pixels)
    except ValueError as exc:  # read_frames: a frame beyond max_pixels
        raise BadVideo(f"the upload's {exc} (POSE_SERVICE_MAX_IMAGE_PIXELS)") from exc


def _chunks(frames: Iterable[Frame], size: int) -> Iterator[list[Frame]]:
    iterator = iter(frames)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def run_phalp(model: ModelHost, settings: Settings, job: Job, path: str) -> WholeVideo:
    """PHALP's offline tracker on the upload (a child process), its ghost frames and the
    frames before its track was confirmed filled by ours, SMPL joints from the loaded model in
    a FIFO turn with the streaming frames."""
    with tempfile.TemporaryDirectory(prefix="phalp-") as output_dir:
        results = phalp_tracker.run_phalp(
            Path(path), settings.fourd_humans_dir, Path(output_dir), settings.phalp_timeout_s
        )
    frames = phalp_tracker.ordered_frames(results)
    track_id = phalp_tracker.main_track_id(frames)
    with model.background_turn():
        observed = phalp_tracker.observations(frames, track_id, model.smpl_joints)
    answers = fill_video(observed, settings.tracker_config())
    sizes = [(int(f["size"][0][1]), int(f["size"][0][0])) for f in frames if f.get("size")]
    job.done = len(answers)
    return WholeVideo(
        video_frames(range(len(answers)), answers),
        sizes[0] if sizes else (0, 0),
        job.job_id,
        "phalp",
        f"PHALP + {model.name}",
        tracker="phalp",
        phalp_track_id=track_id,
    )
