"""Assemble one CUDA_HOME from the registry's CUDA wheels in a venv: no system toolkit needed.

NVIDIA's wheels put each component under ``site-packages/nvidia/``: CUDA 13 in one tree
(``nvidia/cu13/{bin,include,lib,nvvm}``), CUDA 12 one tree per component (``nvidia/cuda_nvcc``,
``nvidia/cuda_runtime``, ``nvidia/cublas``, ...). torch's extension builder wants a single root with
``bin/nvcc``, ``include/`` and ``lib64/`` holding ``libcudart.so``. This links every component's
files into such a root (first component wins on a name clash; directories present in several are
merged), adds the unversioned ``libX.so`` names the linker asks for, and removes links that no
longer point anywhere. It prints ``changed`` when it changed a link, so Ansible can report it.

Usage: cuda_home.py SITE_PACKAGES_NVIDIA_DIR TARGET_DIR
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PARTS = {"bin": "bin", "include": "include", "lib": "lib64", "lib64": "lib64", "nvvm": "nvvm"}
VERSIONED_LIBRARY = re.compile(r"^(lib[\w+-]+\.so)\.\d+(\.\d+)*$")


def wanted_links(nvidia: Path) -> dict[Path, Path]:
    """Relative path in the root -> the file or directory it links to."""
    links: dict[Path, Path] = {}
    real_dirs: set[Path] = set()
    for component in sorted(p for p in nvidia.iterdir() if p.is_dir()):
        for part, into in PARTS.items():
            source = component / part
            if source.is_dir():
                real_dirs.add(Path(into))
                _merge(source, Path(into), links, real_dirs)
    for relative in list(links):
        match = VERSIONED_LIBRARY.match(relative.name)
        if relative.parent == Path("lib64") and match:
            links.setdefault(relative.parent / match.group(1), links[relative])
    return links


def _merge(source: Path, into: Path, links: dict[Path, Path], real_dirs: set[Path]) -> None:
    for entry in sorted(source.iterdir()):
        relative = into / entry.name
        taken = links.get(relative)
        if relative in real_dirs:
            if entry.is_dir():
                _merge(entry, relative, links, real_dirs)
        elif taken is None:
            links[relative] = entry
        elif taken.is_dir() and entry.is_dir():  # in two components: a real directory holding both
            del links[relative]
            real_dirs.add(relative)
            _merge(taken, relative, links, real_dirs)
            _merge(entry, relative, links, real_dirs)


def apply(links: dict[Path, Path], root: Path) -> bool:
    """Make ``root`` hold exactly these links (and the directories above them)."""
    changed = False
    for relative, target in sorted(links.items()):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() and Path(path.readlink()) == target:
            continue
        if path.is_symlink() or path.is_file():
            path.unlink()
        path.symlink_to(target)
        changed = True
    wanted = {root / r for r in links}
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_symlink() and path not in wanted:
            path.unlink()
            changed = True
        elif path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
            path.rmdir()
            changed = True
    return changed


def main(argv: list[str]) -> int:
    """Link the CUDA root; exit 2 naming what is missing when there is no nvcc to link."""
    nvidia, root = Path(argv[1]).resolve(), Path(argv[2]).absolute()
    links = wanted_links(nvidia) if nvidia.is_dir() else {}
    if Path("bin/nvcc") not in links:
        print(
            f"no nvcc under {nvidia}: the CUDA compiler wheels are not installed", file=sys.stderr
        )
        return 2
    root.mkdir(parents=True, exist_ok=True)
    print("changed" if apply(links, root) else "unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
