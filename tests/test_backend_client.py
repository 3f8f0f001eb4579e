"""The service as the Node.js backend calls it: ``tests/backend_client/client.mjs`` (axios 1.13.2,
form-data 4.0.5, Node's keep-alive ``http.globalAgent``; our own code, written from the facts in
the backend-call notes) against the real service under real gunicorn.

The client runs once (module fixture) and writes a JSON report; each test judges one target:

- (i) no frame is answered from another video's session (the backend sends no video id);
- (ii) the upload path (string-sorted ``frame-%d.png`` order through the 4-active pool) gives
  each clip the same has_3d share (within 1 point) and the same number of sessions (within 1)
  as the same frames sent in time order;
- (iii) no connection error (EPIPE, ECONNRESET, socket hang up) on a JSON frame sent on the
  same agent right after a refused multipart ``/pose/hybrid``, after a 404 with a >64 KiB body,
  or after 5.5 s idle (Node 20's free-socket timeout is 5 s);
- (iv) every legacy route the backend calls (``/warmup``, ``/reload``, ``/process_video``,
  ``/process_video_async``, ``/job_status/<id>``, ``/frame/<job>/<i>``) answers 2xx with the
  shape the backend and the mobile app read;
- (v) every ``/pose/hybrid`` answer carries what a replacement must return (camera_params
  included);
- plus ``/health`` as the backend's gate and the mobile read it, and a check that the client
  itself drove the service like the backend (string order, one frame at a time, 4 at most).

Scenarios: analyze-4d (health gate, then positions 0-4 one at a time with ``visualize: true``)
for the runner clip, the same clip again (a retry), the time-reversed clip and a cut (frames
40-139); two uploads at once through one pool (max 4 active, FIFO queue, 50 ms after the last
start), every frame with ``frame_number`` = position in string-sorted order, and the same two
uploads in time order for comparison; the refusals and idle waits of (iii); the legacy routes.

What differs from a user's install and from the backend: the service runs the lite estimator on
a free loopback port with its sessions in a temporary state directory (otherwise its defaults);
the uploads are the first 120 frames of the runner and reversed clips (runtime), and the pool's
queue is raised from the backend's 100 to 1000 so that both uploads are sent whole (with 100 the
backend itself drops every frame beyond 104 submitted; the service cannot answer those);
``/process_video``'s unlimited axios timeout is capped at 10 minutes so a hung route fails the
test instead of hanging it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from tests.support.frames import REPO, RUNNER_CLIP
from tests.support.server import launch

pytestmark = pytest.mark.slow

CLIENT_DIR = REPO / "tests" / "backend_client"
WIDTH, HEIGHT = 640, 360  # the backend's ffmpeg: scale=640:360
UPLOAD_FRAMES = 120
ANALYZE = ["runner", "runner", "reversed", "cut"]  # the second runner is a retry
UPLOADS = ["runner-120", "reversed-120"]
NODE_TIMEOUT_S = 900
CONNECTION_ERRORS = {"ECONNRESET", "EPIPE"}


def _node_or_skip() -> str:
    node = shutil.which("node")
    if node is None:
        reason = "node is not installed (Node 20 + npm); .ci/run installs it"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI must run the backend-client tests", pytrace=False)
        pytest.skip(reason)
    if not (CLIENT_DIR / "node_modules" / "axios" / "package.json").is_file():
        npm = shutil.which("npm")
        cmd = [npm or "npm", "ci", "--prefix", str(CLIENT_DIR), "--no-audit", "--no-fund"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600) if npm else None
        if done is None or done.returncode != 0:
            reason = f"npm ci in {CLIENT_DIR} failed: {done.stderr[-2000:] if done else 'no npm'}"
            if os.environ.get("CI"):
                pytest.fail(reason, pytrace=False)
            pytest.skip(reason)
    return node


def _write_clips(root: Path) -> dict[str, Path]:
    """The backend's extraction of each clip: ``frame-1.png`` .. ``frame-N.png``, 640x360,
    ``frame-K.png`` = video frame K-1. Clips sharing a picture share the file (hard link)."""
    import cv2

    runner = root / "runner"
    runner.mkdir()
    capture = cv2.VideoCapture(str(RUNNER_CLIP))
    count = 0
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        small = cv2.resize(bgr, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
        assert cv2.imwrite(str(runner / f"frame-{count + 1}.png"), small)
        if count == 90:  # the multipart refusal's file: a real JPEG well over 64 KiB
            big = cv2.resize(bgr, (1280, 720), interpolation=cv2.INTER_AREA)
            assert cv2.imwrite(str(root / "frame.jpg"), big, [cv2.IMWRITE_JPEG_QUALITY, 95])
        count += 1
    capture.release()
    assert count == 180, count
    sources = {
        "reversed": list(range(count - 1, -1, -1)),
        "cut": list(range(40, 140)),
        "runner-120": list(range(UPLOAD_FRAMES)),
        "reversed-120": list(range(count - 1, -1, -1))[:UPLOAD_FRAMES],
    }
    dirs = {"runner": runner}
    for name, indices in sources.items():
        clip = root / name
        clip.mkdir()
        for k, source in enumerate(indices):
            os.link(runner / f"frame-{source + 1}.png", clip / f"frame-{k + 1}.png")
        dirs[name] = clip
    assert (root / "frame.jpg").stat().st_size > 64 * 1024
    return dirs


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    node = _node_or_skip()
    root = tmp_path_factory.mktemp("backend_client")
    clips = _write_clips(root)
    service = launch(root, {"POSE_SERVICE_ESTIMATOR": "lite"})
    out = root / "report.json"
    cmd = [
        node, str(CLIENT_DIR / "client.mjs"), "--url", service.url,
        *[f"--clip={name}={path}" for name, path in clips.items()],
        "--analyze", ",".join(ANALYZE), "--uploads", ",".join(UPLOADS),
        "--upload-orders", "time,sorted", "--queue-max", "1000",
        "--jpeg", str(root / "frame.jpg"), "--follow-clip", "runner",
        "--refusal-rounds", "10", "--not-found-rounds", "3", "--idle-ms", "5500",
        "--video", str(RUNNER_CLIP), "--async-max-frames", "999999",
        "--job-deadline-s", "240", "--cap-timeout-ms", "600000",
        "--report", str(out),
    ]  # fmt: skip
    start = time.monotonic()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=NODE_TIMEOUT_S)
    finally:
        service.stop()
    elapsed = time.monotonic() - start
    assert out.is_file(), f"client wrote no report: rc {done.returncode}\n{done.stderr[-4000:]}"
    data = json.loads(out.read_text())
    assert "client_error" not in data, data["client_error"]
    assert done.returncode == 0, done.stderr[-4000:]
    data["wall_s"] = round(elapsed, 1)
    print(f"\nbackend client: {len(data['requests'])} requests in {elapsed:.1f} s; report {out}")
    return data


# --- helpers ---


def _frames(report: dict, scenario: str | None = None) -> list[dict]:
    """The JSON /pose/hybrid requests (not the refusals themselves)."""
    return [
        r
        for r in report["requests"]
        if r.get("video") and (scenario is None or r["scenario"] == scenario)
    ]


def _session(r: dict) -> str | None:
    answer = r.get("answer") or {}
    return answer.get("session_id") or (answer.get("temporal") or {}).get("session_id")


def _is_connection_error(r: dict) -> bool:
    if r.get("status") is not None:
        return False
    message = (r.get("error_message") or "").lower()
    return r.get("error_code") in CONNECTION_ERRORS or "socket hang up" in message


def _outcome(r: dict) -> str:
    if r.get("status") is not None:
        return str(r["status"])
    return r.get("error_code") or r.get("error_message") or "?"


# --- (i) videos apart ---


def test_no_frame_is_answered_from_another_videos_session(report: dict) -> None:
    """A session belongs to the video that sent its first frame; a frame of any other video
    answered in it was tracked together with a video it is not part of."""
    frames = sorted((r for r in _frames(report) if _session(r)), key=lambda r: r["started_ms"])
    owner: dict[str, str] = {}
    for r in frames:
        owner.setdefault(_session(r), r["video"])
    mixed = [r for r in frames if owner[_session(r)] != r["video"]]
    per_video = Counter(r["video"] for r in frames)
    detail: dict[str, Counter[str]] = defaultdict(Counter)
    rules: dict[str, Counter[str]] = defaultdict(Counter)
    for r in mixed:
        detail[r["video"]][owner[_session(r)]] += 1
        temporal = (r.get("answer") or {}).get("temporal") or {}
        rules[r["video"]][str(temporal.get("session_rule"))] += 1
    lines = [
        f"{video}: {sum(others.values())}/{per_video[video]} frames in sessions of "
        f"{dict(others)} (session_rule {dict(rules[video])})"
        for video, others in sorted(detail.items())
    ]
    assert not mixed, (
        f"{len(mixed)}/{len(frames)} frames answered from another video's session:\n"
        + "\n".join(lines)
    )


# --- (ii) string-sorted upload order vs time order ---


def _upload_summary(report: dict) -> dict[tuple[str, str], dict]:
    out: dict[tuple[str, str], dict] = {}
    for clip in UPLOADS:
        for order in ("sorted", "time"):
            rs = [r for r in _frames(report, "upload") if r["clip"] == clip and r["order"] == order]
            answered = [r for r in rs if r.get("status") == 200]
            with_3d = sum(1 for r in answered if (r.get("answer") or {}).get("has_3d") is True)
            out[clip, order] = {
                "sent": len(rs),
                "answered": len(answered),
                "has_3d_pct": round(100.0 * with_3d / len(rs), 1) if rs else 0.0,
                "sessions": len({_session(r) for r in answered if _session(r)}),
                "not_answered": dict(Counter(_outcome(r) for r in rs if r.get("status") != 200)),
            }
    return out


def test_upload_order_keeps_has_3d_and_sessions_of_time_order(report: dict) -> None:
    summary = _upload_summary(report)
    problems = []
    lines = []
    for clip in UPLOADS:
        s, t = summary[clip, "sorted"], summary[clip, "time"]
        lines.append(
            f"{clip}: has_3d {s['has_3d_pct']}% string-sorted vs {t['has_3d_pct']}% time order, "
            f"sessions {s['sessions']} vs {t['sessions']}, answered {s['answered']}/{s['sent']} "
            f"vs {t['answered']}/{t['sent']} {s['not_answered'] or ''}{t['not_answered'] or ''}"
        )
        assert s["sent"] == t["sent"] == UPLOAD_FRAMES, summary
        if abs(s["has_3d_pct"] - t["has_3d_pct"]) > 1.0:
            problems.append(f"{clip}: has_3d differs by more than 1 point")
        if abs(s["sessions"] - t["sessions"]) > 1:
            problems.append(f"{clip}: sessions differ by more than 1")
    print("\n" + "\n".join(lines))
    assert not problems, "\n".join(problems + lines)


# --- (iii) refusals and idle waits on a kept-alive socket ---


def test_no_connection_errors_after_a_refusal_or_an_idle_wait(report: dict) -> None:
    refusal = [r for r in report["requests"] if r["scenario"] == "refusal"]
    lines, failed = [], []
    for before, after in (
        ("multipart", "after-multipart"),
        ("not-found", "after-not-found"),
        ("before-idle", "after-idle"),
    ):
        first = [r for r in refusal if r["kind"] == before]
        follow = [r for r in refusal if r["kind"] == after]
        errors = [r for r in follow if _is_connection_error(r)]
        assert follow, f"no {after} requests in the report"
        lines.append(
            f"{after}: {len(errors)}/{len(follow)} connection errors "
            f"{dict(Counter(_outcome(r) for r in follow))}; the {before} requests themselves: "
            f"{dict(Counter(_outcome(r) for r in first))}"
        )
        failed += errors
    print("\n" + "\n".join(lines))
    assert not failed, "\n".join(lines)


# --- (iv) legacy routes ---


def _number(v: str) -> bool:
    return v == "number"


def _legacy_problems(route: str, rec: dict) -> list[str]:
    """What the backend (and the mobile behind it) reads from each legacy answer."""
    status = rec.get("status")
    if route == "POST /reload" and status is not None and 400 <= status < 600:
        # The issue allows a clear refusal in the old shape where nothing can be reloaded
        # safely (the old service's 500 {status: "error", error}); the backend maps it to its
        # own 500 {status: "error", error}.
        fields = rec.get("fields") or {}
        ok = fields.get("status") == "error" and isinstance(fields.get("error"), str)
        return [] if ok else [f"refused without the old shape: {fields}"]
    if status is None or not 200 <= status < 300:
        return [f"answered {_outcome(rec)} {rec.get('fields') or rec.get('error_message') or ''}"]
    shape, fields = rec.get("shape"), rec.get("fields") or {}
    problems: list[str] = []

    def need(cond: bool, what: str) -> None:
        if not cond:
            problems.append(what)

    if route == "GET /frame/<job>/<i>":
        need(str(rec.get("content_type", "")).startswith("image/jpeg"), "Content-Type image/jpeg")
        need(bool(rec.get("jpeg")), "a JPEG body")
        return problems
    if not isinstance(shape, dict):
        return [f"not a JSON object: {shape}"]
    if route == "GET /warmup":
        need(fields.get("status") in {"ready", "partial"}, "status ready|partial")
        need(shape.get("message") == "string", "message")
        for model in ("hmr2", "vitdet"):
            sub = shape.get(model)
            need(isinstance(sub, dict) and sub.get("status") == "string", f"{model}.status")
    elif route == "POST /reload":
        need(fields.get("status") == "reloaded", "status reloaded")
        need(shape.get("message") == "string", "message")
        need(isinstance(shape.get("models"), dict), "models object")
    elif route == "POST /process_video":
        need(fields.get("status") == "success", "status success")
        data = shape.get("data")
        need(isinstance(data, dict), "data object")
        if isinstance(data, dict):
            for key in ("processed_frames", "total_frames", "fps"):
                need(_number(data.get(key)), f"data.{key} number")
            for key in ("processing_time_seconds", "output_size_mb"):
                need(_number(data.get(key)), f"data.{key} number")
            need(data.get("output_path") == "string", "data.output_path string")
            res = data.get("resolution")
            need(isinstance(res, dict) and res.get("array") == 2, "data.resolution [w, h]")
            need(isinstance(data.get("frames"), dict), "data.frames array")
    elif route == "POST /process_video_async":
        need(fields.get("status") == "accepted", "status accepted")
        need(isinstance(fields.get("job_id"), str) and bool(fields.get("job_id")), "job_id")
    elif route == "GET /job_status/<id>":
        need(fields.get("job_id") == rec.get("job_id"), "job_id echoed")
        need(fields.get("status") == "complete", f"status complete (got {fields.get('status')})")
        if fields.get("status") == "complete":
            need(isinstance(shape.get("result"), dict), "result object")
            need(shape.get("output_path") == "string", "output_path string")
            need(_number(shape.get("processing_time")), "processing_time number")
    return problems


LEGACY_ROUTES = [
    "GET /warmup",
    "POST /reload",
    "POST /process_video",
    "POST /process_video_async",
    "GET /job_status/<id>",
    "GET /frame/<job>/<i>",
]


@pytest.mark.parametrize("route", LEGACY_ROUTES)
def test_legacy_route_answers_2xx_with_the_shape_the_backend_reads(
    report: dict, route: str
) -> None:
    recs = [r for r in report["legacy"] if r["route"] == route]
    assert len(recs) == 1, f"{route}: {len(recs)} records"
    rec = recs[0]
    problems = _legacy_problems(route, rec)
    shown = {k: rec.get(k) for k in ("status", "error_code", "content_type", "fields", "polls")}
    assert not problems, f"{route}: {'; '.join(problems)} ({shown})"


# --- (v) the fields of every /pose/hybrid answer ---

KEYPOINT_SHAPE_OK = {
    "name:string,x:number,y:number,z:number,confidence:number",
    "name:string,x:number,y:number,z:undefined,confidence:number",
}


def _answer_problems(r: dict) -> list[str]:
    a = r.get("answer") or {}
    if r.get("status") != 200:
        return [f"HTTP {r.get('status')} {a.get('error_code') or a.get('error') or ''}".strip()]
    if not a.get("json_object"):
        return ["not a JSON object"]
    p = []
    if not str(r.get("content_type") or "").startswith("application/json"):
        p.append("Content-Type not application/json")
    if r.get("elapsed_ms", 0) >= 120000:
        p.append("answered after 120 s")
    if a.get("frame_number") != r["frame_number_sent"]:
        p.append("frame_number not echoed")
    if a.get("keypoints_type") != "array":
        p.append("keypoints not an array")
    elif a.get("keypoint_count") != a.get("keypoints_length"):
        p.append("keypoint_count != len(keypoints)")
    if set(a.get("keypoint_shapes") or []) - KEYPOINT_SHAPE_OK:
        p.append("keypoint without name/x/y/confidence (or z not a number)")
    if not isinstance(a.get("has_3d"), bool):
        p.append("has_3d not a boolean")
    elif a.get("has_3d") and not a.get("keypoints_length"):
        p.append("has_3d true with no keypoints")
    for key in ("processing_time_ms",):
        if a.get(key) != "number":
            p.append(f"{key} not a number")
    for key in ("frame_width", "frame_height"):
        if not isinstance(a.get(key), int | float) or isinstance(a.get(key), bool):
            p.append(f"{key} not a number")
    if a.get("model_version") != "string":
        p.append("model_version not a string")
    if r.get("visualize"):
        vis = a.get("visualization") or {}
        if not (vis.get("prefix_ok") and vis.get("complete")):
            p.append("visualization not a complete data:image/png;base64 string")
    if a.get("joint_angles_3d_type") not in {"object", "null", "undefined"}:
        p.append(f"joint_angles_3d is a {a.get('joint_angles_3d_type')}")
    for angle, kind in (a.get("joint_angles_3d") or {}).items():
        if kind not in {"number", "null", "absent"}:
            p.append(f"joint_angles_3d.{angle} is a {kind}")
    if a.get("has_3d"):
        cam = a.get("camera_params")
        if not a.get("camera_params_present"):
            p.append("camera_params missing")
        elif not (
            isinstance(cam, dict) and all(cam.get(k) == "number" for k in ("scale", "tx", "ty"))
        ):
            p.append(f"camera_params not {{scale, tx, ty}} numbers: {cam}")
    return p


def test_every_hybrid_answer_has_the_fields_a_replacement_must_return(report: dict) -> None:
    answered = [r for r in _frames(report) if r.get("status") is not None]
    assert answered
    problems: Counter[str] = Counter()
    where: dict[str, Counter[str]] = defaultdict(Counter)
    for r in answered:
        for problem in _answer_problems(r):
            problems[problem] += 1
            where[problem][r["scenario"]] += 1
    lines = [
        f"{n}/{len(answered)} answers: {p} {dict(where[p])}" for p, n in problems.most_common()
    ]
    assert not problems, "\n".join(lines)


# --- /health as the backend's gate and the mobile read it ---


def test_health_answers_the_gate_and_the_mobile(report: dict) -> None:
    problems = []
    for h in report["health"]:
        if h.get("status") != 200 or h.get("elapsed_ms", 1e9) >= 5000:
            problems.append(f"{h['label']}: {_outcome(h)} in {h.get('elapsed_ms')} ms")
            continue
        models = h.get("models") or {}
        if h.get("body_status") not in {"ready", "warming_up", "not_ready"}:
            problems.append(f"{h['label']}: status {h.get('body_status')}")
        if not isinstance(h.get("ready"), bool):
            problems.append(f"{h['label']}: ready {h.get('ready')}")
        for m in ("hmr2", "vitdet"):
            if models.get(m) not in {"loaded", "not_loaded"}:
                problems.append(f"{h['label']}: models.{m} {models.get(m)}")
    assert not problems, "\n".join(problems)
    assert report["health"][0]["body_status"] == "ready" and report["health"][0]["ready"] is True


# --- the client did what the backend does ---


def test_the_client_calls_like_the_backend(report: dict) -> None:
    assert report["axios"] == "1.13.2" and report["form_data"] == "4.0.5", report
    # analyze-4d: string-sorted positions 0-4, each sent after the previous answer
    for video in {r["video"] for r in _frames(report, "analyze-4d")}:
        rs = [r for r in _frames(report, "analyze-4d") if r["video"] == video]
        assert [r["frame_number_sent"] for r in rs] == [0, 1, 2, 3, 4], video
        clip = rs[0]["clip"]
        expected = {"cut": [0, 9, 99, 10, 11]}.get(clip, [0, 9, 99, 100, 101])
        assert [r["video_frame"] for r in rs] == expected, video
        for prev, cur in zip(rs, rs[1:], strict=False):
            assert cur["started_ms"] >= prev["started_ms"] + prev["elapsed_ms"], video
    # the upload pool: 4 active at most, the first request alone, then spaced starts
    pool = report["pool"]
    assert pool["max_active"] == 4 and pool["rejected"] == 0, pool
    starts = pool["starts_ms"]
    assert starts[1] - starts[0] >= 45 and starts[3] - starts[1] < 45, starts[:6]
    sorted_run = [r for r in _frames(report, "upload") if r["order"] == "sorted"]
    first = sorted(
        (r for r in sorted_run if r["clip"] == UPLOADS[0]), key=lambda r: r["frame_number_sent"]
    )
    assert [r["file"] for r in first[:4]] == [
        "frame-1.png",
        "frame-10.png",
        "frame-100.png",
        "frame-101.png",
    ]
