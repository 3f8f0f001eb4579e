"""The evaluation harness on the real walk capture, and the issue's targets it can show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pose_service.cli import main
from pose_service.devtools.evaluation.harness import Scenario, evaluate
from pose_service.devtools.evaluation.sequences import load_sequence
from pose_service.tracking.config import TrackerConfig

WALK = Path(__file__).resolve().parents[3] / "data" / "cmu-131_01-walk.bvh"


@pytest.fixture(scope="module")
def report():
    return evaluate(load_sequence(WALK), Scenario(), TrackerConfig(record_max_frames=0))


def test_coverage_targets(report):
    m = report.methods
    assert m["whole_video"]["coverage"] == 1.0
    assert m["streaming"]["coverage"] == pytest.approx(1 - 5 / report.frames, abs=1e-3)
    assert m["no_fill"]["coverage"] < 0.7


def test_whole_video_beats_the_baselines(report):
    # The issue asks for 60% below hold_last; 40-50% is what the noise allows (docs/tracking.md).
    m = report.methods
    assert m["whole_video"]["mpjpe_missed_mm"] < 0.6 * m["hold_last"]["mpjpe_missed_mm"]
    assert m["whole_video"]["mpjpe_missed_mm"] < m["linear"]["mpjpe_missed_mm"]
    assert m["whole_video"]["mpjpe_all_mm"] < m["no_fill"]["mpjpe_all_mm"]


def test_output_is_no_more_jittery_than_raw_detections(report):
    raw = report.methods["no_fill"]["accel_error"]
    assert report.methods["whole_video"]["accel_error"] < 0.2 * raw
    assert report.methods["streaming"]["accel_error"] <= raw


def test_streaming_beats_holding_the_last_pose(report):
    m = report.methods
    assert m["streaming"]["mpjpe_missed_mm"] < m["hold_last"]["mpjpe_missed_mm"]
    assert m["streaming"]["root_missed_mm"] < m["hold_last"]["root_missed_mm"]


def test_bounds_explain_the_streaming_target(report):
    # The oracles are handed the noise-free truth at the last detection: the target for
    # streaming (40% below hold_last) is about what even the oracle damped-velocity predictor
    # reaches on this sequence, so a tracker that must also remove the noise cannot meet it.
    hold = report.methods["hold_last"]["mpjpe_missed_mm"]
    assert report.bounds["oracle_hold_mm"] < hold
    assert report.bounds["oracle_damped_cv_mm"] > 0.55 * hold
    assert report.methods["streaming"]["mpjpe_missed_mm"] > report.bounds["oracle_damped_cv_mm"]


def test_confidence_falls_as_measured_error_grows(report):
    rows = report.calibration
    assert len(rows) >= 5
    assert all(b["confidence"] < a["confidence"] for a, b in zip(rows, rows[1:], strict=False))
    assert rows[-1]["mpjpe_mm"] > rows[0]["mpjpe_mm"]


def test_tracker_time_per_frame(report):
    assert report.methods["streaming"]["ms_per_frame"] < 5.0  # target 1 ms; shared CI machines


def test_cli_json_has_exactly_the_documented_shape(capsys):
    assert main(["eval", str(WALK), "--json", "--max-frames", "90"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert set(body) == {
        "sequence", "frames", "methods", "bounds", "in_flight", "noise_model", "by_gap", "by_source"
    } and body["frames"] == 90  # fmt: skip
    assert body["in_flight"] == 1 and body["noise_model"] == "iid"
    assert {"gap", "frames", "mpjpe_mm", "confidence", "hold_last_mm"} == set(body["by_gap"][0])
    assert set(body["bounds"]) == {"oracle_hold_mm", "oracle_damped_cv_mm"}
    assert set(body["methods"]) == {"streaming", "whole_video", "no_fill", "hold_last", "linear"}
    for metrics in body["methods"].values():
        assert set(metrics) == {
            "coverage", "mpjpe_missed_mm", "mpjpe_all_mm", "accel_error", "ms_per_frame"
        }  # fmt: skip
