"""The operator's routes: ``/livez``, ``/readyz`` (loaded, warmed up, not draining) and
``/metrics``, in the app (Flask test client) and through real gunicorn."""

from __future__ import annotations

import http.client
import json
import signal
import threading
import time

import jsonschema
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from pose_service.api import create_app
from pose_service.api.openapi import openapi_document
from pose_service.config import Settings
from pose_service.estimators.replay import ReplayEstimator
from pose_service.pipeline import PosePipeline
from tests.support.frames import b64, png_bytes
from tests.support.server import launch, replay_env

pytestmark = pytest.mark.service  # real programs (gunicorn, nginx, MediaPipe): the service tier

SCHEMAS = openapi_document()["components"]["schemas"]
FRAME = b64(png_bytes(32, 18))


class GatedReplay(ReplayEstimator):
    """The replay estimator whose load and warm-up each wait for their own event."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.loaded = threading.Event()
        self.warmed = threading.Event()
        self.warm_ups = 0

    def load(self) -> None:
        self.loaded.wait(10)
        super().load()

    def warm_up(self) -> None:
        self.warmed.wait(10)
        self.warm_ups += 1


def _client(replay_path, tmp_path, estimator=None, **extra):
    settings = Settings(
        estimator="replay", replay_path=str(replay_path), state_dir=str(tmp_path), **extra
    )
    pipeline = PosePipeline(settings, estimator(settings) if estimator else None)
    return pipeline, create_app(settings, pipeline, start_loading=False).test_client()


def _readyz(client):
    response = client.get("/readyz")
    body = response.get_json()
    jsonschema.validate(body, SCHEMAS["Readiness"])
    return response.status_code, body


def test_livez_answers_whatever_the_model_does(replay_path, tmp_path):
    _, client = _client(replay_path, tmp_path, GatedReplay)  # never loaded
    response = client.get("/livez")
    assert response.status_code == 200 and response.get_json() == {"status": "alive"}


def test_readyz_is_503_until_the_model_is_loaded_and_warmed_up(replay_path, tmp_path):
    pipeline, client = _client(replay_path, tmp_path, GatedReplay)
    estimator = pipeline.estimator
    assert _readyz(client) == (503, {"ready": False, "status": "warming_up",
                                     "reason": "the model is still loading"})  # fmt: skip
    pipeline.start_loading()
    estimator.loaded.set()  # loaded, its warm-up pass not yet run
    time.sleep(0.2)
    status, body = _readyz(client)
    assert status == 503 and body["status"] == "warming_up"
    assert client.get("/health").get_json()["ready"] is False  # /health's ready is the same
    estimator.warmed.set()
    assert pipeline.wait_loaded(10) == "ready" and estimator.warm_ups == 1
    assert _readyz(client) == (200, {"ready": True, "status": "ready"})
    assert client.get("/readyz").headers["Cache-Control"] == "no-store"


def test_readyz_says_why_the_load_failed(tmp_path):
    settings = Settings(estimator="replay", replay_path=str(tmp_path / "missing.npz"))
    pipeline = PosePipeline(settings)
    client = create_app(settings, pipeline, start_loading=False).test_client()
    pipeline.load()
    status, body = _readyz(client)
    assert status == 503 and body["status"] == "not_ready"
    assert "POSE_SERVICE_REPLAY_PATH" in body["reason"]


def test_a_failed_warm_up_is_logged_and_the_service_goes_ready(replay_path, tmp_path):
    class ColdReplay(ReplayEstimator):
        def warm_up(self) -> None:
            raise RuntimeError("no warm-up today")

    pipeline, client = _client(replay_path, tmp_path, ColdReplay)
    pipeline.load()
    assert _readyz(client)[0] == 200


def test_readyz_is_503_while_draining(replay_path, tmp_path):
    pipeline, client = _client(replay_path, tmp_path)
    pipeline.load()
    assert _readyz(client)[0] == 200
    pipeline.begin_draining()  # SIGTERM in the worker
    status, body = _readyz(client)
    assert status == 503 and body["status"] == "draining" and body["reason"]
    assert client.get("/health").get_json()["status"] == "ready"  # /health unchanged
    assert client.get("/livez").status_code == 200


def test_the_probes_and_metrics_need_no_token(replay_path, tmp_path):
    pipeline, client = _client(replay_path, tmp_path, auth_token="s3cret")
    pipeline.load()
    assert client.post("/pose/hybrid", json={"image_base64": FRAME}).status_code == 401
    for path in ("/livez", "/readyz", "/metrics"):
        assert client.get(path).status_code == 200, path


def test_the_probes_and_metrics_are_documented():
    paths = openapi_document()["paths"]
    assert {"/livez", "/readyz", "/metrics"} <= set(paths)


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_and_probes_through_real_gunicorn(replay_service):
    """The one worker's registry, as a scraper reads it from gunicorn."""
    url = replay_service.url
    assert requests.get(url + "/livez", timeout=5).status_code == 200
    assert requests.get(url + "/readyz", timeout=5).json() == {"ready": True, "status": "ready"}
    before = _samples(requests.get(url + "/metrics", timeout=5).text)
    for frame_number in range(2, 5):  # the recording detects its person at 2-9
        body = {"image_base64": FRAME, "frame_number": frame_number}
        answer = requests.post(url + "/pose/hybrid", json=body, timeout=30,
                               headers={"X-Video-Id": "gunicorn"})  # fmt: skip
        assert answer.status_code == 200
    refused = requests.post(url + "/pose/hybrid", timeout=30, json={"frame_number": 1})
    assert refused.status_code == 400
    scraped = requests.get(url + "/metrics", timeout=5)
    assert scraped.status_code == 200
    assert scraped.headers["Content-Type"].startswith("text/plain")
    after = _samples(scraped.text)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("pose_service_frames_total", source="detected") == 3
    assert grew("pose_service_http_requests_total",
                route="/pose/hybrid", method="POST", status="200") == 3  # fmt: skip
    assert grew("pose_service_refusals_total", code=refused.json()["code"]) == 1
    assert after[("pose_service_ready", ())] == 1
    assert after[("process_resident_memory_bytes", ())] > 0
    openmetrics = requests.get(
        url + "/metrics", timeout=5, headers={"Accept": "application/openmetrics-text"}
    )
    assert openmetrics.headers["Content-Type"].startswith("application/openmetrics-text")
    assert openmetrics.text.rstrip().endswith("# EOF")


def test_readyz_is_503_while_gunicorn_drains(replay_path, tmp_path):
    """SIGTERM with a frame in flight: a request on a kept-alive connection meanwhile is told
    503 draining; the frame still finishes."""
    service = launch(tmp_path, replay_env(replay_path, tmp_path / "state", replay_delay_ms="1500"))
    answer: dict[str, int] = {}

    def in_flight() -> None:
        response = requests.post(service.url + "/pose/hybrid", timeout=30,
                                 json={"image_base64": FRAME, "frame_number": 4})  # fmt: skip
        answer["status"] = response.status_code

    kept = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
    try:
        kept.request("GET", "/readyz")
        first = kept.getresponse()
        assert first.status == 200 and json.loads(first.read())["ready"] is True
        frame = threading.Thread(target=in_flight)
        frame.start()
        time.sleep(0.5)  # the frame is inside the model now
        service.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)  # the worker has it
        kept.request("GET", "/readyz")
        during = kept.getresponse()
        body = json.loads(during.read())
        assert during.status == 503 and body["status"] == "draining", body
        frame.join()
        assert answer["status"] == 200
    finally:
        kept.close()
        assert service.stop() == 0
