"""Each benchmark runs end to end in a tiny configuration and prints its documented JSON.

No timing is asserted (CI machines vary): these prove the scripts work and keep their names.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import (
    dashboard_snapshot,
    decode_accuracy,
    fill_cost,
    gpu_detect,
    job_memory,
    lite,
    lookahead,
    mesh_render,
    overhead,
    redetection,
    sampled_frames,
    session_codec,
    sigkill_loss,
    slow_clients,
    smoothing,
    throughput,
    tracker,
)

pytestmark = pytest.mark.service  # real programs (gunicorn, nginx, MediaPipe): the service tier


def _run(module, argv, capsys):
    result = module.main([*argv, "--json"])
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == json.loads(json.dumps(result))
    return printed


def test_overhead(capsys):
    out = _run(overhead, ["--frames", "3", "--sizes", "720p", "--formats", "JPEG"], capsys)
    case = out["cases"]["720p_jpeg_mesh"]
    assert set(case["stages_ms"]) == {*overhead.STAGES, "serialise", "total"}
    assert case["baseline_ms"]["total"]["p50"] > 0 and case["speedup_p50"] > 0
    assert case["answer_bytes"]["base64"] < case["answer_bytes"]["full"]


def test_tracker(capsys):
    out = _run(tracker, ["--frames", "120"], capsys)
    assert set(out["cases"]) == {"mesh", "nomesh"}
    assert out["cases"]["mesh"]["session_mib"]["120"] > 0


def test_throughput(capsys):
    argv = ["--seconds", "1.5", "--delay-ms", "20", "--spacing-ms", "10"]
    out = _run(throughput, argv, capsys)
    assert out["frames"] > 0 and out["health_probes"] > 0 and out["ideal_fps"] == 50.0
    assert out["worker_cpu_ms_per_frame"] > 0


def test_lite(capsys):
    pytest.importorskip("mediapipe")
    out = _run(lite, ["--frames", "3"], capsys)
    assert out["frames"] == 3 and out["cpu_ms"]["p50"] > 0


def test_fill_cost(capsys):
    out = _run(fill_cost, ["--repeats", "2"], capsys)
    assert set(out["cases"]) == {"lite_like", "hmr2_like"}
    assert out["cases"]["hmr2_like"]["window_ms"]["p50"] > 0


@pytest.mark.slow
def test_lookahead(capsys):
    """24 frames of the runner clip, a third hidden, through real gunicorn (lite) like the
    backend's pool: every frame answered, the hidden ones with a pose (full run: docs)."""
    pytest.importorskip("mediapipe")
    out = _run(lookahead, ["--frames", "24", "--spacing-ms", "10"], capsys)
    assert set(out["runs"]) == {"one_at_a_time", "in_flight", "in_flight_predict"}
    for run in out["runs"].values():
        assert run["answered_200"] == 24 and run["hidden_without_pose"] == 0
        assert run["hidden_interpolated"] + run["hidden_predicted"] == out["hidden"]
    assert out["runs"]["one_at_a_time"]["hidden_interpolated"] == 0
    # With the look-ahead off, a hidden frame is interpolated only when a later frame overtook
    # it in flight (the late-frame rule; how often depends on the machine's load).
    predict_only = out["runs"]["in_flight_predict"]
    assert predict_only["hidden_interpolated"] == predict_only["hidden_interpolated_late"]


def test_redetection(capsys):
    """The first 60 frames of the small-subject case: the runner is missed in the whole frame
    and found by looking where the track expects him (figures of the full run: docs/tracking.md)."""
    pytest.importorskip("mediapipe")
    out = _run(redetection, ["--frames", "60", "--cases", "small"], capsys)
    case = out["cases"]["small"]
    on, off = case["rescue_on"], case["rescue_off"]
    assert out["synthetic"] is True and case["frames"] == 60
    assert on["rescued"] > 0 and on["wrong_person_rescues"] == 0
    assert on["detected"] + on["rescued"] > off["detected"] + off["rescued"]


def test_smoothing(capsys):
    pytest.importorskip("mediapipe")
    out = _run(smoothing, ["--frames", "30", "--cases", "none"], capsys)
    modes = out["cases"]["none"]
    assert set(modes) == {"off", "one_euro", "kalman"}
    assert modes["kalman"]["jitter_mm_per_frame2"] < modes["off"]["jitter_mm_per_frame2"]


def test_sampled_frames(capsys):
    pytest.importorskip("mediapipe")
    out = _run(sampled_frames, ["--frames", "24", "--steps", "1,6"], capsys)
    assert set(out["steps"]) == {"1", "6"} and out["steps"]["6"]["frames"] == 4
    assert out["steps"]["1"]["answered_mm"]["p50"] < out["steps"]["6"]["answered_mm"]["p50"]


def test_session_codec(capsys):
    out = _run(session_codec, ["--frames", "40", "--repeats", "2"], capsys)
    assert out["frames"] == 40 and out["kib"] > 0 and out["write_ms"] > 0 and out["read_ms"] > 0


def test_gpu_detect_skips_or_runs(capsys):
    out = _run(gpu_detect, ["--frames", "1", "--every", "2"], capsys)
    assert "skipped" in out or out["detect_every_frame_ms"]["p50"] > 0


def test_decode_accuracy(capsys):
    pytest.importorskip("mediapipe")
    out = _run(decode_accuracy, ["--frames", "2", "--width", "640"], capsys)
    assert out["frames"] == 2 and out["frame_size"].startswith("640x")
    assert 0 < out["fast"]["pixel_difference_mean"] < 3  # fast DCT: about a grey level
    assert out["fast"]["frames_compared"] + out["quality_95"]["frames_compared"] > 0


def test_slow_clients(capsys):
    argv = ["--attack", "body", "--clients", "2", "--seconds", "2", "--drip-s", "0.5"]
    out = _run(slow_clients, argv, capsys)
    assert out["attack"] == "body" and out["health_probes"] > 0 and out["frame_probes"] > 0
    assert set(out["health_ms"]) == {"p50", "p95", "mean"}


def test_sigkill_loss(capsys):
    out = _run(sigkill_loss, ["--kills", "1", "--videos", "2", "--seconds", "1"], capsys)
    (kill,) = out["rounds"]
    assert len(kill["answered"]) == 2 and min(kill["answered"]) > 0
    assert out["lost_max"] == max(kill["lost"]) and out["bound_frames"] >= 1


def test_job_memory(capsys):
    out = _run(job_memory, ["--frames", "5", "--width", "64", "--height", "36"], capsys)
    assert out["frames"] == 5 and out["rss_before_mib"] > 0 and "peak_over_before_mib" in out


@pytest.mark.skipif(
    not Path(dashboard_snapshot.DEFAULT_PROMETHEUS).exists(),
    reason="Debian's prometheus package is not installed (.ci/run installs it)",
)
def test_dashboard_snapshot(capsys, tmp_path):
    """A real Prometheus scrapes a real lite run; every panel but GPU memory has data."""
    image = tmp_path / "dashboard.png"
    out = _run(dashboard_snapshot, ["--frames", "30", "--out", str(image)], capsys)
    assert image.stat().st_size > 10_000 and out["streamed_frames"] == 60
    last = out["last"]
    panels = json.loads(dashboard_snapshot.DASHBOARD.read_text())["panels"]
    assert set(last) == {panel["title"] for panel in panels}
    assert last["Ready (/readyz)"] and all(v == 1.0 for v in last["Ready (/readyz)"].values())
    assert {"detected", "predicted"} <= set(last["Frames by source"])
    assert {"invalid_image", "missing_field"} <= set(last["Refusals by code"])
    assert "jobs done" in last["Sessions and jobs"]


def test_mesh_render(capsys):
    out = _run(mesh_render, ["--frames", "2", "--sizes", "360p"], capsys)
    case = out["cases"]["360p"]
    assert case["mesh_ms"]["p50"] > case["skeleton_ms"]["p50"] > 0
    assert case["mesh_cpu_ms"]["p50"] > 0 and case["renderer_setup_ms"] > 0
