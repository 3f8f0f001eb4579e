"""The licensed SMPL model file, made chumpy-free once so any Python from 3.10 on can load it.

The SMPL ``.pkl`` the user downloads is a Python 2 pickle of a dict whose arrays are partly
chumpy objects (``chumpy.ch.Ch``). smplx unpickles it as it is, so loading it imports chumpy, and
chumpy fails to import on Python >= 3.11 (``inspect.getargspec``) and on numpy >= 1.24. The
chumpy arrays carry their values in their pickled state (``x``), so they can be read without
chumpy: :func:`convert` unpickles with a stand-in for every chumpy class, takes the values, and
writes a pickle of plain numpy arrays that smplx, HMR2 and PHALP read unchanged. The Ansible role
``pose_service_models`` runs this file (``python smpl_file.py SRC DEST``) at provisioning, so it
imports nothing of the package: numpy, and scipy for the sparse joint regressor.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np

CHUMPY_MARK = b"chumpy"  # the module name every chumpy object's pickle opcode carries
REQUIRED_KEYS = (
    "v_template",
    "shapedirs",
    "posedirs",
    "J_regressor",
    "weights",
    "kintree_table",
    "f",
)


class NotAnSmplModel(ValueError):
    """The file is not an SMPL model pickle (or a chumpy object in it has no values)."""


class _ChumpyStandIn:
    """Takes the place of any chumpy class while unpickling: keeps the pickled state only."""

    state: dict[str, Any] = {}  # replaced by the pickled state, when the pickle has one

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state = {}

    def __setstate__(self, state: Any) -> None:
        self.state = state if isinstance(state, dict) else {"x": state}

    def values(self, key: str) -> np.ndarray:
        value = self.state.get("x")
        if value is None:
            raise NotAnSmplModel(
                f"{key!r} is a chumpy expression without stored values ({sorted(self.state)}); "
                "this is not the SMPL model file from smplify.is.tue.mpg.de"
            )
        return plain(value, key)


class _WithoutChumpy(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == "chumpy" or module.startswith("chumpy."):
            return _ChumpyStandIn
        return super().find_class(module, name)


def plain(value: Any, key: str = "") -> Any:
    """``value`` with chumpy stand-ins replaced by numpy arrays and sparse matrices densified."""
    if isinstance(value, _ChumpyStandIn):
        return value.values(key)
    if hasattr(value, "toarray") and "scipy.sparse" in type(value).__module__:
        return np.asarray(value.toarray())
    if isinstance(value, bytes):
        return value.decode("latin1")
    return value


def read(path: Path) -> dict[str, Any]:
    """The SMPL model dict with plain values, whether or not the file pickles chumpy objects."""
    with open(path, "rb") as handle:
        try:
            data = _WithoutChumpy(handle, encoding="latin1").load()
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
            raise NotAnSmplModel(f"{path} is not a readable SMPL pickle: {exc}") from exc
    if not isinstance(data, dict):
        raise NotAnSmplModel(f"{path} holds a {type(data).__name__}, not the SMPL model dict")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise NotAnSmplModel(f"{path} lacks {', '.join(missing)}: not an SMPL model file")
    return {str(key): plain(value, str(key)) for key, value in data.items()}


def needs_chumpy(path: Path) -> bool:
    """Whether unpickling ``path`` as it is would import chumpy."""
    return CHUMPY_MARK in path.read_bytes()


def convert(source: Path, dest: Path) -> dict[str, Any]:
    """Write ``source``'s SMPL model to ``dest`` as plain numpy arrays; returns the dict.

    Written to a temporary file first, so ``dest`` is never half a model.
    """
    data = read(source)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    with open(part, "wb") as handle:
        pickle.dump(data, handle, protocol=4)
    part.replace(dest)
    return data


def main(argv: list[str] | None = None) -> int:
    """``python smpl_file.py SRC DEST``: convert; prints what was written, exit 2 on bad input."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: smpl_file.py SMPL_SOURCE.pkl DEST.pkl", file=sys.stderr)
        return 2
    try:
        data = convert(Path(args[0]), Path(args[1]))
    except (OSError, NotAnSmplModel) as exc:
        print(f"cannot convert the SMPL model: {exc}", file=sys.stderr)
        return 2
    shapes = {k: list(np.shape(v)) for k, v in data.items() if isinstance(v, np.ndarray)}
    print(f"wrote {args[1]} without chumpy: {shapes}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
