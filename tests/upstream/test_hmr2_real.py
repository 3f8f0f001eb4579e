"""``HMR2Estimator`` on the real 4D-Humans, detectron2 and smplx, on the CPU, with stand-in weights.

What the stand-in weights stand for (see ``stand_ins.py``): HMR2's read-out layers are zeroed, so
any crop gives SMPL's mean pose with a camera that frames the crop; ViTDet scores every proposal
as a person. So these tests check the real code path (loading, the crop, the real SMPL layer, the
camera, the detector's LazyConfig model, the contract's shapes and semantics), not accuracy.
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from pose_service.config import Settings
from pose_service.estimators.base import ModelUnavailable
from pose_service.estimators.hmr2.estimator import HMR2Estimator
from pose_service.types import BoxHint, Estimate, Frame

RUNNER_BOX = np.array([505.0, 195.0, 810.0, 875.0], dtype=np.float32)  # the runner in frame 0


def _files(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in root.rglob("*")}


def load_estimator(env: dict[str, str]) -> Iterator[SimpleNamespace]:
    """The estimator loaded with ``env`` set (restored after), and HOME's files before."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    home = Path(env["HOME"])
    before = _files(home)
    estimator = HMR2Estimator(Settings.from_env(os.environ))
    estimator.load()
    try:
        yield SimpleNamespace(estimator=estimator, home=home, home_before=before)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def loaded(service_env: dict[str, str]) -> Iterator[SimpleNamespace]:
    """The real estimator with ViTDet-H (the GPU host's setup), loaded once, HOME watched."""
    yield from load_estimator(service_env)


def _smpl_arrays(home: Path) -> dict[str, np.ndarray]:
    with open(home / ".cache/4DHumans/data/smpl/SMPL_NEUTRAL.pkl", "rb") as handle:
        return pickle.load(handle)


def test_load_reads_the_provisioned_files(loaded: SimpleNamespace, stand_ins) -> None:
    info = loaded.estimator.describe()
    assert loaded.estimator.model_status() == {"hmr2": "loaded", "vitdet": "loaded"}
    assert info["hmr2_checkpoint"] == str(stand_ins.hmr2_checkpoint)
    assert info["vitdet_weights"] == str(stand_ins.vitdet_weights)
    assert info["device"] == "cpu"
    assert loaded.estimator.faces().shape == (13776, 3)
    assert "chumpy" not in sys.modules  # the converted SMPL file needs no chumpy


def test_a_hinted_crop_answers_the_contract(loaded: SimpleNamespace, runner_frames) -> None:
    frame = Frame(runner_frames[0], 0, BoxHint(RUNNER_BOX, 0.9))
    estimate = loaded.estimator.estimate(frame)
    assert not estimate.detector_ran
    (person,) = estimate.people
    assert person.joints_3d.shape == (24, 3)
    assert person.vertices.shape == (6890, 3)
    assert person.rotations.shape == (24, 3, 3)
    assert person.keypoints_2d.shape == (24, 2)
    assert person.camera_translation[2] > 0
    # The 2D joints land in the square crop HMR2 saw (the box widened to 192:256, then squared):
    # the crop camera was moved to the full image correctly.
    x0, y0, x1, y1 = RUNNER_BOX
    half = max(y1 - y0, (x1 - x0) * 256 / 192) / 2 * 1.05
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    assert np.all(np.abs(person.keypoints_2d - centre) <= half), person.keypoints_2d


def test_joints_are_the_real_smpl_layers_skeleton(loaded: SimpleNamespace, runner_frames) -> None:
    """Pelvis = J_regressor . vertices of the real SMPL layer: the joints are SMPL's, in SMPL
    order, never HMR2's OpenPose-ordered keypoints relabelled (the old service's mistake)."""
    import torch
    from smplx import SMPLLayer

    person = loaded.estimator.estimate(Frame(runner_frames[0], 0, BoxHint(RUNNER_BOX, 0.9))).people[
        0
    ]
    smpl = _smpl_arrays(loaded.home)
    regressed = smpl["J_regressor"] @ person.vertices
    np.testing.assert_allclose(person.joints_3d, regressed, atol=2e-4)

    layer = SMPLLayer(model_path=str(loaded.home / ".cache/4DHumans/data/smpl"))
    rotations = torch.as_tensor(person.rotations)[None]
    out = layer(
        global_orient=rotations[:, :1],
        body_pose=rotations[:, 1:],
        betas=torch.as_tensor(person.betas)[None],
    )
    np.testing.assert_allclose(person.joints_3d, out.joints[0, :24].detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(person.vertices, out.vertices[0].detach().numpy(), atol=1e-5)


def test_a_batch_answers_as_each_frame_alone(loaded: SimpleNamespace, runner_frames) -> None:
    frames = [
        Frame(rgb, i, BoxHint(RUNNER_BOX + 4 * i, 0.9)) for i, rgb in enumerate(runner_frames[:2])
    ]
    together = loaded.estimator.estimate_batch(frames)
    for frame, batched in zip(frames, together, strict=True):
        alone = loaded.estimator.estimate(frame).people[0]
        np.testing.assert_allclose(batched.people[0].joints_3d, alone.joints_3d, atol=1e-4)
        np.testing.assert_allclose(batched.people[0].keypoints_2d, alone.keypoints_2d, atol=1e-2)


def test_rescue_runs_the_real_hmr2_on_a_low_score_box(loaded, runner_frames) -> None:
    """The second look's HMR2 path on the real model. The first look's candidates are set by
    hand (a box that scored 0.3 around the runner): the stand-in ViTDet scores every proposal
    high."""
    rgb = runner_frames[0]
    estimator = loaded.estimator
    first = Estimate([], "hmr2", candidates=(RUNNER_BOX[None].astype(np.float32), np.array([0.3])))
    again = estimator.rescue(Frame(rgb, 0), RUNNER_BOX + 6.0, first)
    (person,) = again.people
    assert person.score == pytest.approx(0.3) and not again.detector_ran
    assert person.vertices.shape == (6890, 3) and person.joints_3d.shape == (24, 3)
    assert estimator.rescue(Frame(rgb, 0), RUNNER_BOX + 900.0, first).people == []


def test_the_real_vitdet_runs_when_there_is_no_hint(loaded: SimpleNamespace, runner_frames) -> None:
    """One pass of the real ViTDet-H LazyConfig model (about a minute on 2 CPU cores)."""
    estimate = loaded.estimator.estimate(Frame(runner_frames[0], 0))
    assert estimate.detector_ran
    assert estimate.people, "the stand-in detector scores every proposal as a person"
    assert "detect" in estimate.timings_ms
    for person in estimate.people:
        assert person.joints_3d.shape == (24, 3)
        assert 0.5 < person.score <= 1.0


def test_nothing_is_written_under_home(loaded: SimpleNamespace, runner_frames) -> None:
    loaded.estimator.estimate(Frame(runner_frames[1], 1, BoxHint(RUNNER_BOX, 0.9)))
    assert _files(loaded.home) == loaded.home_before


@pytest.mark.parametrize("detector", ["vitdet", "mediapipe"])
def test_verify_install_checks_everything_load_needs(
    service_env: dict[str, str], stand_ins, detector: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pose-service verify-install`` (the provisioning runs it before starting the unit):
    the real imports, the converted SMPL read by the real smplx, the real detector config;
    no weights read, nothing written under HOME, chumpy never imported."""
    for key, value in {**service_env, "POSE_SERVICE_HMR2_DETECTOR": detector}.items():
        monkeypatch.setenv(key, value)
    before = _files(stand_ins.home)
    checked = HMR2Estimator(Settings.from_env(os.environ)).verify_install()
    assert checked["detector"] == detector and checked["device"] == "cpu"
    assert checked["hmr2_checkpoint"] == str(stand_ins.hmr2_checkpoint)
    assert checked["smpl"].endswith(".cache/4DHumans/data/smpl/SMPL_NEUTRAL.pkl")
    assert ("vitdet_config" in checked) == (detector == "vitdet")
    assert _files(stand_ins.home) == before
    assert "chumpy" not in sys.modules


def test_a_chumpy_smpl_file_is_refused_with_the_fix(
    stand_ins, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file exactly as the user downloads it: the service never imports chumpy."""
    home = tmp_path / "home"
    data = home / ".cache/4DHumans"
    (data / "data/smpl").mkdir(parents=True)
    (data / "data/smpl/SMPL_NEUTRAL.pkl").write_bytes(stand_ins.licensed_smpl.read_bytes())
    run = data / "logs/train/multiruns/hmr2/0"
    (run / "checkpoints").mkdir(parents=True)
    (run / "model_config.yaml").write_text("x: 1\n")
    (run / "checkpoints/epoch=35-step=1000000.ckpt").write_bytes(b"x")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PYOPENGL_PLATFORM", "osmesa")
    import hmr2.configs

    monkeypatch.setattr(hmr2.configs, "CACHE_DIR_4DHUMANS", str(data))
    estimator = HMR2Estimator(
        Settings(estimator="hmr2", device="cpu", vitdet_weights=str(stand_ins.vitdet_weights))
    )
    with pytest.raises(ModelUnavailable, match="pickles chumpy objects.*smpl_file"):
        estimator.load()


LOAD_IN_CHILD = """
import json, os, sys
for name in filter(None, os.environ.get("BLOCK_MODULES", "").split(",")):
    sys.modules[name] = None  # as if not installed
from pose_service.config import Settings
from pose_service.estimators.base import ModelUnavailable
from pose_service.estimators.hmr2.estimator import HMR2Estimator
try:
    getattr(HMR2Estimator(Settings.from_env(os.environ)), os.environ.get("CALL", "load"))()
    print(json.dumps({"loaded": True}))
except ModelUnavailable as exc:
    print(json.dumps({"model_unavailable": str(exc)}))
"""


def _load_in_child(env: dict[str, str], hide: str = "") -> dict[str, str]:
    """Load the estimator in a child whose mount namespace hides the library ``hide`` (as root:
    a bind mount of /dev/null over it), so the real import chain meets the real failure."""
    import json
    import subprocess
    import sys

    script = f"exec {sys.executable} -c '{LOAD_IN_CHILD}'"
    if hide:
        library = Path("/lib/x86_64-linux-gnu") / hide
        assert library.exists(), library
        script = f"mount --bind /dev/null {library} && {script}"
    done = subprocess.run(
        ["unshare", "--mount", "sh", "-c", script],
        env={**os.environ, **env, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("call", ["load", "verify_install"])
@pytest.mark.parametrize(
    ("platform", "library"), [("osmesa", "libOSMesa.so.8"), ("egl", "libEGL.so.1")]
)
def test_a_missing_gl_library_says_what_to_install(
    service_env: dict[str, str], platform: str, library: str, call: str
) -> None:
    """mmatl's PyOpenGL raises AttributeError('...glGetError') when the library is missing:
    the service must say GL, not 'hmr2 is not installed' or a raw traceback; and the
    provisioning's install check (``verify_install``) must fail the same way, before the unit
    starts."""
    result = _load_in_child({**service_env, "PYOPENGL_PLATFORM": platform, "CALL": call}, library)
    message = result["model_unavailable"]
    assert "OpenGL" in message and f"PYOPENGL_PLATFORM={platform}" in message
    assert "libosmesa6" in message


def test_setuptools_without_pkg_resources_is_named(service_env: dict[str, str]) -> None:
    """setuptools >= 81 has no pkg_resources, which detectron2.model_zoo imports while the
    ViTDet config loads. The child blocks the module (a stand-in for that setuptools: the
    constraints file keeps the real one below 81); the import chain is the real one."""
    result = _load_in_child({**service_env, "BLOCK_MODULES": "pkg_resources"})
    assert "setuptools<81" in result["model_unavailable"]
