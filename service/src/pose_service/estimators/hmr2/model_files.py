"""Where the hmr2 estimator's files are, and a clear error when one is missing.

Nothing here downloads. 4D-Humans and detectron2 both fetch missing files on first use (and
keep a truncated file forever); the service must start only from files the Ansible role
``pose_service_models`` downloaded and checked. So each path is resolved the way the library
would resolve it, checked, and a missing file becomes :class:`ModelUnavailable` naming the
file, the setting that overrides it and the role that provides it.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..base import ModelUnavailable
from ..smpl_file import needs_chumpy

MODELS_ROLE = "pose_service_models"
PACKAGES_ROLE = "pose_service_fourd_humans"  # the 4D-Humans clone
PYTHON_ROLE = "pose_service_python"  # the venv: torch, detectron2, 4D-Humans, PHALP

# hmr2.models.DEFAULT_CHECKPOINT, relative to hmr2.configs.CACHE_DIR_4DHUMANS (~/.cache/4DHumans).
HMR2_CHECKPOINT_REL = "logs/train/multiruns/hmr2/0/checkpoints/epoch=35-step=1000000.ckpt"
# What hmr2.models.check_smpl_exists looks for first (it falls back to a cwd-relative file).
SMPL_REL = "data/smpl/SMPL_NEUTRAL.pkl"

# The detector 4D-Humans' demo.py uses: ViTDet-H, Cascade Mask R-CNN, COCO.
VITDET_CONFIG_NAME = "cascade_mask_rcnn_vitdet_h_75ep.py"
VITDET_URL = (
    "https://dl.fbaipublicfiles.com/detectron2/ViTDet/COCO/cascade_mask_rcnn_vitdet_h/"
    "f328730692/model_final_f05665.pkl"
)


def default_cache_dir_4dhumans() -> Path:
    """``~/.cache/4DHumans``, as ``hmr2.configs.CACHE_DIR_4DHUMANS`` derives it from HOME."""
    home = os.environ.get("HOME")
    if not home:
        raise ModelUnavailable(
            "HOME is not set: 4D-Humans derives its cache (~/.cache/4DHumans) from it; set HOME "
            "(the systemd unit from the pose_service_server role does)"
        )
    return Path(home) / ".cache" / "4DHumans"


def hmr2_checkpoint_path(configured: str, cache_dir: Path) -> Path:
    """The HMR2 checkpoint: the setting, else 4D-Humans' default inside its cache."""
    path = Path(configured).expanduser() if configured else cache_dir / HMR2_CHECKPOINT_REL
    require_file(path, "HMR2 checkpoint", "POSE_SERVICE_HMR2_CHECKPOINT", "asset hmr2_data")
    config = model_config_path(path)
    require_file(config, "HMR2 model config", "POSE_SERVICE_HMR2_CHECKPOINT", "asset hmr2_data")
    return path


def model_config_path(checkpoint: Path) -> Path:
    """``model_config.yaml`` two levels above the checkpoint, where ``load_hmr2`` reads it."""
    return checkpoint.parent.parent / "model_config.yaml"


def iopath_cache_dir() -> Path:
    """detectron2's download cache: iopath's ``get_cache_dir()`` (``$FVCORE_CACHE`` or
    ``~/.torch/iopath_cache``), computed without iopath's side effects when it is absent."""
    try:
        from iopath.common.file_io import get_cache_dir
    except ImportError:
        return Path(os.path.expanduser(os.getenv("FVCORE_CACHE", "~/.torch/iopath_cache")))
    return Path(get_cache_dir())


def cached_url_path(url: str, cache_dir: Path) -> Path:
    """Where iopath's HTTPURLHandler keeps ``url``: the cache root + the URL's path (no host)."""
    from urllib.parse import urlparse

    parts = [p for p in urlparse(url).path.split("/") if p not in ("", ".")]
    return cache_dir.joinpath(*parts)


def vitdet_weights_path(configured: str) -> Path:
    """The ViTDet-H weights: the setting, else the model-zoo file already in iopath's cache."""
    if configured:
        path = Path(configured).expanduser()
        require_file(path, "ViTDet-H weights", "POSE_SERVICE_VITDET_WEIGHTS", "asset vitdet_h")
        return path
    path = cached_url_path(VITDET_URL, iopath_cache_dir())
    require_file(
        path,
        "ViTDet-H weights (detectron2's model-zoo file, looked up in the iopath cache; "
        "the service never downloads it)",
        "POSE_SERVICE_VITDET_WEIGHTS",
        "asset vitdet_h",
    )
    return path


def vitdet_config_path(fourd_humans_dir: str, hmr2_package_dir: Path | None) -> Path:
    """The detectron2 LazyConfig 4D-Humans ships: from the clone if set, else the package."""
    if fourd_humans_dir:
        path = Path(fourd_humans_dir).expanduser() / "hmr2" / "configs" / VITDET_CONFIG_NAME
        setting = "POSE_SERVICE_FOURD_HUMANS_DIR"
    elif hmr2_package_dir is not None:
        path = hmr2_package_dir / "configs" / VITDET_CONFIG_NAME
        setting = "POSE_SERVICE_FOURD_HUMANS_DIR (empty: the installed hmr2 package)"
    else:  # pragma: no cover - hmr2 always has a __file__ once imported
        raise ModelUnavailable("cannot locate the hmr2 package to find its ViTDet config")
    if not path.is_file():
        raise ModelUnavailable(
            f"ViTDet config not found: {path} (set by {setting}); it is part of the 4D-Humans "
            f"checkout that the Ansible role {PACKAGES_ROLE} installs"
        )
    return path


def require_file(path: Path, what: str, setting: str, asset: str) -> None:
    """Raise :class:`ModelUnavailable` naming the file, its setting and its provider."""
    if path.is_file() and path.stat().st_size > 0:
        return
    state = "is empty" if path.is_file() else "not found"
    raise ModelUnavailable(
        f"{what} {state}: {path}. It is provided by the Ansible role {MODELS_ROLE} ({asset}); "
        f"run the playbook, or point {setting} at an existing copy. The service does not "
        "download models at run time."
    )


def require_smpl(cache_dir: Path) -> Path:
    """The licensed SMPL neutral model HMR2 needs (we cannot download it for the user), in
    its chumpy-free form (``smpl_file``): the service never imports chumpy."""
    path = cache_dir / SMPL_REL
    if not path.is_file():
        raise ModelUnavailable(
            f"SMPL neutral model not found: {path}. It is licensed (register at "
            "https://smplify.is.tue.mpg.de/); the Ansible role "
            f"{MODELS_ROLE} installs it from the copy named by pose_service_models_smpl_source."
        )
    if needs_chumpy(path):
        raise ModelUnavailable(
            f"the SMPL model {path} pickles chumpy objects, and chumpy does not import on "
            f"Python >= 3.11 or numpy >= 1.24. Convert it once (the Ansible role {MODELS_ROLE} "
            f"does): python -m pose_service.estimators.smpl_file {path} {path}"
        )
    return path
