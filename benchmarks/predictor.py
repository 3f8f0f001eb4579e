"""What the learned predictor (``POSE_SERVICE_TRACK_PREDICTOR=learned``) costs per frame.

- ``forecast_ms``: one forecast (the window built from a track's last 20 detections, the MLP
  in numpy, back to the camera frame), as the tracker makes it once per frame after a new
  detection; on the walk capture's frames with the harness's 20 mm noise.
- ``step_ms``: the whole streaming tracker step per frame with each predictor, on the walk
  capture with the harness's misses (36%, bursts 1-8), the same detections for both: the
  mean wall time and the mean CPU time of the process (``step_cpu_ms``; on a shared machine
  the wall time also counts the waits for a core).

    .venv/bin/python -m benchmarks.predictor [--frames 240] [--repeats 500] [--json]
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from benchmarks.common import REPO, emit, parser, percentiles

WALK = REPO / "data" / "cmu-131_01-walk.bvh"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from pose_service.devtools.evaluation.harness import Scenario
    from pose_service.devtools.evaluation.methods import streaming
    from pose_service.devtools.evaluation.sequences import load_bvh
    from pose_service.devtools.evaluation.simulate import detections, miss_mask
    from pose_service.tracking.config import PREDICTORS, TrackerConfig
    from pose_service.tracking.learned_prediction import forecast, shipped_predictor

    p = parser(__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=240, help="frames of the walk capture")
    p.add_argument("--repeats", type=int, default=500, help="forecasts timed")
    args = p.parse_args(argv)

    sequence = load_bvh(WALK).head(args.frames)
    scenario = Scenario()
    missed = miss_mask(
        sequence.frames, scenario.miss_share, scenario.burst, scenario.miss_first, scenario.seed
    )
    observed = detections(sequence, missed, scenario.noise_mm, scenario.seed)
    predictor = shipped_predictor()
    rng = np.random.default_rng(0)
    noisy = sequence.joints_3d + rng.normal(0, scenario.noise_mm / 1000, sequence.joints_3d.shape)
    newest = np.arange(predictor.window, sequence.frames)
    times = []
    cpu = time.process_time()
    for i in range(args.repeats):
        end = int(newest[i % len(newest)])
        history = [(f, noisy[f]) for f in range(end - predictor.window + 1, end + 1)]
        start = time.perf_counter()
        forecast(predictor, history)
        times.append((time.perf_counter() - start) * 1000.0)
    forecast_cpu = (time.process_time() - cpu) * 1000.0 / args.repeats
    steps, steps_cpu = {}, {}
    for name in PREDICTORS:
        config = TrackerConfig(record_max_frames=0, predictor=name)
        streaming(observed, config)  # warm (the weights load once per process)
        cpu = time.process_time()
        steps[name] = round(streaming(observed, config).ms_per_frame, 4)
        steps_cpu[name] = round((time.process_time() - cpu) * 1000.0 / sequence.frames, 4)
    result = {
        "parameters": predictor.parameters,
        "window": predictor.window,
        "horizon": predictor.horizon,
        "forecast_ms": percentiles(times),
        "forecast_cpu_ms": round(forecast_cpu, 4),
        "step_ms": steps,
        "step_cpu_ms": steps_cpu,
        "frames": sequence.frames,
    }
    wall = result["forecast_ms"]
    rows = [
        ["forecast (ms)", wall["p50"], wall["p95"], wall["mean"], result["forecast_cpu_ms"]],
        *[[f"tracker step, {n} (ms)", "", "", steps[n], steps_cpu[n]] for n in PREDICTORS],
    ]
    emit(result, rows, ["what", "wall p50", "wall p95", "wall mean", "CPU mean"], args.json)
    return result


if __name__ == "__main__":
    main()
