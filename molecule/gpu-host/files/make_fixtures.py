#!/usr/bin/env python3
"""Fixtures of the gpu-host scenario: the stand-in models served in the real hosts' layouts.

Usage: make_fixtures.py FIXTURES (stdlib only: it runs under molecule's Python).

Reads the random-weight stand-ins that tests/upstream/stand_ins.py built in POSE_UPSTREAM_MODELS
(the real HMR2 and ViTDet-H architectures, a synthetic SMPL pickled with real chumpy objects) and
lays out, once per stand-in version, ``POSE_UPSTREAM_MODELS/www``, the tree the local HTTP server
serves in place of the real hosts:

- ``hmr2/hmr2_data.tar.gz``: a plain tar, as the real file is despite its name, of the
  checkpoint, model_config.yaml, smpl_mean_params.npz and SMPL_to_J19.pkl in their real paths;
- ``detectron2/ViTDet/.../model_final_f05665.pkl``: ViTDet-H's stand-in weights;
- PHALP's assets, its X101 weights and torchvision's ResNet-50 at their real paths, as small
  placeholders: nothing in this scenario loads them (the service's tracker is its own, not
  PHALP), so what they test is the URL → file layout, the checksums recorded, and the links.

Writes into FIXTURES: ``www`` (a link to that tree), ``SMPL_NEUTRAL.pkl`` (the file as a user
downloads it, chumpy arrays, Python-2 pickle) and ``upstream-vars.json`` (the snapshot pins of
../shared/upstream, routed to the container's /srv/github mirror).
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
MIRROR_IN_CONTAINER = "file:///srv/github"
HMR2_DATA = "home/.cache/4DHumans"
HMR2_DATA_FILES = [
    "logs/train/multiruns/hmr2/0/model_config.yaml",
    "logs/train/multiruns/hmr2/0/checkpoints/epoch=35-step=1000000.ckpt",
    "data/smpl_mean_params.npz",
    "data/SMPL_to_J19.pkl",
]
VITDET = "detectron2/ViTDet/COCO/cascade_mask_rcnn_vitdet_h/f328730692/model_final_f05665.pkl"
# Real paths of files nothing in this scenario loads (see the docstring).
PLACEHOLDERS = [
    "detectron2/COCO-InstanceSegmentation/mask_rcnn_X_101_32x8d_FPN_3x/139653917/model_final_2d9806.pkl",
    "torchvision/resnet50-19c8e357.pth",
    "phalp/3D/head_faces.npy",
    "phalp/3D/mean_std.npy",
    "phalp/3D/smpl_mean_params.npz",
    "phalp/3D/SMPL_to_J19.pkl",
    "phalp/3D/texture.npz",
    "phalp/bmap_256.npy",
    "phalp/fmap_256.npy",
    "phalp/weights/hmar_v2_weights.pth",
    "phalp/weights/pose_predictor_40006.ckpt",
    "phalp/weights/config_40006.yaml",
    "phalp/ava/ava_labels.pkl",
    "phalp/ava/ava_class_mappping.pkl",
]


def link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def build_www(models: Path) -> Path:
    """The served tree, built once beside the stand-ins (each file skipped when present)."""
    www = models / "www"
    tarball = www / "hmr2/hmr2_data.tar.gz"
    if not tarball.is_file():
        tarball.parent.mkdir(parents=True, exist_ok=True)
        part = tarball.with_name(tarball.name + ".part")
        subprocess.run(
            ["tar", "-C", str(models / HMR2_DATA), "-cf", str(part), *HMR2_DATA_FILES], check=True
        )
        part.replace(tarball)
    if not (www / VITDET).is_file():
        link_or_copy(models / "detectron2/model_final_f05665.pkl", www / VITDET)
    for rel in PLACEHOLDERS:
        path = www / rel
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(hashlib.sha256(rel.encode()).digest() * 4)
    return www


def main() -> None:
    fixtures = Path(sys.argv[1])
    models = Path(os.environ["POSE_UPSTREAM_MODELS"])
    manifest = os.environ.get("POSE_UPSTREAM_MANIFEST") or str(
        REPO.parent / "shared/upstream/MANIFEST.tsv"
    )
    shutil.rmtree(fixtures, ignore_errors=True)
    fixtures.mkdir(parents=True)
    (fixtures / "www").symlink_to(build_www(models))
    shutil.copyfile(
        models / "licensed/basicModel_neutral_lbs_10_207_0_v1.0.0.pkl",
        fixtures / "SMPL_NEUTRAL.pkl",
    )
    sys.path.insert(0, str(REPO / "tests/upstream"))
    import env_vars

    pins = env_vars.upstream_pins(MIRROR_IN_CONTAINER, manifest)
    (fixtures / "upstream-vars.json").write_text(json.dumps(pins, indent=1))


if __name__ == "__main__":
    main()
