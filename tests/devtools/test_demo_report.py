"""``pose-service demo --report``: the annotated video and the timeline, from real answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pose_service.cli import main
from pose_service.devtools.demo_report import frame_source, per_frame
from tests.support.server import launch

pytestmark = pytest.mark.service  # real programs (gunicorn, nginx, MediaPipe): the service tier


def answer(source: str | None, flags: list[str] | None = None, x: float = 10.0) -> dict:
    if source is None:
        return {"has_3d": False, "tracking_confidence": 0.0, "temporal": {"source": None}}
    points = [{"x": x + i, "y": 20.0 + i} for i in range(24)]
    return {"has_3d": True, "keypoints": points, "tracking_confidence": 0.8,
            "temporal": {"source": source, "flags": flags or []}}  # fmt: skip


def test_the_source_of_a_frame_tells_rescued_from_detected():
    assert frame_source(answer("detected")) == "detected"
    assert frame_source(answer("detected", ["rescued"])) == "rescued"
    assert frame_source(answer("predicted")) == "predicted"
    assert frame_source(answer(None)) == "none"


def test_hidden_frames_get_their_error_against_the_undropped_run():
    ours = [answer("detected"), answer("predicted", x=13.0), answer(None)]
    reference = [answer("detected"), answer("detected", x=10.0), answer("detected")]
    rows = per_frame(ours, np.array([False, True, True]), reference)
    assert [r["source"] for r in rows] == ["detected", "predicted", "none"]
    assert [r["error_px"] for r in rows] == [None, 3.0, None]
    assert [r["hidden"] for r in rows] == [False, True, True]


def test_demo_writes_the_report_for_a_real_stream(tmp_path: Path, capsys):
    pytest.importorskip("mediapipe")
    service = launch(tmp_path, {"POSE_SERVICE_ALLOW_SIMULATED_MISSES": "true"})
    try:
        args = ["--max-frames", "24", "--drop-share", "0.3", "--spacing-ms", "0", "--quiet"]
        args += ["--json"]
        code = main(["demo", "--url", service.url, *args, "--report", str(tmp_path / "r")])
    finally:
        service.stop()
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    files = {name: Path(path) for name, path in report["report"].items()}
    assert set(files) == {"annotated.mp4", "timeline.png", "frames.json"}
    assert files["timeline.png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import cv2

    video = cv2.VideoCapture(str(files["annotated.mp4"]))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 24
    rows = json.loads(files["frames.json"].read_text())
    assert sum(r["hidden"] for r in rows) == report["summary"]["dropped"] > 0
    assert any(r["source"] == "predicted" and r["error_px"] is not None for r in rows)
