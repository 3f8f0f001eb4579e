"""GPU: "detect every frame" versus "detect on reacquire every N frames", random weights.

Also the per-frame cost when ``--batch`` waiting frames go through each model in one pass
(``POSE_SERVICE_BATCH_FRAMES``).

Stand-ins of the same architecture and cost as 4D-Humans' models, from ``timm`` (no download:
``pretrained=False``): HMR2's backbone is a ViT-H/16 on a 256x192 crop; ViTDet-H's backbone is
a ViT-H/16 on a 1024x1024 image with windowed attention and 4 global blocks, which is what
``samvit_huge_patch16`` (SAM's image encoder) is. Detector heads and HMR2's small transformer
head are left out: the backbones are most of the cost. Needs only ``torch`` and ``timm``
(``pip install torch timm``); without CUDA it says so and exits 0 (``--device cpu`` forces a run).

    python -m benchmarks.gpu_detect [--frames 60] [--every 10] [--batch 4] [--half] [--json]
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks.common import emit, parser, percentiles


def skip_reason(device: str) -> str | None:
    """Why this machine cannot run the benchmark, or None."""
    try:
        import timm  # noqa: F401
        import torch
    except ImportError as exc:
        return f"needs torch and timm ({exc.name} missing)"
    if device == "cuda" and not torch.cuda.is_available():
        return "no CUDA device"
    return None


def build(device: str, half: bool, tiny: bool) -> tuple[Any, Any, Any, Any]:
    """(detector, pose backbone, image batch, crop batch) on ``device``."""
    import timm
    import torch

    dtype = torch.float16 if half else torch.float32
    if tiny:  # smoke-test sizes: same code path, seconds on a CPU
        detector = timm.create_model("samvit_base_patch16", pretrained=False, img_size=256)
        pose = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=(256, 192))
        image_size = 256
    else:
        detector = timm.create_model("samvit_huge_patch16", pretrained=False)
        pose = timm.create_model("vit_huge_patch16_224", pretrained=False, img_size=(256, 192))
        image_size = 1024
    detector = detector.eval().to(device, dtype)
    pose = pose.eval().to(device, dtype)
    image = torch.randn(1, 3, image_size, image_size, device=device, dtype=dtype)
    crop = torch.randn(1, 3, 256, 192, device=device, dtype=dtype)
    return detector, pose, image, crop


def _timed(fn: Any, device: str) -> float:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) * 1e3


def measure(
    frames: int, every: int, device: str, half: bool, tiny: bool, batch: int = 4
) -> dict[str, Any]:
    import torch

    detector, pose, image, crop = build(device, half, tiny)
    images, crops = image.expand(batch, -1, -1, -1), crop.expand(batch, -1, -1, -1)
    with torch.inference_mode():
        for _ in range(2):  # warm-up: kernels, allocator
            detector.forward_features(image)
            pose.forward_features(crop)
        detect_ms = [
            _timed(lambda: detector.forward_features(image), device) for _ in range(frames)
        ]
        pose_ms = [_timed(lambda: pose.forward_features(crop), device) for _ in range(frames)]
        every_frame = [
            _timed(lambda: (detector.forward_features(image), pose.forward_features(crop)), device)
            for _ in range(frames)
        ]
        reacquire = [
            _timed(
                lambda n=n: (
                    detector.forward_features(image) if n % every == 0 else None,
                    pose.forward_features(crop),
                ),
                device,
            )
            for n in range(frames)
        ]
        # POSE_SERVICE_BATCH_FRAMES: ``batch`` waiting frames in one pass of each model
        batched = [
            _timed(lambda: (detector.forward_features(images), pose.forward_features(crops)),
                   device) / batch
            for _ in range(max(frames // batch, 2))
        ]  # fmt: skip
    per_frame = {
        "detector_ms": percentiles(detect_ms),
        "pose_backbone_ms": percentiles(pose_ms),
        "detect_every_frame_ms": percentiles(every_frame),
        "detect_on_reacquire_ms": percentiles(reacquire),
        "detect_every_frame_batched_ms": percentiles(batched),
    }
    per_frame["speedup_mean"] = round(
        per_frame["detect_every_frame_ms"]["mean"] / per_frame["detect_on_reacquire_ms"]["mean"], 2
    )
    per_frame["batch_speedup_mean"] = round(
        per_frame["detect_every_frame_ms"]["mean"]
        / per_frame["detect_every_frame_batched_ms"]["mean"],
        2,
    )
    return per_frame


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=60)
    p.add_argument("--every", type=int, default=10, help="detector runs on 1 frame in N")
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--half", action="store_true", help="float16 weights and inputs")
    p.add_argument("--batch", type=int, default=4, help="frames per pass for the batched figure")
    p.add_argument("--tiny", action="store_true", help="small models (smoke test)")
    args = p.parse_args(argv)
    reason = skip_reason(args.device)
    if reason is not None:
        result = {"benchmark": "gpu_detect", "skipped": reason}
        emit(result, [["skipped", reason]], ["status", "why"], args.json)
        return result
    import torch

    figures = measure(args.frames, args.every, args.device, args.half, args.tiny, args.batch)
    result = {"benchmark": "gpu_detect", "device": args.device, "half": args.half,
              "every": args.every, "batch": args.batch, "frames": args.frames, "tiny": args.tiny,
              "gpu": torch.cuda.get_device_name() if args.device == "cuda" else "cpu",
              **figures}  # fmt: skip
    header = ["what", "p50 ms", "p95 ms", "mean ms"]
    rows = [[k, v["p50"], v["p95"], v["mean"]] for k, v in figures.items() if isinstance(v, dict)]
    emit(result, rows, header, args.json)
    if not args.json:
        print(f"detect on reacquire (1 in {args.every}) is {figures['speedup_mean']}x faster")
        print(f"{args.batch} frames per pass: {figures['batch_speedup_mean']}x less per frame")
    return result


if __name__ == "__main__":
    main()
