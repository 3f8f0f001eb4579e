"""The SMPL model made chumpy-free (``estimators/smpl_file``), without chumpy installed.

The pickle here imitates how chumpy objects pickle (a ``chumpy.ch.Ch`` class whose state is a
dict with the values in ``x``), written while a throwaway ``chumpy.ch`` module is registered;
the real chumpy's pickle of a synthetic SMPL file is converted and loaded by smplx in
``tests/upstream`` (``stand_ins.write_licensed_smpl``).
"""

from __future__ import annotations

import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from pose_service.estimators import smpl_file


class _Ch:
    """Pickles as ``chumpy.ch.Ch`` with chumpy's state layout."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = x

    def __getstate__(self) -> dict:
        return {"x": self.x, "dterms": ["x"]}


def _write_chumpy_pickle(path: Path, data: dict) -> None:
    package, module = types.ModuleType("chumpy"), types.ModuleType("chumpy.ch")
    _Ch.__module__, _Ch.__qualname__ = "chumpy.ch", "Ch"
    module.Ch, package.ch = _Ch, module
    sys.modules.update({"chumpy": package, "chumpy.ch": module})
    try:
        path.write_bytes(pickle.dumps(data, protocol=2))
    finally:
        del sys.modules["chumpy"], sys.modules["chumpy.ch"]


def _model(rng: np.random.Generator) -> dict:
    return {
        "v_template": _Ch(rng.normal(size=(6890, 3))),
        "shapedirs": _Ch(rng.normal(size=(6890, 3, 10))),
        "posedirs": rng.normal(size=(6890, 3, 207)),
        "J_regressor": rng.random((24, 6890)),
        "weights": _Ch(rng.random((6890, 24))),
        "kintree_table": np.zeros((2, 24), dtype=np.int64),
        "f": np.zeros((13776, 3), dtype=np.uint32),
        "bs_style": "lbs",
    }


def test_a_chumpy_pickle_becomes_plain_arrays(tmp_path: Path) -> None:
    source, dest = tmp_path / "basicModel.pkl", tmp_path / "smpl" / "SMPL_NEUTRAL.pkl"
    model = _model(np.random.default_rng(0))
    _write_chumpy_pickle(source, model)
    assert smpl_file.needs_chumpy(source)
    with pytest.raises(ModuleNotFoundError):
        pickle.loads(source.read_bytes())  # as smplx would: chumpy is not installed here

    smpl_file.convert(source, dest)
    assert not smpl_file.needs_chumpy(dest)
    converted = pickle.loads(dest.read_bytes())
    np.testing.assert_array_equal(converted["v_template"], model["v_template"].x)
    np.testing.assert_array_equal(converted["shapedirs"], model["shapedirs"].x)
    np.testing.assert_array_equal(converted["posedirs"], model["posedirs"])
    assert converted["bs_style"] == "lbs"
    assert not (tmp_path / "smpl" / "SMPL_NEUTRAL.pkl.part").exists()


def test_a_sparse_regressor_is_densified(tmp_path: Path) -> None:
    import scipy.sparse

    model = _model(np.random.default_rng(1))
    dense = model["J_regressor"]
    model["J_regressor"] = scipy.sparse.csc_matrix(dense)
    _write_chumpy_pickle(tmp_path / "in.pkl", model)
    out = smpl_file.convert(tmp_path / "in.pkl", tmp_path / "out.pkl")
    assert type(out["J_regressor"]) is np.ndarray
    np.testing.assert_allclose(out["J_regressor"], dense)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"not a pickle at all", "not a readable SMPL pickle"),
        (pickle.dumps([1, 2, 3]), "not the SMPL model dict"),
        (pickle.dumps({"v_template": [0]}), "lacks shapedirs"),
    ],
)
def test_what_is_not_an_smpl_model_is_refused(tmp_path: Path, content: bytes, reason: str) -> None:
    (tmp_path / "in.pkl").write_bytes(content)
    with pytest.raises(smpl_file.NotAnSmplModel, match=reason):
        smpl_file.convert(tmp_path / "in.pkl", tmp_path / "out.pkl")
    assert not (tmp_path / "out.pkl").exists()


def test_the_command_line_the_role_runs(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _write_chumpy_pickle(tmp_path / "in.pkl", _model(np.random.default_rng(2)))
    assert smpl_file.main([str(tmp_path / "in.pkl"), str(tmp_path / "out.pkl")]) == 0
    assert "without chumpy" in capsys.readouterr().out
    (tmp_path / "bad.pkl").write_bytes(b"x")
    assert smpl_file.main([str(tmp_path / "bad.pkl"), str(tmp_path / "o2.pkl")]) == 2
    assert smpl_file.main([]) == 2
