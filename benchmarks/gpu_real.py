"""GPU figures of the real architectures: the service's ``HMR2Estimator`` with 4D-Humans' HMR2
and ViTDet-H (random weights: the same work as the released models), per 1080p frame.

``benchmarks/gpu_detect`` times timm look-alikes of the two backbones; this one times what the
service runs: the real ``hmr2.models.HMR2`` and ViTDet-H's LazyConfig, built as random-weight
stand-ins by ``tests/upstream/stand_ins.py`` (reused, not copied), loaded by the project's
estimator and driven through ``PosePipeline`` with the ``POSE_SERVICE_*`` settings under test:

- ``every_frame``: ViTDet-H and HMR2 on every frame (``DETECT_EVERY_FRAMES=1``);
- ``reacquire``: ViTDet-H once in ``--every`` frames, HMR2 on the track's box in between
  (``DETECT_EVERY_FRAMES=10``); the frames the detector ran on are counted, not assumed;
- ``batch4_*``: ``--batch`` frames of as many videos per pass (``BATCH_FRAMES=4``):
  ``estimate_batch``, the call the pipeline makes for a batch, one ViTDet pass for the frames
  that need it and their crops through HMR2 together;
- ``*_fp16``: ``HMR2_FP16`` (autocast of HMR2 on CUDA), with the joints' fp16-vs-fp32 difference
  in millimetres on the same crops as the accuracy argument.

Each mode reports ms per frame (p50/p95/mean, warm-up excluded) and torch's peak GPU memory.
The stand-in ViTDet scores every proposal as a person; its detections are capped at
``--people`` per image (the runner clip has one person), so HMR2 and the mask head do the work
of the real clip, not of 100 boxes. Without CUDA it says so and exits 0 (``--device cpu``
forces a run; ``--smoke`` shrinks ViTDet's input from 1024 to 256 pixels so a CPU finishes).

    python -m benchmarks.gpu_real [--frames 60] [--every 10] [--batch 4] [--out DIR] [--json]

On the lent GPU machine: ``benchmarks/device/run.sh`` (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import tempfile
import time
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import REPO, RUNNER_CLIP, percentiles

RESOLUTIONS = {"1080p": (1920, 1080), "720p": (1280, 720), "small": (320, 180)}
JSON_NAME = "gpu_real.json"
TARGET_P50_MS = 60.0  # issue 12: detect on reacquire, per 1080p frame on a lent GPU
ACCURACY_CROPS = 8


@dataclass(frozen=True)
class Mode:
    """One configuration of the service, as its ``POSE_SERVICE_*`` settings say it."""

    name: str
    every: int = 1  # DETECT_EVERY_FRAMES
    batch: int = 1  # BATCH_FRAMES
    fp16: bool = False  # HMR2_FP16

    def env(self) -> dict[str, str]:
        return {
            "POSE_SERVICE_DETECT_EVERY_FRAMES": str(self.every),
            "POSE_SERVICE_BATCH_FRAMES": str(self.batch),
            "POSE_SERVICE_HMR2_FP16": "1" if self.fp16 else "0",
        }


def modes(every: int, batch: int) -> list[Mode]:
    """Every mode the issue asks for, fp32 first (the fp16 ones compare against them)."""
    return [
        Mode("every_frame"),
        Mode("reacquire", every=every),
        Mode(f"batch{batch}_every_frame", batch=batch),
        Mode(f"batch{batch}_reacquire", every=every, batch=batch),
        Mode("every_frame_fp16", fp16=True),
        Mode("reacquire_fp16", every=every, fp16=True),
        Mode(f"batch{batch}_reacquire_fp16", every=every, batch=batch, fp16=True),
    ]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object, not the table")
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--frames", type=int, default=60, help="measured frames per mode")
    p.add_argument("--warmup", type=int, default=5, help="frames per mode left out of the figures")
    p.add_argument(
        "--every", type=int, default=10, help="DETECT_EVERY_FRAMES of the reacquire modes"
    )
    p.add_argument("--batch", type=int, default=4, help="BATCH_FRAMES of the batched modes")
    p.add_argument("--people", type=int, default=1, help="detections kept per image (see above)")
    p.add_argument("--resolution", default="1080p", choices=sorted(RESOLUTIONS))
    p.add_argument("--modes", default="", help="comma-separated subset of the modes (default all)")
    p.add_argument("--smoke", action="store_true", help="ViTDet input 256 px: a CPU smoke test")
    default_out = Path(os.environ["OUT"]) if os.environ.get("OUT") else None
    default_models = Path(tempfile.gettempdir()) / "gpu-real-models"
    p.add_argument("--models", type=Path, default=default_models, help="the stand-ins' folder")
    p.add_argument("--out", type=Path, default=default_out, help=f"{JSON_NAME} there ($OUT)")
    p.add_argument("--budget-s", type=float, default=330.0, help="no mode starts after this")
    args = p.parse_args(argv)
    if min(args.frames, args.every, args.batch, args.people) < 1 or args.warmup < 0:
        p.error("--frames, --every, --batch and --people must be >= 1, --warmup >= 0")
    known = {m.name for m in modes(args.every, args.batch)}
    unknown = set(selected(args)) - known
    if unknown:
        p.error(f"unknown modes {sorted(unknown)}; known: {sorted(known)}")
    return args


def selected(args: argparse.Namespace) -> list[str]:
    return [m for m in args.modes.split(",") if m] or [
        m.name for m in modes(args.every, args.batch)
    ]


def skip_reason(device: str) -> str | None:
    """Why this machine cannot run the benchmark, or None."""
    try:
        import torch
    except ImportError as exc:
        return f"needs torch ({exc.name} missing)"
    if device == "cuda" and not torch.cuda.is_available():
        return f"no CUDA device (torch {torch.__version__}); --device cpu forces a CPU run"
    return None


# --- the table -----------------------------------------------------------------------------


def ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 3) if denominator > 0 else None


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """The figures the issue's targets name, from the per-mode results."""
    figures = result.get("modes", {})
    out: dict[str, Any] = {}
    every, reacquire = figures.get("every_frame"), figures.get("reacquire")
    if every and reacquire:
        out["reacquire_vs_every_frame_p50"] = ratio(reacquire["ms"]["p50"], every["ms"]["p50"])
        out["reacquire_vs_every_frame_mean"] = ratio(reacquire["ms"]["mean"], every["ms"]["mean"])
    if reacquire:
        out["target_p50_ms"] = TARGET_P50_MS
        out["reacquire_p50_within_target"] = reacquire["ms"]["p50"] <= TARGET_P50_MS
    for name, mode in figures.items():
        base = figures.get(name.removesuffix("_fp16"))
        if name.endswith("_fp16") and base:
            out[f"{name}_vs_fp32_mean"] = ratio(mode["ms"]["mean"], base["ms"]["mean"])
    return out


HEADER = ("mode", "frames", "p50 ms", "p95 ms", "mean ms", "detector share", "peak GPU MiB",
          "mean vs every_frame")  # fmt: skip


def table_rows(result: dict[str, Any]) -> list[list[str]]:
    """One row per measured mode, in the order measured."""
    figures = result.get("modes", {})
    base = figures.get("every_frame", {}).get("ms", {}).get("mean", 0.0)
    rows = []
    for name, mode in figures.items():
        peak = mode.get("peak_gpu_mib")
        rows.append([
            name,
            str(mode["frames"]),
            f"{mode['ms']['p50']:.1f}",
            f"{mode['ms']['p95']:.1f}",
            f"{mode['ms']['mean']:.1f}",
            f"{mode['detector_share']:.2f}",
            "n/a" if peak is None else f"{peak:.0f}",
            "" if not base else f"{mode['ms']['mean'] / base:.2f}x",
        ])  # fmt: skip
    return rows


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def report(result: dict[str, Any]) -> str:
    """What docs/performance.md takes: the table, then the ratios and the accuracy figure."""
    if "skipped" in result:
        return f"gpu_real skipped: {result['skipped']}"
    lines = [markdown_table(HEADER, table_rows(result)), ""]
    facts = result.get("summary", {})
    if "reacquire_vs_every_frame_mean" in facts:
        lines.append(
            f"detect on reacquire (1 in {result['every']}) / detect every frame: "
            f"{facts['reacquire_vs_every_frame_mean']} of the mean, "
            f"{facts['reacquire_vs_every_frame_p50']} of the p50"
        )
    if "reacquire_p50_within_target" in facts:
        lines.append(
            f"reacquire p50 within {TARGET_P50_MS:.0f} ms: {facts['reacquire_p50_within_target']}"
        )
    accuracy = result.get("fp16_vs_fp32")
    if accuracy:
        joints = accuracy["joints_mm"]
        lines.append(
            f"fp16 vs fp32 joints ({accuracy['crops']} crops x 24): mean {joints['mean']} mm, "
            f"p95 {joints['p95']} mm, max {joints['max']} mm"
            + ("" if accuracy["fp16_effective"] else " (no fp16 here: autocast is CUDA-only)")
        )
    lines.append(
        f"device {result['gpu']}, torch {result['torch']}, {result['resolution']} frames, "
        f"load {result.get('load_s')} s, stand-ins {result.get('stand_ins_s')} s"
    )
    return "\n".join(lines)


# --- the stand-ins and the estimator -------------------------------------------------------


def install_pyrender_stub() -> bool:
    """An empty ``pyrender`` when the real one cannot be imported; True if installed.

    4D-Humans imports pyrender (and through it a GL library) at import, only to render; the
    service never builds a renderer (``init_renderer=False``). The device has no GL library,
    so the import alone must succeed: attribute look-ups give placeholders.
    """
    try:
        import pyrender  # noqa: F401
    except Exception:  # noqa: BLE001 - ImportError, or PyOpenGL's AttributeError/OSError
        for name in [m for m in sys.modules if m == "pyrender" or m.startswith("pyrender.")]:
            del sys.modules[name]
        stub = types.ModuleType("pyrender")
        stub.__getattr__ = lambda name: type(name, (), {})  # type: ignore[method-assign]
        sys.modules["pyrender"] = stub
        return True
    return False


def write_plain_licensed_smpl(path: Path) -> None:
    """The stand-in SMPL file with plain numpy arrays where the download has chumpy ones.

    ``stand_ins.write_licensed_smpl`` needs chumpy, which fails on the device's numpy 2;
    ``smpl_file.convert`` reads either form and writes the same converted model.
    """
    import scipy.sparse

    from tests.upstream import stand_ins

    body = stand_ins.synthetic_body()
    body["J_regressor"] = scipy.sparse.csc_matrix(body["J_regressor"])
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        pickle.dump({**body, "bs_style": "lbs", "bs_type": "lrotmin"}, handle, protocol=2)


def prepare_stand_ins(root: Path) -> dict[str, str]:
    """The stand-in model files under ``root`` (built once; ~5.4 GB, a minute on 16 cores)."""
    import hmr2

    from tests.upstream import stand_ins

    licensed = root / stand_ins.LICENSED_SMPL
    if not licensed.is_file():
        write_plain_licensed_smpl(licensed)
    fourd_humans = Path(hmr2.__file__).resolve().parents[1]
    return stand_ins.build(root, fourd_humans, REPO / "service" / "src")


class AlreadyLoaded:
    """The loaded estimator for another ``PosePipeline``: its ``load`` does nothing, so each
    mode gets a fresh pipeline (sessions, settings) without reading 5 GB of weights again."""

    def __init__(self, estimator: Any) -> None:
        self._estimator = estimator

    def load(self) -> None:
        pass

    def describe(self) -> dict[str, object]:
        # PosePipeline.load logs estimator=name and **describe(), and HMR2Estimator.describe()
        # has an "estimator" key too: a TypeError (duplicate keyword) that stops the load.
        return {k: v for k, v in self._estimator.describe().items() if k != "estimator"}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._estimator, name)


def service_settings(root: Path, device: str, mode: Mode, state_dir: str) -> Any:
    """The service's ``Settings`` from the environment the unit would give it for ``mode``."""
    from pose_service.config import Settings

    return Settings.from_env({
        "POSE_SERVICE_ESTIMATOR": "hmr2",
        "POSE_SERVICE_DEVICE": device,
        "POSE_SERVICE_HMR2_DETECTOR": "vitdet",
        "POSE_SERVICE_VITDET_WEIGHTS": str(root / "detectron2" / "model_final_f05665.pkl"),
        "POSE_SERVICE_SESSION_PERSIST": "0",
        "POSE_SERVICE_STATE_DIR": state_dir,
        **mode.env(),
    })  # fmt: skip


def set_fp16(estimator: Any, on: bool) -> None:
    """What ``POSE_SERVICE_HMR2_FP16`` sets at construction, on the loaded estimator (loading
    it twice would cost a minute of device time); checked through ``describe()``."""
    estimator._fp16 = on
    if estimator.describe().get("fp16") is not on:
        raise RuntimeError("HMR2Estimator no longer keeps HMR2_FP16 in _fp16: update gpu_real")


def tune_detector(estimator: Any, people: int, input_px: int | None) -> None:
    """Cap ViTDet's detections per image at ``people``; with ``input_px``, shrink its input
    (the CPU smoke only: the real config resizes and pads to 1024)."""
    model = estimator._detector.model
    for predictor in model.roi_heads.box_predictor:
        predictor.test_topk_per_image = people
    if input_px:
        import detectron2.data.transforms as T

        estimator._detector.augmentations = T.AugmentationList(
            [T.ResizeShortestEdge(short_edge_length=input_px, max_size=input_px)]
        )
        model.backbone._square_pad = input_px


# --- measuring -----------------------------------------------------------------------------


def clip_frames(count: int, width: int, height: int) -> list[np.ndarray]:
    """The runner clip's first ``count`` frames at ``width`` x ``height``, RGB (cycled)."""
    import cv2

    capture = cv2.VideoCapture(str(RUNNER_CLIP))
    frames: list[np.ndarray] = []
    while len(frames) < count:
        ok, bgr = capture.read()
        if not ok:
            if not frames:
                raise RuntimeError(f"cannot read {RUNNER_CLIP}")
            break
        frames.append(cv2.cvtColor(cv2.resize(bgr, (width, height)), cv2.COLOR_BGR2RGB))
    capture.release()
    return [frames[i % len(frames)] for i in range(count)]


class Gpu:
    """Synchronised timing and torch's peak-memory counter (no-ops on a CPU)."""

    def __init__(self, torch: Any, device: str) -> None:
        self.torch, self.cuda = torch, device == "cuda"

    def sync(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize()

    def timed(self, work: Callable[[], Any]) -> tuple[float, Any]:
        self.sync()
        start = time.perf_counter()
        value = work()
        self.sync()
        return (time.perf_counter() - start) * 1e3, value

    def reset_peak(self) -> None:
        if self.cuda:
            self.torch.cuda.reset_peak_memory_stats()

    def peak_mib(self) -> float | None:
        if not self.cuda:
            return None
        return round(self.torch.cuda.max_memory_allocated() / 2**20, 1)

    def allocated_mib(self) -> float | None:
        if not self.cuda:
            return None
        return round(self.torch.cuda.memory_allocated() / 2**20, 1)


def stream(pipeline: Any, frames: list[np.ndarray], total: int) -> Iterator[tuple[float, bool]]:
    """One video through ``pipeline.process``: (ms, whether the detector ran) per frame."""
    from pose_service.types import Frame

    for n in range(total):
        start = time.perf_counter()
        outcome = pipeline.process(Frame(rgb=frames[n % len(frames)], frame_number=n), "gpu-real")
        yield (time.perf_counter() - start) * 1e3, "inference_detect" in outcome.timings_ms


def batched(
    estimator: Any, gpu: Gpu, frames: list[np.ndarray], passes: int, mode: Mode
) -> Iterator[tuple[float, int]]:
    """``mode.batch`` videos, one frame of each per ``estimate_batch`` pass (the call the
    pipeline makes for a turn's batch); between detector passes each frame carries its video's
    last box as the hint, as the track gives it, and the estimator decides whether to use it
    (the box-hint rule is the estimator's). (ms per frame, detector runs) per pass."""
    from pose_service.types import BoxHint, Frame

    last: list[Any] = [None] * mode.batch
    for p in range(passes):
        batch = []
        for video in range(mode.batch):
            rgb = frames[(p + 17 * video) % len(frames)]
            hint = None
            person = last[video]
            if p % mode.every and person is not None:
                hint = BoxHint(box=person.bbox, score=person.score)
            batch.append(Frame(rgb=rgb, frame_number=p, hint=hint))
        ms, estimates = gpu.timed(lambda b=batch: estimator.estimate_batch(b))
        for video, estimate in enumerate(estimates):
            last[video] = estimate.people[0] if estimate.people else None
        yield ms / mode.batch, sum(e.detector_ran for e in estimates)


def measure_mode(
    estimator: Any, gpu: Gpu, frames: list[np.ndarray], mode: Mode, args: argparse.Namespace
) -> dict[str, Any]:
    """ms per frame (warm-up left out), detector share and peak GPU memory of one mode."""
    from pose_service.pipeline import PosePipeline

    set_fp16(estimator, mode.fp16)
    gpu.reset_peak()
    with tempfile.TemporaryDirectory() as state:
        settings = service_settings(args.models, args.device, mode, state)
        if mode.batch == 1:
            pipeline = PosePipeline(settings, estimator=AlreadyLoaded(estimator))
            pipeline.load()
            samples = list(stream(pipeline, frames, args.warmup + args.frames))
            samples = [(ms, int(ran)) for ms, ran in samples[args.warmup :]]
            counted = len(samples)
        else:
            warm = -(-args.warmup // mode.batch)
            passes = warm + -(-args.frames // mode.batch)
            samples = list(batched(estimator, gpu, frames, passes, mode))[warm:]
            counted = len(samples) * mode.batch
    ms = [s[0] for s in samples]
    return {
        "settings": mode.env(),
        "frames": counted,
        "ms": percentiles(ms),
        "detector_share": round(sum(s[1] for s in samples) / max(counted, 1), 3),
        "peak_gpu_mib": gpu.peak_mib(),
    }


def fp16_difference(estimator: Any, frames: list[np.ndarray], device: str) -> dict[str, Any]:
    """The joints and vertices HMR2 gives on the same crops in fp16 and in fp32, in mm.

    The stand-in's read-out layers are zero (every crop gives the mean pose, whatever the
    backbone computes), which would hide any fp16 error; so the pose and shape read-outs get
    HMR2's own default initialisation first (seeded), the camera read-out stays zero (a valid
    camera). Random weights, so this bounds the arithmetic's error, not the trained model's.
    Uses the estimator's own crop -> HMR2 -> SMPL step (``_people_in_boxes``) on a fixed box,
    without the hint check, so both precisions see the same crops. Run it last.
    """
    import torch

    from pose_service.types import Frame

    torch.manual_seed(0)
    head = estimator._model.smpl_head
    head.decpose.reset_parameters()
    head.decshape.reset_parameters()
    crops = []
    for rgb in frames[:ACCURACY_CROPS]:
        height, width = rgb.shape[:2]
        box = np.array([[0.35 * width, 0.1 * height, 0.65 * width, 0.95 * height]], np.float32)
        crops.append((Frame(rgb=rgb), box, np.array([0.9], np.float32)))
    people = {}
    with torch.inference_mode():
        for fp16 in (False, True):
            set_fp16(estimator, fp16)
            people[fp16] = [group[0] for group in estimator._people_in_boxes(crops, {})]
    set_fp16(estimator, False)

    def millimetres(name: str) -> dict[str, float]:
        diff = [
            np.linalg.norm(getattr(a, name) - getattr(b, name), axis=-1) * 1e3
            for a, b in zip(people[False], people[True], strict=True)
        ]
        values = np.concatenate(diff)
        return {
            "mean": round(float(values.mean()), 3),
            "p95": round(float(np.percentile(values, 95)), 3),
            "max": round(float(values.max()), 3),
        }

    return {
        "crops": len(crops),
        "fp16_effective": device == "cuda",
        "joints_mm": millimetres("joints_3d"),
        "vertices_mm": millimetres("vertices"),
        "readout": "pose and shape read-outs at HMR2's default init (seed 0), camera read-out 0",
    }


def measure(args: argparse.Namespace, write: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Build (or reuse) the stand-ins, load the estimator once, run each selected mode; the
    result so far is passed to ``write`` after each step, so a run cut short keeps its figures."""
    started = time.perf_counter()
    os.environ["HOME"] = str(args.models / "home")  # hmr2.configs reads HOME at import
    stubbed = install_pyrender_stub()
    import torch

    from pose_service.estimators.hmr2.estimator import HMR2Estimator
    from pose_service.observability import configure_logging

    configure_logging("warning", "console")
    width, height = RESOLUTIONS[args.resolution]
    gpu = Gpu(torch, args.device)
    result: dict[str, Any] = {
        "benchmark": "gpu_real",
        "device": args.device,
        "gpu": torch.cuda.get_device_name() if args.device == "cuda" else "cpu",
        "torch": torch.__version__,
        "resolution": f"{width}x{height}",
        "every": args.every,
        "batch": args.batch,
        "people": args.people,
        "warmup": args.warmup,
        "smoke": args.smoke,
        "pyrender_stub": stubbed,
        "tf32_matmul": bool(torch.backends.cuda.matmul.allow_tf32),
        "modes": {},
    }
    prepare_stand_ins(args.models)
    result["stand_ins_s"] = round(time.perf_counter() - started, 1)
    write(result)

    mark = time.perf_counter()
    estimator = HMR2Estimator(
        service_settings(args.models, args.device, Mode("load"), tempfile.gettempdir())
    )
    estimator.load()
    tune_detector(estimator, args.people, 256 if args.smoke else None)
    result["load_s"] = round(time.perf_counter() - mark, 1)
    result["weights_gpu_mib"] = gpu.allocated_mib()
    result["estimator"] = {k: str(v) for k, v in estimator.describe().items()}
    write(result)

    frames = clip_frames(max(args.frames + args.warmup, ACCURACY_CROPS), width, height)
    wanted = selected(args)
    for mode in [m for m in modes(args.every, args.batch) if m.name in wanted]:
        if time.perf_counter() - started > args.budget_s:
            result.setdefault("not_run", []).append(mode.name)
            continue
        print(f"[gpu_real +{time.perf_counter() - started:.0f}s] {mode.name}", file=sys.stderr)
        result["modes"][mode.name] = measure_mode(estimator, gpu, frames, mode, args)
        result["summary"] = summary(result)
        write(result)
    result["fp16_vs_fp32"] = fp16_difference(estimator, frames, args.device)
    result["total_s"] = round(time.perf_counter() - started, 1)
    write(result)
    return result


def writer(out: Path | None) -> Callable[[dict[str, Any]], None]:
    """Writes the result to ``out/gpu_real.json`` (atomically), or nothing without ``out``."""

    def write(result: dict[str, Any]) -> None:
        if out is None:
            return
        out.mkdir(parents=True, exist_ok=True)
        part = out / (JSON_NAME + ".part")
        part.write_text(json.dumps(result, indent=1, default=str))
        part.replace(out / JSON_NAME)

    return write


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    write = writer(args.out)
    reason = skip_reason(args.device)
    if reason is not None:
        result: dict[str, Any] = {"benchmark": "gpu_real", "skipped": reason}
        write(result)
    else:
        result = measure(args, write)
    text = json.dumps(result, default=str) if args.json else report(result)
    print(text, flush=True)
    return result


if __name__ == "__main__":
    main()
