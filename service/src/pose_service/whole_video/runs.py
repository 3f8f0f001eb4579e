"""The two job bodies: our tracker over the estimator's frames, or PHALP's over the upload."""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..pipeline import PosePipeline
from ..tracking.offline import fill_video
from ..tracking.track import Track
from ..types import Frame
from . import phalp_tracker
from .jobs import Job
from .outcomes import WholeVideo, filled_track, frame_outcomes


def run_service_tracker(pipeline: PosePipeline, job: Job, frames: Iterable[Frame]) -> WholeVideo:
    """Estimate the frames in FIFO turns (``batch_limit`` frames per estimator pass), track
    the main person, fill and smooth."""
    track = Track(pipeline.settings.tracker_config())
    size = (0, 0)
    model_version = pipeline.estimator.name
    for chunk in _chunks(frames, pipeline.batch_limit):
        for frame, estimate in zip(chunk, pipeline.estimate_in_turn(chunk), strict=True):
            model_version = estimate.model_version
            track.step(frame.frame_number, estimate.people)
            size = (frame.width, frame.height)
            job.done = frame.frame_number + 1
    return filled_track(track, size, job.job_id, model_version)


def _chunks(frames: Iterable[Frame], size: int) -> Iterator[list[Frame]]:
    iterator = iter(frames)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def run_phalp(pipeline: PosePipeline, job: Job, path: str) -> WholeVideo:
    """PHALP's offline tracker on the upload (a child process; the file is deleted once it has
    run), its ghost frames and the frames before its track was confirmed filled by
    ours, SMPL joints from the loaded model in a FIFO turn with the streaming frames."""
    settings = pipeline.settings
    try:
        with tempfile.TemporaryDirectory(prefix="phalp-") as output_dir:
            results = phalp_tracker.run_phalp(
                Path(path), settings.fourd_humans_dir, Path(output_dir), settings.phalp_timeout_s
            )
    finally:
        os.unlink(path)
    frames = phalp_tracker.ordered_frames(results)
    track_id = phalp_tracker.main_track_id(frames)
    with pipeline.background_turn():
        observed = phalp_tracker.observations(frames, track_id, pipeline.estimator.smpl_joints)
    answers = fill_video(observed, settings.tracker_config())
    sizes = [(int(f["size"][0][1]), int(f["size"][0][0])) for f in frames if f.get("size")]
    job.done = len(answers)
    outcomes = frame_outcomes(
        list(range(len(answers))),
        answers,
        sizes[0] if sizes else (0, 0),
        job.job_id,
        f"PHALP + {pipeline.estimator.name}",
        "phalp",
    )
    return WholeVideo(outcomes, tracker="phalp", phalp_track_id=track_id)
