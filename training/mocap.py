"""The training data: CMU captures of subjects 1-7 from IClone-CMU-Mocap, as 24 SMPL joints.

``data_source.json`` pins the repository, its commit and every file's sha256. Each BVH is read
exactly as ``pose-service eval`` reads motion capture
(``devtools.evaluation.sequences.load_bvh``, which knows the files' Character Creator
skeleton), at 60 frames/s; the two 30 frames/s phases of it
(even and odd frames) are two sequences. Files are split by name into train / validation /
test, so the test motions are never seen in training or selection. Subject 131 (the evaluation's
walk) is not in this data and is never used here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pose_service.devtools.evaluation.sequences import load_bvh

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "data_source.json"
DEFAULT_DIR = HERE / ".cache" / "bvh"
SPLITS = ("train", "validation", "test")
CAPTURE_FPS = 60.0  # the files' frame rate; the service's videos are 30 frames/s
PHASES = 2  # 60 -> 30 frames/s, starting on an even or an odd frame


def source() -> dict:
    return json.loads(SOURCE.read_text())


def split_of(name: str) -> str:
    """The split a file belongs to, from its place in the sorted list (every 5th from the
    first is a test motion, every 5th from the third a validation one), so each subject has
    motions in every split."""
    names = sorted(source()["files"])
    index = names.index(name)
    return {0: "test", 2: "validation"}.get(index % 5, "train")


def check_files(directory: Path) -> list[Path]:
    """The source's files in ``directory``, each checked against its sha256."""
    paths = []
    for name, digest in sorted(source()["files"].items()):
        path = directory / name
        if not path.exists():
            raise SystemExit(f"{path} missing: see training/README.md for how to fetch the data")
        if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            raise SystemExit(f"{path}: sha256 differs from data_source.json")
        paths.append(path)
    return paths


@dataclass
class Motion:
    name: str
    split: str
    joints: np.ndarray  # (T, 24, 3) body-frame metres (pelvis at the origin), camera frame, 30 fps


def load_motions(directory: Path = DEFAULT_DIR) -> list[Motion]:
    """Every file's two 30 frames/s phases (read once, then from ``joints.npz`` beside them)."""
    cache = directory / "joints.npz"
    if cache.exists():
        with np.load(cache) as data:
            full = {name: data[name] for name in data.files}
    else:
        full = {p.name: load_bvh(p, fps=CAPTURE_FPS).joints_3d for p in check_files(directory)}
        np.savez(cache, **full)
    return [
        Motion(f"{Path(name).stem}/{phase}", split_of(name), joints[phase::2])
        for name, joints in sorted(full.items())
        for phase in range(PHASES)
    ]
