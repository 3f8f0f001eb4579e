"""Importing and loading the upstream GPU stack (4D-Humans, smplx, detectron2, torch) around
its known pitfalls, so the estimator itself reads as inference only.

Each workaround, and why it exists:

- ``import_upstream`` / ``import_failure``: a failed import becomes :class:`ModelUnavailable`
  naming the fix (a package missing from the venv, setuptools >= 81 without ``pkg_resources``
  under detectron2's model zoo, or 4D-Humans' pyrender failing in OpenGL on a headless host,
  recognised by ``_raised_inside_gl``), instead of a traceback from deep inside a library.
- ``load_hmr2_without_renderer``: ``hmr2.models.load_hmr2`` always builds pyrender renderers
  (a GL context, the most reported failure on headless hosts); its config steps are repeated
  here and ``init_renderer=False`` passed.
- ``torch_full_unpickling``: torch >= 2.6 loads ``weights_only`` by default and refuses the
  Lightning checkpoint (it pickles a yacs config); full unpickling for the load's duration only.
- ``smpl_layer_forward``: HMR2's SMPL module overrides ``forward`` with OpenPose-ordered joints;
  the estimator calls smplx's own ``SMPLLayer.forward`` for SMPL's skeleton, checked to exist.

Nothing here imports torch or the stack at import time: every import happens when called.
"""

from __future__ import annotations

import contextlib
import inspect
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..base import ModelUnavailable
from .model_files import PYTHON_ROLE, model_config_path

_WEIGHTS_ONLY_VARS = ("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "TORCH_FORCE_WEIGHTS_ONLY_LOAD")


def import_upstream(module: str) -> Any:
    """Import a module of the GPU stack, or raise :class:`ModelUnavailable` saying what to fix."""
    import importlib

    try:
        return importlib.import_module(module)
    except (ImportError, OSError, AttributeError) as exc:
        raise import_failure(module, exc) from exc


# Raised from inside PyOpenGL when the GL library of PYOPENGL_PLATFORM cannot be loaded: PyPI's
# PyOpenGL raises ImportError("Unable to load OpenGL library"), mmatl's fork an AttributeError
# ("'NoneType' object has no attribute 'glGetError'"), a broken libEGL an OSError.
_GL_MARKERS = ("/OpenGL/", "/pyrender/")


def import_failure(module: str, exc: BaseException) -> ModelUnavailable:
    """What a failed import of ``module`` means for the operator, as :class:`ModelUnavailable`."""
    if _raised_inside_gl(exc):
        platform = os.environ.get("PYOPENGL_PLATFORM", "(unset)")
        return ModelUnavailable(
            f"importing {module} failed in OpenGL ({type(exc).__name__}: {exc}): 4D-Humans imports "
            f"pyrender, which needs the GL library of PYOPENGL_PLATFORM={platform}. Install "
            "libosmesa6 and set PYOPENGL_PLATFORM=osmesa (the systemd unit does) with mmatl's "
            "PyOpenGL fork (PyPI's 3.1.0 lacks OSMesa support), or libegl1 for egl; the Ansible "
            f"roles pose_service_preflight and {PYTHON_ROLE} install both"
        )
    missing = getattr(exc, "name", None) if isinstance(exc, ImportError) else None
    if missing == "pkg_resources":
        return ModelUnavailable(
            f"importing {module} failed: detectron2.model_zoo imports pkg_resources, which "
            "setuptools >= 81 no longer has; install setuptools<81 into the venv (the roles' "
            "constraints file pins it)"
        )
    if missing and missing.split(".")[0] != module.split(".")[0]:
        return ModelUnavailable(
            f"importing {module} failed: it needs the Python package {missing.split('.')[0]!r} "
            f"({exc}); the Ansible role {PYTHON_ROLE} installs the stack"
        )
    if isinstance(exc, ImportError):
        return ModelUnavailable(
            f"the hmr2 estimator needs the Python package {module.split('.')[0]!r} "
            f"({exc}); it is installed by the Ansible role {PYTHON_ROLE}"
        )
    return ModelUnavailable(f"importing {module} failed: {type(exc).__name__}: {exc}")


def _raised_inside_gl(exc: BaseException) -> bool:
    if "OpenGL library" in str(exc):
        return True
    tb = exc.__traceback__
    while tb is not None:
        if any(marker in tb.tb_frame.f_code.co_filename for marker in _GL_MARKERS):
            return True
        tb = tb.tb_next
    return False


def load_hmr2_without_renderer(checkpoint: Path) -> tuple[Any, Any]:
    """What ``hmr2.models.load_hmr2`` does, but with ``init_renderer=False``.

    ``load_hmr2(checkpoint_path)`` takes no renderer flag and always builds pyrender renderers
    (a GL context: the most reported failure on headless hosts). ``HMR2.__init__`` does take
    ``init_renderer``, and Lightning's ``load_from_checkpoint`` passes keyword arguments on to
    it, so we repeat load_hmr2's config steps and call it ourselves.
    """
    get_config = import_upstream("hmr2.configs").get_config
    models = import_upstream("hmr2.models")
    cfg = get_config(str(model_config_path(checkpoint)), update_cachedir=True)
    if cfg.MODEL.BACKBONE.TYPE == "vit" and "BBOX_SHAPE" not in cfg.MODEL:
        cfg.defrost()
        cfg.MODEL.BBOX_SHAPE = [192, 256]  # the ViT backbone's 192x256 input, as load_hmr2 sets
        cfg.freeze()
    try:
        models.check_smpl_exists()
    except FileNotFoundError as exc:  # pragma: no cover - require_smpl ran first
        raise ModelUnavailable(str(exc)) from exc
    kwargs: dict[str, Any] = {
        "strict": False,
        "cfg": cfg,
        "init_renderer": False,
        "map_location": "cpu",  # the checkpoint was saved from a GPU; the caller moves it
    }
    if _accepts(models.HMR2.load_from_checkpoint, "weights_only"):
        kwargs["weights_only"] = False  # Lightning >= 2.5: the checkpoint pickles a yacs config
    model = models.HMR2.load_from_checkpoint(str(checkpoint), **kwargs)
    if getattr(model, "mesh_renderer", None) is not None:  # pragma: no cover - guard
        raise ModelUnavailable("HMR2 built a renderer although init_renderer=False was passed")
    return model, cfg


def smpl_layer_forward(smpl: Any) -> Callable[..., Any]:
    """``smplx.SMPLLayer.forward``, checked to be a base class of HMR2's SMPL module."""
    smplx = import_upstream("smplx")
    if not isinstance(smpl, smplx.SMPLLayer):
        raise ModelUnavailable(
            f"HMR2's SMPL module is a {type(smpl).__name__}, not an smplx.SMPLLayer: this "
            "4D-Humans version is not the one the hmr2 estimator was written for"
        )
    return smplx.SMPLLayer.forward


@contextlib.contextmanager
def torch_full_unpickling() -> Iterator[None]:
    """Let ``torch.load`` unpickle the (trusted, checksummed) HMR2 checkpoint while loading.

    torch >= 2.6 defaults to ``weights_only=True``, which refuses the Lightning checkpoint (it
    pickles a yacs config). We pass ``weights_only=False`` where we can; for loads inside the
    libraries, ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` is set for the duration of the load only.
    If the operator set either TORCH_FORCE_* variable, their choice is left alone.
    """
    if any(os.environ.get(name) for name in _WEIGHTS_ONLY_VARS):
        yield
        return
    os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"
    try:
        yield
    finally:
        os.environ.pop("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", None)


def _accepts(func: Any, parameter: str) -> bool:
    try:
        return parameter in inspect.signature(func).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return False
