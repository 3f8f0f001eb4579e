"""What runs when the model is ready and when the service stops (whole-video jobs use both)."""

from __future__ import annotations

from pose_service.config import Settings
from pose_service.pipeline import PosePipeline


def test_ready_hooks_run_once_the_status_says_ready_and_at_once_after(replay_path, tmp_path):
    pipeline = PosePipeline(Settings(estimator="replay", replay_path=str(replay_path),
                                     state_dir=str(tmp_path)))  # fmt: skip
    seen: list[str] = []
    pipeline.when_ready(lambda: seen.append(pipeline.status))

    def broken() -> None:
        raise RuntimeError("a hook that fails")

    pipeline.when_ready(broken)  # logged, never keeps the service from getting ready
    assert seen == []
    pipeline.load()
    assert seen == ["ready"] and pipeline.status == "ready"
    pipeline.when_ready(lambda: seen.append(pipeline.status))
    assert seen == ["ready", "ready"]


def test_shutdown_hooks_run_before_the_gate_closes(replay_path, tmp_path):
    pipeline = PosePipeline(Settings(estimator="replay", replay_path=str(replay_path),
                                     state_dir=str(tmp_path)))  # fmt: skip
    closed: list[bool] = []
    pipeline.on_shutdown(lambda: closed.append(pipeline.gate.closed))
    pipeline.shutdown()
    assert closed == [False] and pipeline.gate.closed
