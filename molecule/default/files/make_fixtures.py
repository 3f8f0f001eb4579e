#!/usr/bin/env python3
"""Build the molecule stand-ins: a bare git repo shaped like 4D-Humans, small model files with
fixed content (so their sha256 in molecule.yml is known in advance), a stand-in SMPL file.

Usage: make_fixtures.py OUTDIR. Writes OUTDIR/www (served over HTTP), OUTDIR/4D-Humans.git,
OUTDIR/4D-Humans.commit and OUTDIR/SMPL_NEUTRAL.pkl. Deterministic: same bytes every run.
"""

import hashlib
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path


def blob(name: str, size: int) -> bytes:
    """Deterministic filler bytes for a stand-in model file."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{name}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def smpl_stand_in() -> bytes:
    """A tiny pickle with the SMPL model's keys (lists, not arrays: no numpy here), which the
    role's chumpy-free conversion accepts. The real-shaped SMPL stand-in is tests/upstream's."""
    keys = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")
    return pickle.dumps({key: [[0.0, 0.0, 0.0]] for key in keys}, protocol=2)


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def hmr2_tar() -> bytes:
    members = {
        "logs/train/multiruns/hmr2/0/model_config.yaml": (
            b"# stand-in model config for molecule\nMODEL: {}\n"
        ),
        "logs/train/multiruns/hmr2/0/checkpoints/epoch=35-step=1000000.ckpt": blob("ckpt", 4096),
        "data/smpl_mean_params.npz": blob("mean", 512),
        "data/SMPL_to_J19.pkl": blob("j19", 256),
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size = len(members[name])
            info.mtime = 0
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(members[name]))
    return buf.getvalue()


PHALP = [
    "3D/head_faces.npy",
    "3D/mean_std.npy",
    "3D/smpl_mean_params.npz",
    "3D/SMPL_to_J19.pkl",
    "3D/texture.npz",
    "bmap_256.npy",
    "fmap_256.npy",
    "weights/hmar_v2_weights.pth",
    "weights/pose_predictor_40006.ckpt",
    "weights/config_40006.yaml",
    "ava/ava_labels.pkl",
    "ava/ava_class_mappping.pkl",
]

FOURD_TREE = {
    "README.md": "Stand-in with the shape of a 4D-Humans checkout (molecule test fixture).\n",
    "setup.py": (
        "from setuptools import setup\n\nsetup(name='hmr2', version='0.0.0', packages=['hmr2'])\n"
    ),
    "track.py": "# stand-in\n",
    "demo.py": "# stand-in\n",
    "hmr2/__init__.py": "",
    "hmr2/models/__init__.py": "",
    "hmr2/configs/__init__.py": "",
}


def git_repo(out: Path) -> str:
    work = out / "4D-Humans.work"
    bare = out / "4D-Humans.git"
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(bare, ignore_errors=True)
    for rel, text in FOURD_TREE.items():
        write(work / rel, text.encode())
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="molecule",
        GIT_AUTHOR_EMAIL="molecule@example.invalid",
        GIT_COMMITTER_NAME="molecule",
        GIT_COMMITTER_EMAIL="molecule@example.invalid",
        GIT_AUTHOR_DATE="2024-05-17T00:00:00Z",
        GIT_COMMITTER_DATE="2024-05-17T00:00:00Z",
    )
    git = ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"]
    subprocess.run(git + ["init", "-q", str(work)], check=True, env=env)
    subprocess.run(git + ["-C", str(work), "add", "-A"], check=True, env=env)
    subprocess.run(
        git + ["-C", str(work), "commit", "-q", "-m", "4D-Humans tree shape"], check=True, env=env
    )
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True, env=env)
    commit = subprocess.run(
        ["git", "-C", str(bare), "rev-parse", "HEAD"],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    ).stdout.strip()
    shutil.rmtree(work)
    return commit


def main() -> None:
    out = Path(sys.argv[1])
    www = out / "www"
    shutil.rmtree(www, ignore_errors=True)
    files = {
        "hmr2/hmr2_data.tar.gz": hmr2_tar(),
        "detectron2/ViTDet/COCO/cascade_mask_rcnn_vitdet_h/f328730692/model_final_f05665.pkl": blob(
            "vitdet", 8192
        ),
        "bad/model.bin": blob("not-what-you-expect", 1024),
    }
    files.update({f"phalp/{rel}": blob(rel, 128) for rel in PHALP})
    table = {}
    for rel, data in files.items():
        write(www / rel, data)
        table[rel] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    write(out / "SMPL_NEUTRAL.pkl", smpl_stand_in())
    (out / "4D-Humans.commit").write_text(git_repo(out) + "\n")
    os.chmod(out, 0o755)
    print(json.dumps(table, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
