"""Prometheus metrics (``metrics.py``): what a scrape of ``GET /metrics`` says after frames,
refusals and jobs, read back with prometheus_client's own parser."""

from __future__ import annotations

import sys
import time
from collections import Counter

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pose_service import __version__, metrics
from pose_service.api import create_app
from pose_service.config import Settings
from pose_service.pipeline import PosePipeline
from tests.conftest import REPLAY_DETECTED
from tests.support.frames import b64, png_bytes

FRAME_PNG = b64(png_bytes(32, 18))


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape: (name, sorted labels) -> value; the text must parse."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def ready_client(replay_path, tmp_path):
    settings = Settings(estimator="replay", replay_path=str(replay_path), state_dir=str(tmp_path))
    pipeline = PosePipeline(settings)
    pipeline.load()
    return create_app(settings, pipeline, start_loading=False).test_client()


def _send(client, frame_number: int, video_id: str = "metrics-walk"):
    return client.post(
        "/pose/hybrid",
        json={"image_base64": FRAME_PNG, "frame_number": frame_number},
        headers={"X-Video-Id": video_id},
    )


def test_a_frame_is_counted_by_its_source_and_its_route(ready_client):
    before = scrape(ready_client)
    detected = int(next(i for i, d in enumerate(REPLAY_DETECTED) if d))  # the recording's first
    for frame_number in range(detected + 1):  # misses (none: no track yet), then a detection
        assert _send(ready_client, frame_number).status_code == 200
    after = scrape(ready_client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("pose_service_frames_total", source="detected") == 1
    assert grew("pose_service_frames_total", source="none") == detected
    assert grew("pose_service_frames_total", source="predicted") == 0
    route = {"route": "/pose/hybrid", "method": "POST", "status": "200"}
    assert grew("pose_service_http_requests_total", **route) == detected + 1
    assert grew("pose_service_http_request_duration_seconds_count", **route) == detected + 1
    assert grew("pose_service_http_request_duration_seconds_sum", **route) > 0
    assert grew("pose_service_queue_wait_seconds_count") == detected + 1
    assert grew("pose_service_model_pass_seconds_count", kind="stream") == detected + 1
    assert grew("pose_service_model_turns_total") >= detected + 1  # the gate's own counter
    assert value(after, "pose_service_sessions") == 1
    assert value(after, "pose_service_ready") == 1
    assert value(after, "pose_service_model_status", status="ready") == 1
    assert value(after, "pose_service_build_info", version=__version__, estimator="replay")


def test_a_route_is_its_url_rule_never_the_raw_path(ready_client):
    before = scrape(ready_client)
    assert ready_client.get("/jobs/j-nope-1").status_code == 404
    assert ready_client.get("/no/such/path").status_code == 404
    after = scrape(ready_client)
    rule = {"route": "/jobs/<job_id>", "method": "GET", "status": "404"}
    assert (
        value(after, "pose_service_http_requests_total", **rule)
        - value(before, "pose_service_http_requests_total", **rule)
        == 1
    )
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    assert value(after, "pose_service_http_requests_total", **unmatched) >= 1
    assert not any("j-nope-1" in str(key) or "/no/such" in str(key) for key in after)


def test_a_refusal_is_counted_by_its_code(ready_client):
    before = scrape(ready_client)
    bad = ready_client.post("/pose/hybrid", json={"image_base64": "!!!", "frame_number": 0})
    missing = ready_client.post("/pose/hybrid", json={"frame_number": 0})
    assert bad.status_code == missing.status_code == 400
    codes = Counter([bad.get_json()["code"], missing.get_json()["code"]])
    assert "missing_field" in codes
    after = scrape(ready_client)
    for code, times in codes.items():
        name = "pose_service_refusals_total"
        assert value(after, name, code=code) - value(before, name, code=code) == times


def test_a_whole_video_job_shows_in_the_jobs_gauge_and_its_passes(ready_client):
    before = scrape(ready_client)
    assert value(before, "pose_service_jobs", status="done") == 0  # every status shows, at 0
    job_id = ready_client.post("/pose/video", json={"frames": [FRAME_PNG] * 3}).get_json()["job_id"]
    deadline = time.monotonic() + 30
    while ready_client.get(f"/jobs/{job_id}").get_json()["status"] in {"queued", "running"}:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    after = scrape(ready_client)
    assert value(after, "pose_service_jobs", status="done") == 1
    passes = "pose_service_model_pass_seconds_count"
    assert value(after, passes, kind="job") > value(before, passes, kind="job")


def test_metrics_answer_while_the_model_loads(replay_path, tmp_path):
    """Nothing in a scrape waits for the model: a load that never ends leaves /metrics (and
    the probes) answering."""
    import threading

    from pose_service.estimators.replay import ReplayEstimator

    release = threading.Event()

    class StuckLoading(ReplayEstimator):
        def load(self) -> None:
            release.wait(30)
            super().load()

    settings = Settings(estimator="replay", replay_path=str(replay_path), state_dir=str(tmp_path))
    pipeline = PosePipeline(settings, StuckLoading(settings))
    client = create_app(settings, pipeline).test_client()  # starts the (stuck) load
    try:
        started = time.monotonic()
        samples = scrape(client)
        assert time.monotonic() - started < 5
        assert value(samples, "pose_service_model_status", status="warming_up") == 1
        assert value(samples, "pose_service_ready") == 0
    finally:
        release.set()
    assert pipeline.wait_loaded(10) == "ready"
    assert value(scrape(client), "pose_service_ready") == 1


def test_gpu_memory_is_absent_without_cuda(ready_client, monkeypatch):
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    names = {name for name, _ in scrape(ready_client)}
    assert not any(name.startswith("pose_service_gpu_memory") for name in names)


def test_gpu_memory_is_a_gauge_in_bytes_where_torch_sees_cuda(ready_client, monkeypatch):
    class FakeCuda:
        @staticmethod
        def is_available() -> bool:
            return True

        @staticmethod
        def memory_allocated() -> int:
            return 3 * 2**30

        @staticmethod
        def memory_reserved() -> int:
            return 4 * 2**30

    fake_torch = type(sys)("torch")
    fake_torch.cuda = FakeCuda  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torch", fake_torch)
    samples = scrape(ready_client)
    assert value(samples, "pose_service_gpu_memory_allocated_bytes") == 3 * 2**30
    assert value(samples, "pose_service_gpu_memory_reserved_bytes") == 4 * 2**30


@pytest.mark.parametrize(
    ("source", "flags", "label"),
    [
        ("detected", [], "detected"),
        ("detected", ["rescued"], "rescued"),
        ("predicted", ["coasting"], "predicted"),
        ("interpolated", [], "interpolated"),
        (None, [], "none"),
    ],
)
def test_frame_sources(source, flags, label):
    assert metrics.frame_source(source, flags) == label
    assert label in metrics.FRAME_SOURCES


def test_names_follow_prometheus_conventions(ready_client):
    names = {name for name, _ in scrape(ready_client)}
    ours = {n for n in names if n.startswith("pose_service_")}
    assert ours, names
    for name in ours:
        assert not name.endswith(("_ms", "_mib", "_milliseconds")), name
    families = text_string_to_metric_families(ready_client.get("/metrics").get_data(as_text=True))
    for family in families:
        if family.type == "counter":
            assert all(s.name.endswith("_total") for s in family.samples), family.name


def test_the_grafana_dashboard_reads_only_metrics_the_service_exposes(ready_client, monkeypatch):
    """docs/grafana-dashboard.json: every metric its queries name is in a scrape (GPU gauges
    with a CUDA-seeing torch stood in), and it has the panels docs/operations.md promises."""
    import json
    import re
    from pathlib import Path

    class FakeCuda:
        is_available = staticmethod(lambda: True)
        memory_allocated = staticmethod(lambda: 1)
        memory_reserved = staticmethod(lambda: 2)

    fake_torch = type(sys)("torch")
    fake_torch.cuda = FakeCuda  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torch", fake_torch)
    scraped = {name for name, _ in scrape(ready_client)}
    path = Path(__file__).resolve().parents[1] / "docs" / "grafana-dashboard.json"
    dashboard = json.loads(path.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    named = {n for e in exprs for n in re.findall(r"\b(?:pose_service|process)_\w+", e)}
    assert named and named <= scraped, named - scraped
    titles = " ".join(p["title"] for p in dashboard["panels"]).lower()
    for topic in ("request rate", "latency", "frames by source", "queue wait", "model pass",
                  "refusals", "sessions and jobs", "gpu memory"):  # fmt: skip
        assert topic in titles, topic
