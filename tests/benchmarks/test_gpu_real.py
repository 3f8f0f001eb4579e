"""``benchmarks/gpu_real``'s pure parts: arguments, the settings each mode stands for, the table
and summary, the pyrender stub, the chumpy-free stand-in SMPL, and the "no CUDA" exit. The
measuring itself needs the real stack and a GPU (``benchmarks/device/run.sh``)."""

from __future__ import annotations

import json
import pickle
import sys

import pytest

from benchmarks import gpu_real


def _result() -> dict:
    def mode(p50: float, mean: float, share: float, peak: float | None) -> dict:
        return {"frames": 60, "ms": {"p50": p50, "p95": mean * 2, "mean": mean},
                "detector_share": share, "peak_gpu_mib": peak}  # fmt: skip

    result = {
        "benchmark": "gpu_real", "gpu": "NVIDIA H200", "torch": "2.11.0", "every": 10,
        "resolution": "1920x1080", "load_s": 30.0, "stand_ins_s": 60.0,
        "modes": {
            "every_frame": mode(120.0, 125.0, 1.0, 6000.0),
            "reacquire": mode(20.0, 30.0, 0.1, 5900.0),
            "reacquire_fp16": mode(12.0, 22.0, 0.1, 5800.0),
        },
        "fp16_vs_fp32": {"crops": 8, "fp16_effective": True,
                         "joints_mm": {"mean": 0.4, "p95": 0.9, "max": 1.5}},
    }  # fmt: skip
    result["summary"] = gpu_real.summary(result)
    return result


def test_defaults_are_the_issues_modes() -> None:
    args = gpu_real.parse_args([])
    assert (args.device, args.frames, args.every, args.batch, args.resolution) == (
        "cuda", 60, 10, 4, "1080p"
    )  # fmt: skip
    names = gpu_real.selected(args)
    assert names[:4] == ["every_frame", "reacquire", "batch4_every_frame", "batch4_reacquire"]
    assert all(name in names for name in ("every_frame_fp16", "batch4_reacquire_fp16"))


def test_subset_and_bad_arguments() -> None:
    assert gpu_real.selected(gpu_real.parse_args(["--modes", "reacquire,every_frame"])) == [
        "reacquire", "every_frame"
    ]  # fmt: skip
    for bad in (["--modes", "nope"], ["--frames", "0"], ["--warmup", "-1"]):
        with pytest.raises(SystemExit):
            gpu_real.parse_args(bad)


def test_modes_are_service_settings() -> None:
    mode = {m.name: m for m in gpu_real.modes(10, 4)}["batch4_reacquire_fp16"]
    assert mode.env() == {
        "POSE_SERVICE_DETECT_EVERY_FRAMES": "10",
        "POSE_SERVICE_BATCH_FRAMES": "4",
        "POSE_SERVICE_HMR2_FP16": "1",
    }
    settings = gpu_real.service_settings(gpu_real.Path("/m"), "cuda", mode, "/tmp/state")
    assert settings.detect_every_frames == 10 and settings.batch_frames == 4 and settings.hmr2_fp16
    assert settings.hmr2_detector == "vitdet" and not settings.session_persist


def test_summary_and_table() -> None:
    result = _result()
    facts = result["summary"]
    assert facts["reacquire_vs_every_frame_mean"] == 0.24
    assert facts["reacquire_p50_within_target"] is True
    assert facts["reacquire_fp16_vs_fp32_mean"] == round(22 / 30, 3)
    rows = gpu_real.table_rows(result)
    assert [r[0] for r in rows] == ["every_frame", "reacquire", "reacquire_fp16"]
    assert rows[1][2:] == ["20.0", "60.0", "30.0", "0.10", "5900", "0.24x"]
    text = gpu_real.report(result)
    assert text.splitlines()[0].startswith("| mode | frames | p50 ms")
    assert "0.24 of the mean" in text and "mean 0.4 mm" in text


def test_table_without_gpu_memory_or_baseline() -> None:
    result = _result()
    del result["modes"]["every_frame"]
    result["modes"]["reacquire"]["peak_gpu_mib"] = None
    assert gpu_real.table_rows(result)[0][6:] == ["n/a", ""]
    assert "reacquire_vs_every_frame_mean" not in gpu_real.summary(result)


def test_pyrender_stub_only_when_the_import_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyrender", None)  # import pyrender -> ImportError
    assert gpu_real.install_pyrender_stub() is True
    import pyrender

    assert isinstance(pyrender.Node, type)  # 4D-Humans annotates with pyrender.Node
    assert gpu_real.install_pyrender_stub() is False  # the stub imports now


def test_plain_stand_in_smpl_converts_like_the_chumpy_one(tmp_path) -> None:
    pytest.importorskip("scipy")
    from pose_service.estimators import smpl_file

    path = tmp_path / "licensed.pkl"
    gpu_real.write_plain_licensed_smpl(path)
    assert not smpl_file.needs_chumpy(path)
    data = smpl_file.read(path)
    assert data["v_template"].shape == (6890, 3) and data["f"].shape == (13776, 3)
    assert data["J_regressor"].shape == (24, 6890) and data["posedirs"].shape == (6890, 3, 207)
    with open(path, "rb") as handle:
        assert pickle.load(handle)["bs_style"] == "lbs"


def test_without_cuda_it_says_so_and_writes_the_json(tmp_path, capsys) -> None:
    if gpu_real.skip_reason("cuda") is None:
        pytest.skip("this machine has CUDA: the benchmark would run")
    result = gpu_real.main(["--out", str(tmp_path), "--json"])
    assert "skipped" in result
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == result == json.loads((tmp_path / gpu_real.JSON_NAME).read_text())
    assert gpu_real.report(result).startswith("gpu_real skipped: ")
