"""Jobs across a restart without HTTP: two WholeVideoService instances on one state directory,
the first stopped (gracefully, or dropped as a SIGKILL would) in the middle of a job."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from pose_service.config import Settings
from pose_service.pipeline import PosePipeline
from pose_service.whole_video import WholeVideoService
from pose_service.whole_video.job_store import JobRecord, JobStore
from pose_service.whole_video.results import JobResultEncoder
from tests.support.frames import b64, png_bytes

FRAMES = 6
# A job's result as a count of its frames: JSON the job store keeps.
COUNT_FRAMES = JobResultEncoder(
    video=lambda video: {"frames": len(video.frames)}, rendered=lambda rendered: None
)


def _videos(replay_path: Path, state: Path, **settings: object) -> WholeVideoService:
    pipeline = PosePipeline(Settings(estimator="replay", replay_path=str(replay_path),
                                     state_dir=str(state), **settings))  # fmt: skip
    videos = WholeVideoService(
        pipeline.settings,
        pipeline.model,
        pipeline.stepper,
        pipeline.live_session,
        COUNT_FRAMES,
    )
    videos.pipeline = pipeline  # type: ignore[attr-defined]  # the test's handle, as the app's
    pipeline.load()  # resumes the jobs once loaded
    return videos


def _settled(videos: WholeVideoService, job_id: str, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    while (job := videos.job(job_id)).status in ("queued", "running"):
        assert time.monotonic() < deadline, job.describe()
        time.sleep(0.02)
    return job


def test_a_job_stopped_gracefully_resumes_on_the_next_start_with_every_frame(
    replay_path, tmp_path, monkeypatch
):
    first = _videos(replay_path, tmp_path)
    hold = threading.Event()
    step = first.stepper.step_video

    def slow(session, frames):  # the first frame in, then the stop
        hold.wait(10)
        return step(session, frames)

    monkeypatch.setattr(first.stepper, "step_video", slow)
    job = first.submit_images([b64(png_bytes(64, 36))] * FRAMES)
    assert len(list((tmp_path / "uploads").iterdir())) == 1
    first.pipeline.shutdown()  # what gunicorn's worker_exit calls
    hold.set()
    time.sleep(0.2)
    assert job.status != "failed" and len(list((tmp_path / "uploads").iterdir())) == 1

    second = _videos(replay_path, tmp_path)
    resumed = _settled(second, job.job_id)
    assert resumed.status == "done" and resumed.result == {"frames": FRAMES}
    assert list((tmp_path / "uploads").iterdir()) == []


def test_at_start_a_job_without_its_input_fails_saying_why_and_orphans_go(replay_path, tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "orphan.mp4").write_bytes(b"left by a crash before its job was recorded")
    store = JobStore(tmp_path / "jobs.sqlite3")
    store.add(JobRecord("j-lost", "video", str(uploads / "gone.mp4"), total=10))
    store.add(JobRecord("j-done", "images", None, total=3))
    store.finished("j-done", "done", None, {"frame_count": 3}, when=time.time())
    store.close()

    videos = _videos(replay_path, tmp_path)
    lost = videos.job("j-lost")  # never unknown while the store has it
    assert lost.status == "failed" and "its input is gone" in lost.error
    done = videos.job("j-done")
    assert done.status == "done" and done.result == {"frame_count": 3}
    assert list(uploads.iterdir()) == []


def test_a_job_that_keeps_being_cut_short_fails_after_its_starts(replay_path, tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    images = uploads / "frames.frames"
    images.write_bytes(b"")
    store = JobStore(tmp_path / "jobs.sqlite3")
    store.add(JobRecord("j-crashy", "images", str(images), total=0, starts=2))
    store.close()
    job = _settled(_videos(replay_path, tmp_path, job_max_starts=2), "j-crashy")
    assert job.status == "failed" and "POSE_SERVICE_JOB_MAX_STARTS=2" in job.error
    assert list(uploads.iterdir()) == []


def test_job_ids_differ_across_restarts(replay_path, tmp_path):
    image = [b64(png_bytes(64, 36))]
    ids = set()
    for _ in range(2):
        videos = _videos(replay_path, tmp_path)
        ids |= {_settled(videos, videos.submit_images(image).job_id).job_id for _ in range(3)}
        videos.pipeline.shutdown()
    assert len(ids) == 6


def test_while_the_model_loads_a_held_job_answers_queued_and_its_input_counts(
    replay_path, tmp_path
):
    """Before the model is ready (hmr2 loads for ~50 s) a job the store has is queued, not a
    404, and /health counts its input; once ready it runs and takes the model's turn."""
    first = _videos(replay_path, tmp_path)
    hold = threading.Event()
    step = first.stepper.step_video
    first.stepper.step_video = lambda session, frames: (hold.wait(10), step(session, frames))[1]
    job = first.submit_images([b64(png_bytes(64, 36))] * FRAMES)
    first.pipeline.shutdown()
    hold.set()
    size = next((tmp_path / "uploads").iterdir()).stat().st_size

    pipeline = PosePipeline(Settings(estimator="replay", replay_path=str(replay_path),
                                     state_dir=str(tmp_path)))  # fmt: skip
    second = WholeVideoService(
        pipeline.settings,
        pipeline.model,
        pipeline.stepper,
        pipeline.live_session,
        COUNT_FRAMES,
    )
    held = second.job(job.job_id)
    assert pipeline.status != "ready" and held.status == "queued"
    assert second.uploads_state()["used_bytes"] == size and second.uploads_state()["files"] == 1
    pipeline.load()
    resumed = _settled(second, job.job_id)
    assert resumed.status == "done" and resumed.result == {"frames": FRAMES}
    assert second.uploads_state()["used_bytes"] == 0
