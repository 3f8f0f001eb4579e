"""A whole-video job's frames go the streaming way (``streaming.stepper``): rescue and box hints
included, in background turns with the model."""

from __future__ import annotations

import numpy as np
import pytest

from pose_service.config import Settings
from pose_service.pipeline import PosePipeline
from pose_service.types import Frame
from pose_service.whole_video.jobs import Job
from pose_service.whole_video.runs import run_service_tracker
from tests.streaming.test_hints import HintedWalkerEstimator
from tests.streaming.test_rescue import SecondLookWalker

RGB = np.zeros((360, 640, 3), dtype=np.uint8)
FRAMES = 30


def _job(estimator: HintedWalkerEstimator, **settings: object):
    pipeline = PosePipeline(Settings(session_persist=False, **settings), estimator)
    pipeline.load()
    job = Job("j-1", FRAMES)
    frames = (Frame(RGB, n) for n in range(FRAMES))
    video = run_service_tracker(pipeline.model, pipeline.stepper, pipeline.settings, job, frames)
    return video, job, pipeline


@pytest.mark.parametrize("rescue", [True, False])
def test_a_jobs_missed_frames_are_looked_at_again_where_the_track_predicts(rescue: bool):
    missed = set(range(10, 20))
    estimator = SecondLookWalker(missed)
    video, job, pipeline = _job(estimator, rescue=rescue)
    assert job.done == FRAMES and len(video.frames) == FRAMES
    assert estimator.searched == (sorted(missed) if rescue else [])
    assert pipeline.health_snapshot().rescue["rescued"] == (len(missed) if rescue else 0)
    sources = {f.frame_number: f.tracked.source for f in video.frames}
    # Rescued, the frames are observations of the whole video; missed, they are filled.
    assert {sources[n] for n in missed} == ({"detected"} if rescue else {"interpolated"})


def test_a_job_takes_box_hints_on_the_first_frame_of_each_pass():
    estimator = HintedWalkerEstimator(set())
    estimator.batches_frames = True
    _, job, pipeline = _job(estimator, detect_every_frames=5, batch_frames=4)
    assert job.done == FRAMES
    hinted = sorted(n for n, box in estimator.hints.items() if box is not None)
    # Frame 4 follows three detections: its pass skips the detector. A later frame of a pass
    # never gets a hint (the track has not stepped through the frame before it yet).
    assert 4 in hinted and all(n % 4 == 0 for n in hinted)
    assert not pipeline.router.live_sessions()  # the job's video is no streamed session
