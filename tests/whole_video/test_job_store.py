"""The job table: what an accepted job needs to run again, and finished results, on disk."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from pose_service.whole_video.job_store import JobRecord, JobStore, open_job_store


def test_a_job_is_on_disk_from_acceptance_to_its_end(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite3")
    store.add(JobRecord("j-1", "rendered", "/in/a.mp4", {"count": 5, "total": 9}, total=5))
    assert store.started("j-1") == 1
    store.requeued("j-1")  # a graceful stop
    store.close()

    again = JobStore(tmp_path / "jobs.sqlite3")  # a restart
    [record] = again.load(result_ttl_s=60, max_results=8, now=0.0)
    assert (record.job_id, record.kind, record.input_path, record.params, record.total,
            record.status, record.starts) == (
        "j-1", "rendered", "/in/a.mp4", {"count": 5, "total": 9}, 5, "queued", 1)  # fmt: skip
    assert again.started("j-1") == 2
    again.finished("j-1", "done", None, {"frames": np.arange(3.0)}, when=1000.0)
    [done] = again.load(result_ttl_s=60, max_results=8, now=1010.0)
    assert done.status == "done" and done.result == {"frames": [0.0, 1.0, 2.0]}
    assert done.input_path is None  # removed with the job's end
    with pytest.raises(sqlite3.IntegrityError):
        again.add(JobRecord("j-1", "video", None))  # ids are never reused


def test_finished_jobs_expire_by_age_and_count_active_ones_never(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite3")
    for n in range(4):
        store.add(JobRecord(f"j-{n}", "images", f"/in/{n}", created=float(n)))
    store.finished("j-0", "failed", "broken", None, when=100.0)  # too old at 200
    store.finished("j-1", "done", None, {"ok": 1}, when=180.0)  # pushed out by max_results
    store.finished("j-2", "done", None, object(), when=190.0)  # not JSON: kept without result
    kept = store.load(result_ttl_s=50, max_results=1, now=200.0)
    assert [(r.job_id, r.status, r.result) for r in kept] == [
        ("j-2", "done", None), ("j-3", "queued", None)]  # fmt: skip
    store.requeued("j-2")  # a stop racing the job's end never undoes it
    assert store.load(50, 1, 200.0)[0].status == "done"
    store.forget("j-2")
    assert [r.job_id for r in store.load(50, 1, 200.0)] == ["j-3"]


def test_a_state_directory_that_cannot_hold_the_store_leaves_jobs_in_memory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert open_job_store(blocker) is None


def test_a_damaged_job_file_is_moved_aside_and_a_fresh_one_made(tmp_path):
    (tmp_path / "jobs.sqlite3").write_bytes(b"not a database" * 100)
    store = open_job_store(tmp_path)
    assert store is not None and store.load(60, 8, 0.0) == []
    assert [p.name.split("-")[0] for p in tmp_path.glob("jobs.sqlite3.unreadable-*")] == [
        "jobs.sqlite3.unreadable"]  # fmt: skip
