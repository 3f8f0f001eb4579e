"""Per-frame service overhead: everything a frame costs except the estimator's forward pass.

Each frame goes through the service's own functions in the route's order (parse the body,
base64, decode, thumbnail + FIFO gate + session routing + tracking via ``PosePipeline.process``
with a zero-cost estimator, answer building, orjson encoding, the JSON log line) and, in the
same run, through the old service's way (stdlib ``json``, Pillow decode, ``tolist()`` of every
array and the faces on every frame, encoded like Flask's default provider). Run:

    .venv/bin/python -m benchmarks.overhead [--frames 60] [--json]
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import resource
import tempfile
import time
from typing import Any

import numpy as np
import orjson
from PIL import Image

from benchmarks.common import (
    clip_frame,
    detected,
    emit,
    encode,
    mesh_faces,
    parser,
    percentiles,
    walking_person,
)
from pose_service.estimators import Estimator

SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
WARMUP = 3  # untimed frames first: imports, first allocations, caches
STAGES = (
    "parse", "base64", "decode", "gate_thumbnail", "track", "answer", "json", "log", "release"
)  # fmt: skip


class ZeroCostEstimator(Estimator):
    """Returns the walking person instantly: what is left is the service's own cost."""

    name = "bench"
    model_version = "bench"

    def __init__(self, mesh: bool) -> None:
        self.mesh = mesh

    def load(self) -> None:
        return None

    def estimate(self, frame: Any) -> Any:
        from pose_service.types import Estimate

        people = []
        if detected(frame.frame_number):
            people.append(walking_person(frame.frame_number, frame.width, frame.height, self.mesh))
        return Estimate(people, self.model_version, {})

    def verify_install(self) -> dict[str, str]:
        return {}

    def model_status(self) -> dict[str, str]:
        return {"bench": "loaded"}

    def describe(self) -> dict[str, object]:
        return {"device": "cpu"}

    def faces(self) -> np.ndarray | None:
        return mesh_faces() if self.mesh else None


def _quiet_logger() -> Any:
    """The service's structlog JSON logger, writing to /dev/null instead of stdout."""
    from pose_service.observability import configure_logging, get_logger

    configure_logging("info", "json")
    handler = logging.getLogger().handlers[0]
    handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the process
    return get_logger("pose_service.api")


def _log_fields(outcome: Any, total_ms: float) -> dict[str, Any]:
    """The fields the route logs per frame (``routes._log_frame``)."""
    tracked = outcome.tracked
    return {
        "frame_number": outcome.frame.frame_number,
        "session": outcome.session_id,
        "source": tracked.source,
        "confidence": tracked.tracking_confidence,
        "track_id": tracked.track_id,
        "frames_since_detection": tracked.frames_since_detection,
        "timings_ms": {k: round(v, 2) for k, v in outcome.timings_ms.items()},
        "total_ms": round(total_ms, 2),
    }


def _old_answer(answer: dict[str, Any], faces: np.ndarray | None) -> dict[str, Any]:
    """The same answer as the old service built it: Python lists everywhere, faces each time."""
    old = dict(answer)
    for key in ("joints_3d_raw", "camera_translation", "mesh_vertices_data"):
        if isinstance(old.get(key), np.ndarray):
            old[key] = old[key].tolist()
    if old.get("mesh_faces_data") is not None and faces is not None:
        old["mesh_faces_data"] = faces.tolist()
    return old


def _old_decode(text: str) -> np.ndarray:
    image = Image.open(io.BytesIO(base64.b64decode(text)))
    return np.asarray(image.convert("RGB"))


def run_case(
    rgb: np.ndarray, fmt: str, mesh: bool, frames: int, fast_jpeg: bool = False
) -> dict[str, Any]:
    """``frames`` frames of one configuration: the service's way, then the old way.

    The two run one after the other in the same process, not frame by frame interleaved: the
    old way frees ~100 MB of Python floats per frame, which makes glibc hand heap pages back
    to the kernel, and the next new-way decode would fault ~1 400 fresh pages in (~2.5 ms) that
    the real service never faults (6 minor faults per 1080p frame in its gunicorn worker).
    ``page_faults`` reports the minor faults per frame of each, so this stays checkable.
    """
    from pose_service.api.json import dumps_bytes
    from pose_service.api.responses import FacesCache, build_frame_answer
    from pose_service.config import Settings
    from pose_service.pipeline import PosePipeline

    state_dir = tempfile.mkdtemp(prefix="pose-bench-")  # never the user's saved sessions
    settings = Settings(
        estimator="replay", queue_size=4, state_dir=state_dir, fast_jpeg_decode=fast_jpeg
    )
    pipeline = PosePipeline(settings, ZeroCostEstimator(mesh))
    pipeline.load()
    text = base64.b64encode(encode(rgb, fmt)).decode("ascii")
    log, faces_cache = _quiet_logger(), FacesCache(pipeline.faces)
    new, new_faults, sizes, last = _time_service_way(pipeline, text, frames, log, faces_cache)
    old, old_faults, sizes["baseline"] = _time_old_way(pipeline, text, frames, log, faces_cache)
    if mesh:
        for mesh_format in ("base64", "none"):
            answer = build_frame_answer(last, faces_cache, False, mesh_format)
            sizes[mesh_format] = len(dumps_bytes(answer))
    stats = {k: percentiles(v) for k, v in new.items()}
    baseline = {k: percentiles(v) for k, v in old.items()}
    return {
        "stages_ms": stats,
        "baseline_ms": baseline,
        "speedup_p50": _ratio(baseline["total"], stats["total"]),
        "serialise_speedup_p50": _ratio(baseline["serialise"], stats["serialise"]),
        "page_faults": {"service": new_faults, "baseline": old_faults},
        "answer_bytes": sizes,
    }


def _time_service_way(
    pipeline: Any, text: str, frames: int, log: Any, faces_cache: Any
) -> tuple[dict[str, list[float]], float, dict[str, int], Any]:
    """Each stage of the route, timed per frame (after ``WARMUP`` untimed frames)."""
    from pose_service.api.json import dumps_bytes
    from pose_service.api.responses import build_frame_answer
    from pose_service.imaging import decode_base64_image, decode_image
    from pose_service.types import Frame

    settings = pipeline.settings
    times: dict[str, list[float]] = {s: [] for s in (*STAGES, "serialise", "total")}
    sizes: dict[str, int] = {}
    last = None
    faults_before = 0
    for n in range(WARMUP + frames):
        if n == WARMUP:
            faults_before = _minor_faults()
        body = orjson.dumps({"image_base64": text, "frame_number": n})
        marks = [time.perf_counter()]
        request = orjson.loads(body)
        marks.append(time.perf_counter())
        data = decode_base64_image(request["image_base64"])
        marks.append(time.perf_counter())
        frame = Frame(
            decode_image(data, settings.max_image_pixels, settings.fast_jpeg_decode),
            request["frame_number"],
        )
        marks.append(time.perf_counter())
        outcome = pipeline.process(frame)
        marks.append(time.perf_counter())
        answer = build_frame_answer(outcome, faces_cache)
        marks.append(time.perf_counter())
        encoded = dumps_bytes(answer)
        marks.append(time.perf_counter())
        log.info("frame", **_log_fields(outcome, (marks[-1] - marks[0]) * 1e3))
        marks.append(time.perf_counter())
        inner = outcome.timings_ms
        sizes["full"] = len(encoded)
        last = outcome
        del request, data, frame, outcome, answer, encoded
        marks.append(time.perf_counter())
        if n < WARMUP:
            continue
        steps = np.diff(marks) * 1e3
        process_ms = steps[3] - inner["inference"]
        values = dict(zip(("parse", "base64", "decode"), steps[:3], strict=True))
        values.update(
            gate_thumbnail=process_ms - inner["tracking"],
            track=inner["tracking"],
            answer=steps[4],
            json=steps[5],
            log=steps[6],
            release=steps[7],
        )
        values["serialise"] = values["answer"] + values["json"]
        values["total"] = sum(values[s] for s in STAGES)
        for key, value in values.items():
            times[key].append(float(value))
    return times, round((_minor_faults() - faults_before) / frames, 1), sizes, last


def _time_old_way(
    pipeline: Any, text: str, frames: int, log: Any, faces_cache: Any
) -> tuple[dict[str, list[float]], float, int]:
    """The same frames through the old service's decode and encoding, same pipeline."""
    from pose_service.api.responses import build_frame_answer
    from pose_service.types import Frame

    raw_faces = pipeline.faces
    times: dict[str, list[float]] = {"decode": [], "serialise": [], "total": []}
    size = 0
    faults_before = 0
    for n in range(WARMUP + frames):
        if n == WARMUP:
            faults_before = _minor_faults()
        body = orjson.dumps({"image_base64": text, "frame_number": n})
        start = time.perf_counter()
        request = json.loads(body)
        decode_start = time.perf_counter()
        frame = Frame(_old_decode(request["image_base64"]), request["frame_number"])
        decode_end = time.perf_counter()
        outcome = pipeline.process(frame, video_id="baseline")
        build_start = time.perf_counter()
        old_body = json.dumps(
            _old_answer(build_frame_answer(outcome, faces_cache), raw_faces),
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
        build_end = time.perf_counter()
        log.info("frame", **_log_fields(outcome, 0.0))
        inference_ms = outcome.timings_ms["inference"]
        size = len(old_body)
        del request, frame, outcome, old_body
        end = time.perf_counter()
        if n < WARMUP:
            continue
        times["decode"].append((decode_end - decode_start) * 1e3)
        times["serialise"].append((build_end - build_start) * 1e3)
        times["total"].append((end - start) * 1e3 - inference_ms)
    return times, round((_minor_faults() - faults_before) / frames, 1), size


def _minor_faults() -> int:
    """Minor page faults of this process so far (fresh pages the kernel had to map in)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _ratio(old: dict[str, float], new: dict[str, float]) -> float:
    return round(old["p50"] / max(new["p50"], 1e-6), 2)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=60, help="frames per configuration")
    p.add_argument("--sizes", default="720p,1080p")
    p.add_argument("--formats", default="JPEG,PNG")
    p.add_argument("--fast-jpeg", action="store_true", help="POSE_SERVICE_FAST_JPEG_DECODE=true")
    args = p.parse_args(argv)
    cases: dict[str, Any] = {}
    for size in args.sizes.split(","):
        rgb = clip_frame(*SIZES[size])
        for fmt in args.formats.split(","):
            for mesh in (True, False):
                name = f"{size}_{fmt.lower()}_{'mesh' if mesh else 'nomesh'}"
                cases[name] = run_case(rgb, fmt, mesh, args.frames, args.fast_jpeg)
    result = {
        "benchmark": "overhead",
        "frames_per_case": args.frames,
        "fast_jpeg_decode": args.fast_jpeg,
        "cases": cases,
    }
    header = [
        "case", *[f"{s} p50" for s in STAGES], "total p50", "total p95",
        "old total p50", "x faster", "old serialise p50", "serialise x faster",
    ]  # fmt: skip
    rows = [
        [
            name,
            *[c["stages_ms"][s]["p50"] for s in STAGES],
            c["stages_ms"]["total"]["p50"],
            c["stages_ms"]["total"]["p95"],
            c["baseline_ms"]["total"]["p50"],
            c["speedup_p50"],
            c["baseline_ms"]["serialise"]["p50"],
            c["serialise_speedup_p50"],
        ]
        for name, c in cases.items()
    ]
    emit(result, rows, header, args.json)
    return result


if __name__ == "__main__":
    main()
