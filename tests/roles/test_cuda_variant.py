"""The per-GPU choice of PyTorch's CUDA build, on nvidia-smi answers recorded from real cards.

The table is the role's own (``defaults/main.yml``), so a change to it is checked here; the
answers in ``nvidia_smi/`` are what ``nvidia-smi --query-gpu=name,driver_version,memory.total,
compute_cap --format=csv,noheader`` prints (under WSL the driver is the Windows one).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

ROLE = Path(__file__).resolve().parents[2] / "roles" / "pose_service_python"
ANSWERS = Path(__file__).parent / "nvidia_smi"


def _plugin():
    spec = importlib.util.spec_from_file_location(
        "cuda_variant", ROLE / "filter_plugins" / "cuda_variant.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


plugin = _plugin()
VARIANTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())[
    "pose_service_python_cuda_variants"
]


def choose(answer: str, **kwargs: object) -> dict:
    gpus = plugin.nvidia_smi_gpus((ANSWERS / answer).read_text())
    return plugin.cuda_variant(gpus, VARIANTS, windows_driver="-wsl-" in answer, **kwargs)


@pytest.mark.parametrize(
    ("answer", "variant"),
    [
        ("rtx3090-linux-580.csv", "cu130"),  # current driver, Ampere: the default, the tested build
        ("rtx5090-wsl-581.csv", "cu130"),  # Blackwell (12.0) needs CUDA 12.8 or newer
        ("rtx5090-linux-570.csv", "cu128"),  # Blackwell on a driver too old for CUDA 13
        (
            "rtx4090-wsl-576.csv",
            "cu128",
        ),  # Windows driver 576 < 580.88: CUDA 12.8 by minor-version compatibility
        ("rtx2060-wsl-560.csv", "cu128"),  # Turing, older driver
        ("gtx1080-wsl-581.csv", "cu126"),  # Pascal (6.1): dropped by CUDA 13 and by PyTorch's cu128
        ("gtx1080-wsl-552.csv", "cu126"),
        (
            "rtx3090-gtx1080ti-wsl-581.csv",
            "cu126",
        ),  # every card must be covered: the older one decides
    ],
)
def test_each_card_and_driver_gets_the_best_build_it_runs(answer: str, variant: str) -> None:
    chosen = choose(answer)
    assert chosen["name"] == variant
    assert variant in chosen["reason"] and "driver" in chosen["reason"]


def test_the_default_build_is_the_registry_one_ci_provisions() -> None:
    default = VARIANTS[0]
    assert default["name"] == "cu130"
    assert default["index_url"] == ""  # the package registry's default torch build
    assert default["torch_packages"] == ["torch==2.14.1", "torchvision==0.29.1"]


def test_no_gpu_checked_takes_the_default() -> None:
    chosen = plugin.cuda_variant([], VARIANTS)
    assert chosen["name"] == "cu130"
    assert "no GPU checked" in chosen["reason"]


def test_a_driver_too_old_for_every_build_names_the_driver_to_install() -> None:
    with pytest.raises(
        ValueError,
        match=r"580\.65\.06 or newer on this host for the cu130 build, or at least 525\.60\.13",
    ):
        choose("rtx3090-linux-470.csv")


def test_under_wsl_the_windows_driver_numbers_are_named() -> None:
    with pytest.raises(
        ValueError,
        match=r"528\.33 or newer on Windows \(WSL uses the Windows driver\) for the cu126",
    ):
        choose("gtx1080-wsl-512.csv")


def test_a_card_older_than_every_build_says_so_and_offers_the_cpu() -> None:
    with pytest.raises(
        ValueError, match=r"Tesla K80 \(compute 3\.7\): no PyTorch build .*pose_service_device=cpu"
    ):
        choose("k80-linux-470.csv")


def test_a_requested_build_is_checked_against_the_card() -> None:
    assert choose("rtx3090-linux-580.csv", requested="cu128")["name"] == "cu128"
    with pytest.raises(ValueError, match="no PyTorch build"):
        choose("gtx1080-wsl-581.csv", requested="cu130")
    with pytest.raises(ValueError, match="not in the table"):
        choose("rtx3090-linux-580.csv", requested="cu999")


def test_the_answer_is_parsed_with_names_that_hold_commas() -> None:
    gpus = plugin.nvidia_smi_gpus("NVIDIA RTX A6000, Ada, 581.57, 49140 MiB, 8.9\n\n")
    assert gpus == [
        {
            "name": "NVIDIA RTX A6000, Ada",
            "driver": "581.57",
            "memory_mib": 49140,
            "compute_capability": "8.9",
        }
    ]
    with pytest.raises(ValueError, match="not name,driver_version"):
        plugin.nvidia_smi_gpus("[N/A]\n")


def test_every_variant_is_complete() -> None:
    for variant in VARIANTS:
        assert {
            "name",
            "cuda",
            "torch_packages",
            "index_url",
            "nvcc_packages",
            "min_driver",
            "compute_capability",
            "max_gcc",
        } <= set(variant)
        assert set(variant["min_driver"]) == {"linux", "windows"}
        assert variant["name"] == "cu" + variant["cuda"].replace(".", "")
