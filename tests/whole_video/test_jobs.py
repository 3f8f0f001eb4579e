"""The whole-video job runner: bounded, fixed workers, results kept for a set time."""

from __future__ import annotations

import threading
import time

import pytest

from pose_service.model.scheduling import FifoGate
from pose_service.whole_video.jobs import JobRunner, JobsFull


def blocking_work(release: threading.Event):
    def work(job, frames):
        release.wait(10)
        return {"frames": list(frames)}

    return work


def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_full_runner_refuses_and_never_drops_an_accepted_job():
    release = threading.Event()
    runner = JobRunner(max_jobs=3, workers=1, result_ttl_s=60, max_results=1)
    accepted = [runner.submit([i], 1, blocking_work(release)) for i in range(3)]
    with pytest.raises(JobsFull, match="3 jobs are queued or running"):
        runner.submit([9], 1, blocking_work(release))
    wait_for(lambda: accepted[0].status == "running")
    assert [runner.get(j.job_id).status for j in accepted] == ["running", "queued", "queued"]
    release.set()
    wait_for(lambda: runner.active() == 0)
    # max_results=1: only the newest finished result is kept, and only once every job is done
    kept = [j for j in accepted if runner.get(j.job_id) is not None]
    assert kept == [accepted[-1]] and kept[0].result == {"frames": [2]}


def test_jobs_run_on_a_fixed_number_of_threads():
    before = threading.active_count()
    runner = JobRunner(max_jobs=20, workers=2, result_ttl_s=60, max_results=20)
    after_start = threading.active_count()
    jobs = [runner.submit([i], 1, lambda job, frames: sum(frames)) for i in range(20)]
    wait_for(lambda: runner.active() == 0)
    assert after_start - before == 2 and threading.active_count() == after_start
    assert [j.result for j in jobs] == list(range(20))


def test_a_finished_result_is_kept_for_its_time_then_forgotten():
    runner = JobRunner(max_jobs=2, workers=1, result_ttl_s=0.2, max_results=10)
    job = runner.submit([1], 1, lambda job, frames: "done")
    wait_for(lambda: job.finished is not None)
    assert runner.get(job.job_id) is job
    time.sleep(0.3)
    assert runner.get(job.job_id) is None


def test_background_work_waits_for_room_instead_of_failing():
    """A job's turn when the queue is full: before, the job failed with QueueFull."""
    gate = FifoGate(capacity=0, timeout_s=0.05)
    got_turn = threading.Event()
    holder = gate.turn()
    holder.__enter__()  # streaming traffic holds the model; no room to queue

    def job() -> None:
        with gate.patient_turn(retry_s=0.02):
            got_turn.set()

    thread = threading.Thread(target=job)
    thread.start()
    time.sleep(0.2)
    assert not got_turn.is_set() and gate.refused > 0  # refused, retried, still waiting
    holder.__exit__(None, None, None)
    thread.join(5)
    assert got_turn.is_set()


def test_a_failed_job_keeps_what_failed_but_not_its_frames():
    """Its exception is kept (a request waiting for the job re-raises a bad upload's), without
    the tracebacks that would keep the job's locals, a video's pixels, alive."""
    runner = JobRunner(max_jobs=1, workers=1, result_ttl_s=60, max_results=1)

    def failing(job, frames):
        pixels = bytearray(10**6)  # noqa: F841 - a local the traceback would keep
        try:
            raise KeyError("inner")
        except KeyError as exc:
            raise ValueError("bad upload") from exc

    job = runner.submit([], 1, failing)
    assert job.wait(5)
    assert job.status == "failed" and job.error == "ValueError: bad upload"
    assert isinstance(job.exception, ValueError) and job.exception.__traceback__ is None
    assert job.exception.__cause__.__traceback__ is None


class Recorded:
    """JobEvents that remember what they were told."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.status_when_ended: list[tuple[str, str]] = []  # (what clients saw, what was told)

    def ended(self, job, status: str, error: str | None) -> None:
        self.seen.append(("ended", job.job_id))
        self.status_when_ended.append((job.status, status))

    def __getattr__(self, event: str):
        return lambda job: self.seen.append((event, job.job_id))


def test_after_a_graceful_stop_a_job_cut_short_is_interrupted_not_failed(monkeypatch):
    from pose_service.whole_video import jobs
    from tests.support.logs import captured_logs

    release = threading.Event()
    events = Recorded()
    runner = JobRunner(max_jobs=3, workers=1, result_ttl_s=60, max_results=4, events=events)

    def cut_short(job, frames):
        release.wait(10)
        raise RuntimeError("the model's gate is closed")

    with captured_logs(monkeypatch, jobs) as logged:
        running = runner.submit([], 1, cut_short)
        waiting = runner.submit([], 1, cut_short)
        wait_for(lambda: running.status == "running")
        runner.stop()
        release.set()
        time.sleep(0.2)
    assert running.status == "running" and running.error is None  # not failed
    assert waiting.status == "queued" and not waiting.wait(0)  # never started
    assert [(e, j) for e, j in events.seen if e != "queued"] == [
        ("started", running.job_id), ("interrupted", running.job_id),
        ("interrupted", waiting.job_id)]  # fmt: skip
    interrupted = [e for e in logged if e["event"] == "job_interrupted"]
    assert [e["job"] for e in interrupted] == [running.job_id, waiting.job_id]
    assert not [e for e in logged if e["event"] == "job_failed"]


def test_a_job_ends_once_its_end_is_told_and_its_result_expiry_too():
    events = Recorded()
    runner = JobRunner(max_jobs=2, workers=1, result_ttl_s=0.1, max_results=4, events=events)
    job = runner.submit([1], 1, lambda job, frames: "done")
    assert job.wait(5) and ("ended", job.job_id) in events.seen
    # told while clients still saw it running: one seen done has already released its input
    assert events.status_when_ended == [("running", "done")] and job.status == "done"
    assert job.job_id.startswith("j-") and len(job.job_id) == 18
    time.sleep(0.2)
    assert runner.get(job.job_id) is None and ("forgotten", job.job_id) in events.seen
