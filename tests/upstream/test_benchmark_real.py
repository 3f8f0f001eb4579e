"""``benchmarks/hmr2_cpu`` in a tiny configuration (two frames): it runs on this stack; no
timing is asserted (docs/performance.md's figure comes from its full run)."""

from __future__ import annotations

from types import SimpleNamespace

from benchmarks import hmr2_cpu


def test_hmr2_cpu_measures_frames_through_the_service(stand_ins: SimpleNamespace) -> None:
    result = hmr2_cpu.measure(stand_ins.root, frames=2, detector="auto", detect_every=1)
    assert result["frames"] == 2
    assert result["sources"] == {"detected": 2}
    assert result["device"] == "cpu"
    assert result["wall_ms"]["p50"] >= result["service_ms"]["p50"] > 0
