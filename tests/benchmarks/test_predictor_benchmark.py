"""``benchmarks.predictor`` runs in a tiny configuration and prints its documented JSON."""

from __future__ import annotations

import json

from benchmarks import predictor


def test_predictor_benchmark(capsys):
    result = predictor.main(["--frames", "60", "--repeats", "20", "--json"])
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == json.loads(json.dumps(result))
    assert set(printed["step_ms"]) == set(printed["step_cpu_ms"]) == {"kalman", "learned"}
    assert printed["forecast_ms"]["p50"] > 0 and printed["window"] == 20
