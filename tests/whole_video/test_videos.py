"""WholeVideoService without HTTP: what it refuses, in which order, what a finished job holds."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from pose_service.config import Settings
from pose_service.imaging import ImageError
from pose_service.pipeline import PosePipeline
from pose_service.whole_video import WholeVideo, WholeVideoService, errors
from pose_service.whole_video.results import JobResultEncoder
from tests.support.frames import b64, png_bytes


def _videos(replay_path: Path, load: bool = True, **settings: object) -> WholeVideoService:
    pipeline = PosePipeline(Settings(estimator="replay", replay_path=str(replay_path), **settings))
    if load:
        pipeline.load()
    return WholeVideoService(
        pipeline.settings,
        pipeline.model,
        pipeline.stepper,
        pipeline.live_session,
        JobResultEncoder(video=lambda video: video, rendered=lambda rendered: rendered),
    )  # the result as it is


def test_refusals_come_in_order_before_anything_is_read(replay_path):
    with pytest.raises(errors.NotReadyForJobs):
        _videos(replay_path, load=False).admit("no-such-tracker")  # not ready comes first
    videos = _videos(replay_path)
    with pytest.raises(errors.UnknownTracker, match='"tracker" must be one of'):
        videos.admit("deepsort")
    with pytest.raises(errors.PhalpUnavailable, match="needs the hmr2 estimator"):
        videos.admit("phalp")
    assert videos.trackers() == ("service",)
    with pytest.raises(errors.UnknownJob):
        videos.job("j-nope")
    with pytest.raises(errors.UnknownSession):
        videos.session("nope")


def test_a_job_of_images_holds_every_frame_rendered(replay_path):
    videos = _videos(replay_path)
    image = b64(png_bytes(64, 36))
    job = videos.submit_images([image] * 5)
    deadline = time.monotonic() + 30
    while videos.job(job.job_id).status in {"queued", "running"}:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert job.status == "done", job.error
    assert isinstance(job.result, WholeVideo) and len(job.result.frames) == 5
    assert [f.frame_number for f in job.result.frames] == list(range(5))


def test_bad_inputs_are_refused_and_an_upload_is_never_left_on_disk(replay_path, tmp_path):
    videos = _videos(replay_path, max_job_pixels=100, state_dir=str(tmp_path))
    with pytest.raises(ImageError, match="^frame 1: "):
        videos.submit_images([b64(png_bytes(4, 4)), "not base64!"])
    with pytest.raises(errors.JobTooLarge, match="POSE_SERVICE_MAX_JOB_PIXELS"):
        videos.submit_images([b64(png_bytes(8, 8)), b64(png_bytes(8, 8))])
    with pytest.raises(errors.BadVideo):
        videos.submit_upload(lambda out: out.write(b"not a video"), "clip.mp4")
    assert list((tmp_path / "uploads").iterdir()) == []  # written there, removed again
    assert videos.uploads_state()["used_bytes"] == 0


def test_an_upload_longer_than_the_track_records_is_refused_and_removed(replay_path, tmp_path):
    """The runner clip's 180 frames against a 100-frame record: refused naming the limit (was:
    done, "180 of 180", with 100 frames), and the upload is not left behind."""
    from tests.support.frames import RUNNER_CLIP

    videos = _videos(replay_path, track_record_max_frames=100, state_dir=str(tmp_path))
    with pytest.raises(errors.JobTooLarge, match="180 frames.*at most 100"):
        videos.submit_upload(lambda out: out.write(RUNNER_CLIP.read_bytes()), "runner.mp4")
    assert list((tmp_path / "uploads").iterdir()) == []


def test_a_session_answers_every_stretch_of_its_video_in_time_order():
    """A cut in the picture splits the stream into two tracks; the whole-video answer has both."""
    from pose_service.tracking.segments import Segments
    from pose_service.tracking.track import TrackerConfig
    from pose_service.whole_video.outcomes import filled_tracks
    from tests.tracking.test_track import person

    segments = Segments(TrackerConfig())
    for t in range(60):
        picture = np.full((9, 16), 40.0 if t < 30 else 140.0, np.float32)
        track, _ = segments.place(t, picture)
        track.step(t, [person(t)] if t % 3 else [])
    assert len(segments.segments) == 2
    video = filled_tracks(segments.tracks(), (640, 360), "s", "lite")
    assert [f.frame_number for f in video.frames] == list(range(60))
