"""Pick the CUDA build of PyTorch a host can run, from what nvidia-smi says of its GPUs.

The table of builds lives in the role's defaults (``pose_service_python_cuda_variants``, best
first); this plugin only reads nvidia-smi's answer and applies the rule: the first variant whose
minimum driver the host's driver meets and whose compute-capability range holds every visible GPU.
When none fits it stops with what to do: the driver version to install, or that the card is older
than every build. Drivers are compared with the Windows numbers under WSL, where nvidia-smi reports
the Windows driver. Kept free of Ansible imports but for the error type, so tests load it directly.
"""

from __future__ import annotations

from typing import Any

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # the unit tests load this file without Ansible
    AnsibleFilterError = ValueError  # type: ignore[assignment,misc]

QUERY_FIELDS = "name,driver_version,memory.total,compute_cap"


def nvidia_smi_gpus(stdout: str) -> list[dict[str, Any]]:
    """Parse ``nvidia-smi --query-gpu=<QUERY_FIELDS> --format=csv,noheader``, a GPU a line."""
    gpus = []
    for line in stdout.splitlines():
        if not line.strip():
            continue
        fields = [f.strip() for f in line.rsplit(",", 3)]
        if len(fields) != 4:
            raise AnsibleFilterError(f"nvidia-smi answered {line!r}, not {QUERY_FIELDS}")
        name, driver, memory, capability = fields
        gpus.append(
            {
                "name": name,
                "driver": driver,
                "memory_mib": int(memory.split()[0]) if memory.split()[0].isdigit() else 0,
                "compute_capability": capability,
            }
        )
    return gpus


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in str(text).split(".") if part.isdigit())


def _fits(variant: dict[str, Any], gpu: dict[str, Any], driver_kind: str) -> tuple[bool, bool]:
    """(driver new enough, card within the build's compute capabilities)."""
    low, high = (_version(variant["compute_capability"][k]) for k in ("min", "max"))
    capability = _version(gpu["compute_capability"])
    driver_ok = _version(gpu["driver"]) >= _version(variant["min_driver"][driver_kind])
    return driver_ok, low <= capability <= high


def cuda_variant(
    gpus: list[dict[str, Any]],
    variants: list[dict[str, Any]],
    windows_driver: bool = False,
    requested: str = "",
) -> dict[str, Any]:
    """The variant to install, with ``reason`` saying why; raises naming the fix when none fits."""
    by_name = {v["name"]: v for v in variants}
    if requested and requested not in by_name:
        raise AnsibleFilterError(
            f"pose_service_python_cuda_variant={requested!r} is not in the table "
            f"({', '.join(by_name)})"
        )
    kind = "windows" if windows_driver else "linux"
    candidates = [by_name[requested]] if requested else variants
    if not gpus:
        chosen = candidates[0]
        return {**chosen, "reason": f"no GPU checked: the {chosen['name']} build"}
    cards = ", ".join(f"{g['name']} (compute {g['compute_capability']})" for g in gpus)
    driver = gpus[0]["driver"]
    for variant in candidates:
        checks = [_fits(variant, gpu, kind) for gpu in gpus]
        if all(d and c for d, c in checks):
            return {**variant, "reason": f"{cards}, driver {driver}: the {variant['name']} build"}
    cards_fit = [v for v in candidates if all(_fits(v, g, kind)[1] for g in gpus)]
    if not cards_fit:
        raise AnsibleFilterError(
            f"{cards}: no PyTorch build in the table supports this GPU "
            f"({'; '.join(_range(v) for v in candidates)}). Set pose_service_device=cpu "
            "(or pose_service_estimator=lite) to run without it."
        )
    best = cards_fit[0]
    least = min(cards_fit, key=lambda v: _version(v["min_driver"][kind]))
    where = "on Windows (WSL uses the Windows driver)" if windows_driver else "on this host"
    also = (
        f", or at least {least['min_driver'][kind]} for the {least['name']} build"
        if least is not best
        else ""
    )
    raise AnsibleFilterError(
        f"{cards}: NVIDIA driver {driver} is too old for PyTorch's CUDA builds. Install driver "
        f"{best['min_driver'][kind]} or newer {where} for the {best['name']} build{also}, "
        "then re-run."
    )


def _range(variant: dict[str, Any]) -> str:
    span = variant["compute_capability"]
    return f"{variant['name']}: compute {span['min']} to {span['max']}"


class FilterModule:
    """Ansible's entry point: the filters this file gives the role."""

    def filters(self) -> dict[str, Any]:
        return {
            "pose_service_nvidia_smi_gpus": nvidia_smi_gpus,
            "pose_service_cuda_variant": cuda_variant,
        }
