"""The venv's CUDA root assembled from NVIDIA's wheels, in both of their layouts.

CUDA 13's wheels share one tree (``nvidia/cu13``), CUDA 12's have a tree per component
(``nvidia/cuda_nvcc``, ``nvidia/cuda_runtime``, ...); torch's extension builder wants one root
with ``bin/nvcc``, ``include/`` and ``lib64/libcudart.so``. The real wheels are linked by
``make test-upstream`` and ``make test-gpu-host``; here the layouts are small stand-ins.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

ROLE = Path(__file__).resolve().parents[2] / "roles" / "pose_service_python"


def _script():
    spec = importlib.util.spec_from_file_location("cuda_home", ROLE / "files" / "cuda_home.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cuda_home = _script()


def _touch(root: Path, *names: str) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)


def test_cuda13_single_tree_gives_one_root(tmp_path: Path, capsys) -> None:
    nvidia = tmp_path / "nvidia"
    _touch(
        nvidia / "cu13",
        "bin/nvcc",
        "include/cuda_runtime.h",
        "include/cccl/cub/cub.cuh",
        "lib/libcudart.so.13",
        "nvvm/lib64/libnvvm.so",
    )
    root = tmp_path / "cuda"
    assert cuda_home.main(["cuda_home.py", str(nvidia), str(root)]) == 0
    assert capsys.readouterr().out.strip() == "changed"
    assert (root / "bin" / "nvcc").read_text() == "bin/nvcc"
    assert (root / "lib64" / "libcudart.so").resolve() == (
        nvidia / "cu13" / "lib" / "libcudart.so.13"
    )
    assert (root / "include" / "cccl" / "cub" / "cub.cuh").exists()
    assert (root / "nvvm" / "lib64" / "libnvvm.so").exists()


def test_cuda12_components_merge_into_one_root(tmp_path: Path) -> None:
    nvidia = tmp_path / "nvidia"
    _touch(
        nvidia / "cuda_nvcc", "bin/nvcc", "bin/ptxas", "include/crt/host_config.h", "nvvm/bin/cicc"
    )
    _touch(
        nvidia / "cuda_runtime",
        "include/cuda_runtime.h",
        "include/crt/device_functions.h",
        "lib/libcudart.so.12",
    )
    _touch(nvidia / "cublas", "include/cublas_v2.h", "lib/libcublas.so.12")
    root = tmp_path / "cuda"
    assert cuda_home.main(["cuda_home.py", str(nvidia), str(root)]) == 0
    # include/crt is in two components: a real directory holding both files.
    assert not (root / "include" / "crt").is_symlink()
    assert {p.name for p in (root / "include" / "crt").iterdir()} == {
        "host_config.h",
        "device_functions.h",
    }
    assert (root / "include" / "cublas_v2.h").exists()
    assert (root / "lib64" / "libcublas.so").exists() and (root / "lib64" / "libcudart.so").exists()
    assert (root / "nvvm" / "bin" / "cicc").exists()


def test_a_second_run_changes_nothing_and_stale_links_go(tmp_path: Path, capsys) -> None:
    nvidia = tmp_path / "nvidia"
    _touch(nvidia / "cu13", "bin/nvcc", "lib/libcudart.so.13", "lib/libold.so.1")
    root = tmp_path / "cuda"
    cuda_home.main(["cuda_home.py", str(nvidia), str(root)])
    capsys.readouterr()
    assert cuda_home.main(["cuda_home.py", str(nvidia), str(root)]) == 0
    assert capsys.readouterr().out.strip() == "unchanged"
    (nvidia / "cu13" / "lib" / "libold.so.1").unlink()  # a wheel upgraded away a library
    assert cuda_home.main(["cuda_home.py", str(nvidia), str(root)]) == 0
    assert capsys.readouterr().out.strip() == "changed"
    assert not os.path.lexists(root / "lib64" / "libold.so") and not os.path.lexists(
        root / "lib64" / "libold.so.1"
    )


def test_relative_arguments_still_give_absolute_links(tmp_path: Path, monkeypatch) -> None:
    _touch(tmp_path / "nvidia" / "cu13", "bin/nvcc")
    monkeypatch.chdir(tmp_path)
    assert cuda_home.main(["cuda_home.py", "nvidia", "cuda"]) == 0
    assert Path(os.readlink(tmp_path / "cuda" / "bin" / "nvcc")).is_absolute()


def test_no_compiler_wheel_is_named(tmp_path: Path, capsys) -> None:
    _touch(tmp_path / "nvidia" / "cu13", "lib/libcudart.so.13")
    assert cuda_home.main(["cuda_home.py", str(tmp_path / "nvidia"), str(tmp_path / "cuda")]) == 2
    assert "no nvcc" in capsys.readouterr().err
    assert not (tmp_path / "cuda").exists()
