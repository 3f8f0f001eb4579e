"""Random-weight stand-ins of the real model files, in the real layouts (``make test-upstream``).

The real weights live on hosts these machines cannot reach, and SMPL is licensed. What is built
here is the real thing in every respect but the learned numbers:

- ``SMPL_NEUTRAL`` as downloaded: a Python-2-protocol pickle whose arrays are real chumpy
  objects (chumpy imported with shims for the Python 3.11 / numpy 1.26 it predates), with the
  real keys, shapes, dtypes and kinematic tree; the body is synthetic, arms down (a ring of
  vertices around each of the 24 joints, one-hot skinning, a regressor that averages each ring).
- the 4D-Humans data as ``hmr2_data.tar.gz`` unpacks it: ``model_config.yaml`` (the released
  model's architecture: ViT-H backbone, transformer-decoder SMPL head), a Lightning checkpoint of
  the real ``hmr2.models.HMR2`` class with random weights (~2.6 GB), ``smpl_mean_params.npz``
  and ``SMPL_to_J19.pkl``. The SMPL head's read-out layers are zeroed, so every crop gives the
  mean pose with a camera that frames the person in the crop: a stand-in for "HMR2 found a
  person here", not a pose estimate.
- ViTDet-H's ``model_final_f05665.pkl`` in detectron2's model-zoo format, random weights of the
  real LazyConfig model; the box predictors score every proposal as a person, so the detector
  path yields boxes (wherever the random proposals are).

Run as ``python stand_ins.py ROOT`` (a child process: chumpy's shims and the 5 GB of models
stay out of the test process). ``ROOT/home`` is the HOME the tests give the service.
"""

from __future__ import annotations

import inspect
import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np

NUM_JOINTS = 24
NUM_VERTICES = 6890
NUM_FACES = 13776
SMPL_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]
# A standing body with the arms down (metres, y up): near SMPL's neutral joints, but not SMPL's
# T-pose rest, so the zeroed head's "mean pose" has a person's outline (a tall, narrow box), which
# is what a track's box hint around a runner must confirm.
REST_JOINTS = [
    (0.0, -0.23, 0.02),
    (0.06, -0.32, 0.01),
    (-0.06, -0.32, 0.01),
    (0.0, -0.12, -0.01),
    (0.10, -0.70, 0.01),
    (-0.10, -0.70, 0.01),
    (0.0, 0.02, 0.0),
    (0.09, -1.10, -0.03),
    (-0.09, -1.10, -0.03),
    (0.0, 0.08, 0.02),
    (0.11, -1.15, 0.09),
    (-0.11, -1.15, 0.09),
    (0.0, 0.30, -0.01),
    (0.08, 0.21, 0.0),
    (-0.08, 0.21, 0.0),
    (0.0, 0.37, 0.04),
    (0.17, 0.23, -0.01),
    (-0.17, 0.23, -0.01),
    (0.20, -0.03, -0.03),
    (-0.20, -0.03, -0.03),
    (0.22, -0.27, -0.03),
    (-0.22, -0.27, -0.03),
    (0.23, -0.35, -0.04),
    (-0.23, -0.35, -0.04),
]
RING_RADIUS_M = 0.05
HMR2_DIR = "home/.cache/4DHumans"
CHECKPOINT_REL = "logs/train/multiruns/hmr2/0/checkpoints/epoch=35-step=1000000.ckpt"
LICENSED_SMPL = "licensed/basicModel_neutral_lbs_10_207_0_v1.0.0.pkl"
VITDET_WEIGHTS = "detectron2/model_final_f05665.pkl"

# The released model's architecture (4D-Humans' hmr_vit_transformer experiment); SMPL paths are
# relative, as in the tarball: get_config(update_cachedir=True) puts them under ~/.cache/4DHumans.
MODEL_CONFIG = """\
MODEL:
  IMAGE_SIZE: 256
  IMAGE_MEAN: [0.485, 0.456, 0.406]
  IMAGE_STD: [0.229, 0.224, 0.225]
  BACKBONE:
    TYPE: vit
  SMPL_HEAD:
    TYPE: transformer_decoder
    IN_CHANNELS: 2048
    TRANSFORMER_DECODER:
      depth: 6
      heads: 8
      mlp_dim: 1024
      dim_head: 64
      dropout: 0.0
      emb_dropout: 0.0
      norm: layer
      context_dim: 1280
SMPL:
  DATA_DIR: data
  MODEL_PATH: data/smpl
  GENDER: neutral
  NUM_BODY_JOINTS: 23
  JOINT_REGRESSOR_EXTRA: data/SMPL_to_J19.pkl
  MEAN_PARAMS: data/smpl_mean_params.npz
EXTRA:
  FOCAL_LENGTH: 5000
  PELVIS_IND: 39
LOSS_WEIGHTS:
  KEYPOINTS_3D: 0.05
  KEYPOINTS_2D: 0.01
  GLOBAL_ORIENT: 0.001
  BODY_POSE: 0.001
  BETAS: 0.0005
  ADVERSARIAL: 0.0005
TRAIN:
  LR: 1.0e-05
  WEIGHT_DECAY: 0.0001
  BATCH_SIZE: 48
"""


def synthetic_body(seed: int = 0) -> dict[str, np.ndarray]:
    """The SMPL arrays of a synthetic body with the real shapes and dtypes."""
    rng = np.random.default_rng(seed)
    joints = np.asarray(REST_JOINTS, dtype=np.float64)
    owner = np.arange(NUM_VERTICES) % NUM_JOINTS  # each vertex rings one joint
    directions = rng.normal(size=(NUM_VERTICES, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    vertices = joints[owner] + RING_RADIUS_M * directions
    regressor = np.zeros((NUM_JOINTS, NUM_VERTICES))
    for j in range(NUM_JOINTS):
        ring = owner == j
        vertices[ring] += joints[j] - vertices[ring].mean(axis=0)  # each ring centred on its joint
        regressor[j, ring] = 1.0 / ring.sum()
    weights = np.zeros((NUM_VERTICES, NUM_JOINTS))
    weights[np.arange(NUM_VERTICES), owner] = 1.0
    per_joint = NUM_FACES // NUM_JOINTS
    faces = []
    for j in range(NUM_JOINTS):
        ring = np.flatnonzero(owner == j)
        for k in range(per_joint):
            faces.append(
                (ring[k % len(ring)], ring[(k + 1) % len(ring)], ring[(k + 2) % len(ring)])
            )
    kintree = np.array([SMPL_PARENTS, list(range(NUM_JOINTS))], dtype=np.int64)
    kintree[0, 0] = 4294967295  # the real file's uint32 "no parent"
    return {
        "v_template": vertices,
        "shapedirs": rng.normal(scale=0.01, size=(NUM_VERTICES, 3, 10)),
        "posedirs": rng.normal(scale=0.001, size=(NUM_VERTICES, 3, 207)),
        "J_regressor": regressor,
        "J": joints,
        "weights": weights,
        "kintree_table": kintree,
        "f": np.asarray(faces, dtype=np.uint32),
    }


def import_chumpy():
    """The real chumpy, on a Python and numpy newer than it supports (fixture building only)."""
    if not hasattr(inspect, "getargspec"):
        inspect.getargspec = inspect.getfullargspec  # type: ignore[attr-defined]
    for name, value in (
        ("bool", bool),
        ("int", int),
        ("float", float),
        ("complex", complex),
        ("object", object),
        ("unicode", str),
        ("str", str),
    ):
        if name not in np.__dict__:
            setattr(np, name, value)
    import chumpy

    return chumpy


def write_licensed_smpl(path: Path) -> None:
    """The SMPL file as the user downloads it: chumpy arrays, Python 2 pickle protocol."""
    import scipy.sparse

    ch = import_chumpy()
    body = synthetic_body()
    data = {
        "v_template": ch.array(body["v_template"]),
        "shapedirs": ch.array(body["shapedirs"]),
        "posedirs": body["posedirs"],
        "J_regressor": scipy.sparse.csc_matrix(body["J_regressor"]),
        "J": ch.array(body["J"]),
        "weights": ch.array(body["weights"]),
        "kintree_table": body["kintree_table"],
        "f": body["f"],
        "bs_style": "lbs",
        "bs_type": "lrotmin",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        pickle.dump(data, handle, protocol=2)


def write_hmr2_data(root: Path, service_src: Path) -> None:
    """model_config.yaml, the data files and the HMR2 checkpoint under ROOT/home/.cache/4DHumans."""
    data_dir = root / HMR2_DIR / "data"
    (data_dir / "smpl").mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(service_src))
    from pose_service.estimators import smpl_file

    smpl_file.convert(root / LICENSED_SMPL, data_dir / "smpl" / "SMPL_NEUTRAL.pkl")
    rng = np.random.default_rng(1)
    with open(data_dir / "SMPL_to_J19.pkl", "wb") as handle:
        regressor = np.abs(rng.normal(size=(19, NUM_VERTICES)))
        pickle.dump(regressor / regressor.sum(axis=1, keepdims=True), handle, protocol=2)
    upright = [
        1.0,
        0.0,
        0.0,
        0.0,
        -1.0,
        0.0,
    ]  # 6D of 180 degrees about x: the body stands in camera
    rest = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    np.savez(
        data_dir / "smpl_mean_params.npz",
        pose=np.asarray(upright + rest * 23, dtype=np.float64),
        shape=np.zeros(10),
        cam=np.asarray([0.9, 0.0, 0.0]),
    )
    run_dir = root / HMR2_DIR / "logs/train/multiruns/hmr2/0"
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    (run_dir / "model_config.yaml").write_text(MODEL_CONFIG)

    import pytorch_lightning as pl
    import torch
    from hmr2.configs import get_config
    from hmr2.models import HMR2

    torch.manual_seed(0)
    cfg = get_config(str(run_dir / "model_config.yaml"), update_cachedir=True)
    model = HMR2(cfg, init_renderer=False)
    with torch.no_grad():
        for layer in (model.smpl_head.decpose, model.smpl_head.decshape, model.smpl_head.deccam):
            layer.weight.zero_()
            layer.bias.zero_()
    checkpoint = {
        "epoch": 35,
        "global_step": 1000000,
        "pytorch-lightning_version": pl.__version__,
        "state_dict": model.state_dict(),
        "hyper_parameters": {"cfg": cfg},
    }
    part = run_dir / "checkpoints" / "stand-in.part"
    torch.save(checkpoint, part)
    part.replace(root / HMR2_DIR / CHECKPOINT_REL)


def write_vitdet(root: Path, fourd_humans_dir: Path) -> None:
    """Random weights of the real ViTDet-H LazyConfig model, in the model zoo's pickle format."""
    import torch
    from detectron2.config import LazyConfig, instantiate

    torch.manual_seed(0)
    cfg = LazyConfig.load(str(fourd_humans_dir / "hmr2/configs/cascade_mask_rcnn_vitdet_h_75ep.py"))
    model = instantiate(cfg.model)
    state = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    del model
    for key in [k for k in state if k.startswith("roi_heads.box_predictor.")]:
        if key.endswith("cls_score.bias"):
            state[key][:] = 0.0
            state[key][0] = 12.0  # every proposal a person (class 0), softmax ~1
        elif key.endswith(("cls_score.weight", "bbox_pred.weight", "bbox_pred.bias")):
            state[key][:] = 0.0  # boxes stay the proposals
    path = root / VITDET_WEIGHTS
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    with open(part, "wb") as handle:
        pickle.dump(
            {"model": state, "__author__": "pose-service stand-in", "matching_heuristics": False},
            handle,
            protocol=4,
        )
    part.replace(path)


def build(root: Path, fourd_humans_dir: Path, service_src: Path) -> dict[str, str]:
    """Every stand-in under ``root`` (each step skipped when its file exists); their paths."""
    import os

    os.environ["HOME"] = str(root / "home")
    if not (root / LICENSED_SMPL).is_file():
        write_licensed_smpl(root / LICENSED_SMPL)
    if not (root / HMR2_DIR / CHECKPOINT_REL).is_file():
        write_hmr2_data(root, service_src)
    if not (root / VITDET_WEIGHTS).is_file():
        write_vitdet(root, fourd_humans_dir)
    return paths(root)


def paths(root: Path) -> dict[str, str]:
    return {
        "home": str(root / "home"),
        "licensed_smpl": str(root / LICENSED_SMPL),
        "hmr2_checkpoint": str(root / HMR2_DIR / CHECKPOINT_REL),
        "vitdet_weights": str(root / VITDET_WEIGHTS),
    }


def build_in_child(
    python: str, root: Path, fourd_humans_dir: Path, service_src: Path
) -> dict[str, str]:
    """:func:`build` in a child process of ``python`` (the upstream venv)."""
    out = subprocess.run(
        [python, __file__, str(root), str(fourd_humans_dir), str(service_src)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    built = build(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
    print(json.dumps(built))
