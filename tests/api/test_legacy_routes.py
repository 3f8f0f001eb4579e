"""The old service's routes the backend calls, with the shapes it reads (docs/api.md "Legacy
routes the backend calls"), on the Flask test client with the replay estimator (the real
MediaPipe for one run) and short cuts of the real runner clip as uploads."""

from __future__ import annotations

import base64
import io
import itertools
import re
import threading
import time
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from PIL import Image

from pose_service.api import create_app
from pose_service.api.openapi import openapi_document
from pose_service.config import Settings
from pose_service.drawing import SOURCE_COLOURS
from pose_service.estimators.replay import ReplayEstimator
from pose_service.pipeline import PosePipeline
from pose_service.skeleton import SMPL_JOINT_NAMES
from pose_service.video_frames import read_frames
from tests.support.frames import b64, png_bytes, write_runner_cut
from tests.support.motion import HEIGHT, WIDTH

CUT_FRAMES = 12
CUT_SIZE = (640, 362)  # the runner clip (1920x1088) at the backend's 640 wide
MULTIPART = "multipart/form-data"
SCHEMAS = openapi_document()["components"]["schemas"]
LABEL_ROWS = 27  # the drawn label's box, top left


@pytest.fixture(scope="module")
def cut_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The runner clip's first 12 frames, at the backend's size."""
    return write_runner_cut(tmp_path_factory.mktemp("cut") / "runner-12f.mp4", CUT_FRAMES)


@pytest.fixture(scope="module")
def cut(cut_path: Path) -> bytes:
    """The same, as an upload."""
    return cut_path.read_bytes()


def _client(replay_path, estimator=None, load: bool = True, **settings):  # type: ignore[no-untyped-def]
    settings = Settings(estimator="replay", replay_path=str(replay_path), **settings)
    pipeline = PosePipeline(settings, estimator)
    if load:
        pipeline.load()
    return pipeline, create_app(settings, pipeline, start_loading=False).test_client()


@pytest.fixture()
def client(replay_path):
    return _client(replay_path)[1]


def _upload(video: bytes, **fields: str) -> dict:
    return {"video": (io.BytesIO(video), "clip.mp4"), **fields}


def _poll(client, job_id: str, timeout_s: float = 30.0) -> tuple[dict, set[str]]:
    seen = set()
    deadline = time.monotonic() + timeout_s
    while True:
        body = client.get(f"/job_status/{job_id}").get_json()
        seen.add(body["status"])
        if body["status"] in {"complete", "error"}:
            return body, seen
        assert time.monotonic() < deadline, body
        time.sleep(0.02)


def _jpeg(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return np.asarray(image.convert("RGB"))


# --- /process_video ------------------------------------------------------------------------


def test_process_video_answers_every_frame_in_the_old_shape(client, cut):
    """The mobile app's 10-frames button: max_frames "10" -> the first 10 frames, each
    answered (the replay misses 0-1 and 10-11: back-filled and interpolated), each drawn."""
    response = client.post("/process_video", data=_upload(cut, max_frames="10"),
                           content_type=MULTIPART)  # fmt: skip
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "success"
    data = body["data"]
    jsonschema.validate(data, SCHEMAS["RenderedVideo"])
    assert data["total_frames"] == CUT_FRAMES and data["processed_frames"] == 10
    assert data["fps"] == pytest.approx(30.0) and data["resolution"] == list(CUT_SIZE)
    assert data["video_duration"] == pytest.approx(CUT_FRAMES / 30.0)
    assert data["processing_time_seconds"] > 0 and data["output_size_mb"] > 0
    frames = data["frames"]
    assert [f["frame_number"] for f in frames] == list(range(10))
    assert [f["frameNumber"] for f in frames] == list(range(10))
    assert [f["timestamp"] for f in frames] == pytest.approx([n / 30 for n in range(10)], abs=1e-4)
    assert all(f["has_3d"] for f in frames)  # every frame answered
    assert [k["name"] for k in frames[5]["keypoints"]] == list(SMPL_JOINT_NAMES)
    assert frames[0]["temporal"]["source"] == "predicted"  # before the first detection
    assert frames[5]["temporal"]["source"] == "detected"
    assert frames[5]["camera_params"]["type"] == "weak_perspective"
    assert frames[5]["vertices"] is None and frames[5]["faces"] is None
    for number, frame in enumerate(frames):
        drawn = _jpeg(base64.b64decode(frame["image_base64"]))
        assert drawn.shape == (CUT_SIZE[1], CUT_SIZE[0], 3)
        assert frame["image_url"] == f"/frame/{data['job_id']}/{number}"
    assert [r["accepted"] for r in data["frame_acceptance"]] == [True] * 10
    assert [r["frame_number"] for r in data["pose_timeline"]] == list(range(10))
    output = Path(data["output_path"])
    assert output.is_file() and output.parent == Path(data["output_dir"])
    import cv2

    overlay = cv2.VideoCapture(str(output))
    assert int(overlay.get(cv2.CAP_PROP_FRAME_COUNT)) == 10
    assert (
        overlay.get(cv2.CAP_PROP_FRAME_WIDTH),
        overlay.get(cv2.CAP_PROP_FRAME_HEIGHT),
    ) == CUT_SIZE
    overlay.release()


@pytest.mark.parametrize(
    ("max_frames", "cap", "processed"),
    [(None, 900, CUT_FRAMES), ("999999", 900, CUT_FRAMES), ("999999", 5, 5), (None, 5, 5),
     ("3", 5, 3)],
)  # fmt: skip
def test_max_frames_takes_the_first_frames_up_to_the_cap(replay_path, cut, max_frames, cap,
                                                          processed):  # fmt: skip
    _, client = _client(replay_path, legacy_max_frames=cap)
    fields = {} if max_frames is None else {"max_frames": max_frames}
    data = client.post("/process_video", data=_upload(cut, **fields),
                       content_type=MULTIPART).get_json()["data"]  # fmt: skip
    assert data["processed_frames"] == len(data["frames"]) == processed
    assert data["total_frames"] == CUT_FRAMES


def test_only_the_first_frames_carry_their_image_inline(client, cut, monkeypatch):
    """The answer stays bounded: beyond INLINE_IMAGES (60) frames the images are at
    image_url only."""
    from pose_service.api import legacy_routes

    monkeypatch.setattr(legacy_routes, "INLINE_IMAGES", 4)
    frames = client.post("/process_video", data=_upload(cut),
                         content_type=MULTIPART).get_json()["data"]["frames"]  # fmt: skip
    assert ["image_base64" in f for f in frames] == [True] * 4 + [False] * (CUT_FRAMES - 4)
    assert client.get(frames[-1]["image_url"]).status_code == 200


@pytest.mark.service  # MediaPipe in-process
def test_the_real_estimator_finds_the_runner_and_the_frames_show_it(cut, cut_path):
    """MediaPipe on the real clip: every frame detected, and the drawn JPEG has the
    detected colour at the answered keypoints."""
    pytest.importorskip("mediapipe")
    settings = Settings(estimator="lite")
    pipeline = PosePipeline(settings)
    pipeline.load()
    client = create_app(settings, pipeline, start_loading=False).test_client()
    data = client.post("/process_video", data=_upload(cut, max_frames="6"),
                       content_type=MULTIPART).get_json()["data"]  # fmt: skip
    frames = data["frames"]
    assert len(frames) == data["processed_frames"] == 6
    assert all(f["has_3d"] and f["temporal"]["source"] == "detected" for f in frames)
    raw = list(itertools.islice(read_frames(cut_path), 6))
    colour = np.array(SOURCE_COLOURS["detected"][::-1], float)  # BGR -> RGB
    for frame, original in zip(frames, raw, strict=True):
        drawn = _jpeg(base64.b64decode(frame["image_base64"])).astype(float)
        points = np.array([[k["x"], k["y"]] for k in frame["keypoints"]])
        assert (points[:, 0] > 150).all() and (points[:, 0] < 330).all()  # on the runner
        x, y = (int(round(v)) for v in points[SMPL_JOINT_NAMES.index("pelvis")])
        assert np.abs(drawn[y, x] - colour).max() < 60  # the joint is drawn there
        assert np.abs(original[y, x].astype(float) - colour).max() > 60  # not in the video


def _changed(drawn: np.ndarray, original: np.ndarray) -> np.ndarray:
    """Pixels the drawing changed, below the label (JPEG noise stays under 50 grey levels)."""
    changed = np.abs(drawn.astype(int) - original.astype(int)).max(axis=2) > 50
    changed[:LABEL_ROWS] = False
    return changed


@pytest.mark.parametrize("overlay", ["mesh", "skeleton"])
def test_detected_frames_show_their_mesh_and_filled_frames_their_skeleton(
    replay_path, cut, cut_path, overlay
):
    """The replay has a mesh and misses frames 0-1 (back-filled): with the mesh overlay each
    detected frame is drawn with its mesh (kept on disk while the job ran, then deleted), a
    filled body around the keypoints; the filled frames, and every frame with
    ``POSE_SERVICE_OVERLAY=skeleton``, with the skeleton's lines."""
    _, client = _client(replay_path, overlay=overlay)
    data = client.post("/process_video", data=_upload(cut, max_frames="8"),
                       content_type=MULTIPART).get_json()["data"]  # fmt: skip
    frames = data["frames"]
    sources = [f["temporal"]["source"] for f in frames]
    assert sources == ["predicted"] * 2 + ["detected"] * 6
    raw = list(itertools.islice(read_frames(cut_path), 8))
    areas, centres = [], []
    for frame, original in zip(frames, raw, strict=True):
        changed = _changed(_jpeg(base64.b64decode(frame["image_base64"])), original)
        ys, xs = np.nonzero(changed)
        areas.append(len(xs))
        centres.append((xs.mean(), ys.mean()))
    skeleton_area = max(areas[:2])
    if overlay == "mesh":
        assert min(areas[2:]) > 4 * skeleton_area, areas
    else:
        assert max(areas[2:]) < 2 * skeleton_area, areas
    for frame, centre in zip(frames, centres, strict=True):  # drawn on the answered body
        points = np.array([[k["x"], k["y"]] for k in frame["keypoints"]])
        size = np.ptp(points, axis=0).max()
        assert np.abs(np.array(centre) - points.mean(axis=0)).max() < 0.25 * size
    assert not list(Path(data["output_dir"]).glob("*.f16"))  # the meshes' spill is gone


# --- /process_video_async, /job_status, /frame ---------------------------------------------


def test_async_job_status_and_frames(client, cut):
    response = client.post("/process_video_async", data=_upload(cut, max_frames="8"),
                           content_type=MULTIPART)  # fmt: skip
    assert response.status_code == 200
    accepted = response.get_json()
    assert accepted["status"] == "accepted" and accepted["message"]
    job_id = accepted["job_id"]
    assert re.fullmatch(r"[A-Za-z0-9-]+", job_id)  # the backend puts it in a URL
    body, seen = _poll(client, job_id)
    assert seen <= {"queued", "processing", "complete"}
    jsonschema.validate(body, SCHEMAS["LegacyJob"])
    assert body["status"] == "complete" and body["processing_time"] >= 0
    result = body["result"]
    for key in ("frames", "video_path", "output_dir", "fps", "total_frames", "video_duration",
                "frame_count", "status", "pose_timeline"):  # fmt: skip
        assert key in result, key
    assert body["output_path"] == result["video_path"] and Path(body["output_path"]).is_file()
    assert result["frame_count"] == len(result["frames"]) == 8
    assert all(f["has_3d"] for f in result["frames"])
    assert "image_base64" not in result["frames"][0]  # at /frame/<job>/<i> instead

    frame = client.get(f"/frame/{job_id}/7")
    assert frame.status_code == 200 and frame.mimetype == "image/jpeg"
    assert frame.headers["Cache-Control"] == "public, max-age=3600"
    assert _jpeg(frame.data).shape == (CUT_SIZE[1], CUT_SIZE[0], 3)
    out_of_range = client.get(f"/frame/{job_id}/8")
    assert out_of_range.status_code == 400
    assert out_of_range.get_json()["code"] == "frame_out_of_range"
    assert client.get("/frame/nope/0").status_code == 404
    missing = client.get("/job_status/nope")
    assert missing.status_code == 404 and missing.get_json()["error"]


def test_a_job_not_yet_done_is_queued_or_processing_and_has_no_frames(replay_path, cut):
    pipeline, client = _client(replay_path)
    with pipeline.gate.turn():  # streaming traffic holds the model
        job_id = client.post("/process_video_async", data=_upload(cut),
                             content_type=MULTIPART).get_json()["job_id"]  # fmt: skip
        time.sleep(0.2)
        body = client.get(f"/job_status/{job_id}").get_json()
        assert body["status"] in {"queued", "processing"} and body["elapsed_time"] >= 0
        early = client.get(f"/frame/{job_id}/0")
        assert early.status_code == 400 and early.get_json()["code"] == "job_not_complete"
    assert _poll(client, job_id)[0]["status"] == "complete"


def test_a_pose_video_job_is_shared_but_has_no_rendered_frames(client):
    """/job_status reads the same jobs as /jobs; a /pose/video job draws nothing."""
    frame = b64(png_bytes(WIDTH, HEIGHT))
    job_id = client.post("/pose/video", json={"frames": [frame] * 5}).get_json()["job_id"]
    body, _ = _poll(client, job_id)
    assert body["status"] == "complete" and body["output_path"] is None
    assert body["result"]["frame_count"] == 5
    missing = client.get(f"/frame/{job_id}/0")
    assert missing.status_code == 404 and missing.get_json()["code"] == "no_output"
    assert client.get(f"/jobs/{job_id}").get_json()["status"] == "done"


def test_outputs_beyond_the_size_bound_are_deleted_oldest_first(replay_path, cut):
    _, client = _client(replay_path, legacy_output_max_bytes=1)  # keeps only the newest
    first = client.post("/process_video", data=_upload(cut, max_frames="2"),
                        content_type=MULTIPART).get_json()["data"]  # fmt: skip
    second = client.post("/process_video", data=_upload(cut, max_frames="2"),
                         content_type=MULTIPART).get_json()["data"]  # fmt: skip
    assert not Path(first["output_dir"]).exists() and Path(second["output_path"]).is_file()
    gone = client.get(f"/frame/{first['job_id']}/0")
    assert gone.status_code == 404 and "LEGACY_OUTPUT_MAX_BYTES" in gone.get_json()["error"]
    assert client.get(f"/frame/{second['job_id']}/1").status_code == 200


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["/process_video", "/process_video_async"])
@pytest.mark.parametrize(
    ("fields", "code"),
    [({"max_frames": "abc"}, "invalid_value"), ({"max_frames": "0"}, "invalid_value"),
     ({"max_frames": "-3"}, "invalid_value"), ({"max_frames": " 5"}, "invalid_value"),
     ({"output_format": "json"}, "invalid_value")],
)  # fmt: skip
def test_bad_fields_are_a_400_naming_them(client, cut, route, fields, code):
    response = client.post(route, data=_upload(cut, **fields), content_type=MULTIPART)
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == code and next(iter(fields)) in body["error"]


@pytest.mark.parametrize("route", ["/process_video", "/process_video_async"])
def test_no_video_or_not_a_video_is_a_400(client, route):
    missing = client.post(route, data={"max_frames": "10"}, content_type=MULTIPART)
    assert missing.status_code == 400 and missing.get_json()["code"] == "missing_video"
    assert '"video"' in missing.get_json()["error"]
    assert client.post(route, json={}).get_json()["code"] == "missing_video"
    garbage = client.post(route, data=_upload(b"not a video" * 100), content_type=MULTIPART)
    assert garbage.status_code == 400 and garbage.get_json()["code"] == "bad_video"
    # A 1x1 GIF is a video to OpenCV, but too small for its MPEG-4 writer (found by fuzzing)
    gif = io.BytesIO()
    Image.new("RGB", (1, 1)).save(gif, format="GIF")
    tiny = client.post(route, data=_upload(gif.getvalue()), content_type=MULTIPART)
    assert tiny.status_code == 400 and tiny.get_json()["code"] == "bad_video"
    assert "1x1" in tiny.get_json()["error"]


def test_the_service_limits_hold(replay_path, cut):
    _, small_body = _client(replay_path, max_body_bytes=len(cut) // 2)
    too_big = small_body.post("/process_video", data=_upload(cut), content_type=MULTIPART)
    assert too_big.status_code == 413 and too_big.get_json()["code"] == "body_too_large"
    _, few_pixels = _client(replay_path, max_job_pixels=3 * CUT_SIZE[0] * CUT_SIZE[1])
    refused = few_pixels.post("/process_video", data=_upload(cut, max_frames="4"),
                              content_type=MULTIPART)  # fmt: skip
    assert refused.status_code == 413 and refused.get_json()["code"] == "job_too_large"
    taken = few_pixels.post("/process_video", data=_upload(cut, max_frames="3"),
                            content_type=MULTIPART)  # fmt: skip
    assert taken.status_code == 200


def test_a_full_job_queue_and_a_loading_model_are_503s(replay_path, cut):
    pipeline, client = _client(replay_path, max_jobs=1)
    with pipeline.gate.turn():
        assert client.post("/process_video_async", data=_upload(cut),
                           content_type=MULTIPART).status_code == 200  # fmt: skip
        for route in ("/process_video_async", "/process_video"):
            full = client.post(route, data=_upload(cut), content_type=MULTIPART)
            assert full.status_code == 503 and full.get_json()["code"] == "jobs_full"
            assert full.headers["Retry-After"] == "1"
    _, loading = _client(replay_path, load=False)
    warming = loading.post("/process_video", data=_upload(cut), content_type=MULTIPART)
    assert warming.status_code == 503 and warming.get_json()["code"] == "warming_up"


def test_a_video_longer_than_the_wait_is_a_503_with_its_job_id(replay_path, cut):
    """Behind the provisioned proxy (130 s) a longer wait would be cut and its result lost:
    after PROCESS_VIDEO_TIMEOUT_S the answer names the job, which goes on."""
    pipeline, client = _client(replay_path, process_video_timeout_s=0.3)
    with pipeline.gate.turn():
        response = client.post("/process_video", data=_upload(cut), content_type=MULTIPART)
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    body = response.get_json()
    assert body["code"] == "still_processing" and body["status"] == "processing"
    assert f"/job_status/{body['job_id']}" in body["error"]
    done, _ = _poll(client, body["job_id"])
    assert done["status"] == "complete" and done["result"]["processed_frames"] == CUT_FRAMES


def test_waiting_requests_never_hold_more_than_half_the_threads(replay_path, cut):
    """POSE_SERVICE_THREADS=2: one /process_video may wait for its video; a second one is a
    503 naming the asynchronous route, so frames always find a thread."""
    pipeline, client = _client(replay_path, threads=2)
    answers: list[int] = []

    def wait_for_a_video() -> None:
        other = client.application.test_client()
        answers.append(other.post("/process_video", data=_upload(cut),
                                  content_type=MULTIPART).status_code)  # fmt: skip

    with pipeline.gate.turn():
        waiting = threading.Thread(target=wait_for_a_video)
        waiting.start()
        deadline = time.monotonic() + 10
        while pipeline.gate.waiting == 0:  # the first one's job waits for the model
            assert time.monotonic() < deadline
            time.sleep(0.01)
        second = client.post("/process_video", data=_upload(cut), content_type=MULTIPART)
        assert second.status_code == 503 and second.get_json()["code"] == "jobs_full"
        assert "/process_video_async" in second.get_json()["error"]
    waiting.join(30)
    assert answers == [200]


# --- /warmup, /reload, /health -------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_warmup_answers_ready_with_each_role(client, method):
    response = getattr(client, method)("/warmup")
    assert response.status_code == 200
    body = response.get_json()
    jsonschema.validate(body, SCHEMAS["Warmup"])
    assert body["status"] == "ready" and body["message"]
    for role in ("hmr2", "vitdet"):
        assert body[role]["status"] == "loaded" and body[role]["model"] == "replay"
        assert body[role]["load_time_seconds"] >= 0


class SlowLoading(ReplayEstimator):
    def __init__(self, settings: Settings, release: threading.Event) -> None:
        super().__init__(settings)
        self.release = release

    def load(self) -> None:
        self.release.wait(10)
        super().load()


def test_warmup_waits_for_the_load_up_to_its_timeout(replay_path):
    release = threading.Event()
    settings = Settings(estimator="replay", replay_path=str(replay_path), warmup_timeout_s=0.2)
    pipeline = PosePipeline(settings, SlowLoading(settings, release))
    client = create_app(settings, pipeline, start_loading=False).test_client()
    started = time.monotonic()
    late = client.get("/warmup")  # starts the load, waits 0.2 s
    assert time.monotonic() - started >= 0.2
    assert late.status_code == 500 and late.headers["Retry-After"] == "1"
    body = late.get_json()
    jsonschema.validate(body, SCHEMAS["Warmup"])
    assert body["status"] == "error" and body["code"] == "warming_up"
    assert "POSE_SERVICE_WARMUP_TIMEOUT_S" in body["error"]
    assert body["hmr2"]["status"] == "not_loaded" and body["hmr2"]["error"]
    release.set()
    assert pipeline.wait_loaded(10) == "ready"
    assert client.post("/warmup").get_json()["status"] == "ready"


def test_warmup_says_why_the_load_failed(tmp_path):
    settings = Settings(estimator="replay", replay_path=str(tmp_path / "missing.npz"))
    client = create_app(settings, PosePipeline(settings), start_loading=False).test_client()
    response = client.get("/warmup")
    assert response.status_code == 500
    body = response.get_json()
    assert body["status"] == "error" and body["code"] == "model_unavailable"
    assert "missing.npz" in body["error"] and "missing.npz" in body["vitdet"]["error"]
    assert "Retry-After" not in response.headers


def test_reload_is_refused_saying_why_and_what_to_do(client):
    response = client.post("/reload", json={})
    assert response.status_code == 409
    body = response.get_json()
    jsonschema.validate(body, SCHEMAS["ReloadRefused"])
    assert body["status"] == "error" and body["code"] == "reload_unsupported"
    assert "restart" in body["error"]
    assert body["models"]["hmr2"] == "loaded"  # nothing was dropped
    assert client.get("/health").get_json()["status"] == "ready"


def test_health_marks_each_role_loaded_and_names_its_model(client):
    health = client.get("/health").get_json()
    assert health["models"]["hmr2"] == health["models"]["vitdet"] == "loaded"
    assert health["model_roles"] == {"hmr2": "replay", "vitdet": "replay"}
    jsonschema.validate(health, SCHEMAS["Health"])


def test_through_real_gunicorn_as_the_backend_sends_it(replay_service, cut):
    """multipart video + max_frames as a string (the mobile's 10-frames button through the
    backend), then the async route, /job_status and /frame, against the real server."""
    import requests

    url = replay_service.url
    files = {"video": ("clip.mp4", cut, "video/mp4")}
    form = {"max_frames": "10", "output_format": "file_path"}
    synced = requests.post(f"{url}/process_video", files=files, data=form, timeout=60)
    assert synced.status_code == 200, synced.text
    data = synced.json()["data"]
    assert data["processed_frames"] == 10 and len(data["frames"]) == 10
    assert _jpeg(base64.b64decode(data["frames"][9]["image_base64"])).shape[:2] == (362, 640)
    accepted = requests.post(f"{url}/process_video_async", files=files,
                             data={"max_frames": "999999"}, timeout=30).json()  # fmt: skip
    assert accepted["status"] == "accepted"
    deadline = time.monotonic() + 60
    while (body := requests.get(f"{url}/job_status/{accepted['job_id']}", timeout=10).json())[
        "status"
    ] in {"queued", "processing"}:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert body["status"] == "complete" and body["result"]["frame_count"] == CUT_FRAMES
    frame = requests.get(f"{url}/frame/{accepted['job_id']}/11", timeout=10)
    assert frame.headers["Content-Type"] == "image/jpeg" and _jpeg(frame.content).size
    assert requests.get(f"{url}/warmup", timeout=10).json()["status"] == "ready"
    assert requests.post(f"{url}/reload", json={}, timeout=10).status_code == 409
