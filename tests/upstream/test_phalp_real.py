"""The ``tracker=phalp`` option against the real PHALP and 4D-Humans' real ``track.py``.

PHALP's tracking itself needs CUDA (``.cuda()`` is hard-coded) and its weights: what runs here
is the command line the service builds, handed to the real track.py, whose Hydra composes the
real ``phalp.configs.base.FullConfig`` from it and prints the job config (``--cfg job``)
without running the tracker.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import yaml

from pose_service.whole_video import phalp_tracker


def test_the_real_track_py_accepts_the_services_command_line(
    stand_ins, service_env: dict[str, str], tmp_path: Path
) -> None:
    video = tmp_path / "upload.mp4"
    video.write_bytes(b"")
    command = phalp_tracker.track_command(
        sys.executable, str(stand_ins.fourd_humans), video, tmp_path / "out"
    )
    done = subprocess.run(
        [*command, "--cfg", "job"],
        cwd=stand_ins.fourd_humans,
        env={**os.environ, **service_env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # PHALP's rich logger prints a line or two on stdout before Hydra's YAML.
    job = yaml.safe_load(done.stdout[done.stdout.index("\nseed:") :])
    assert job["video"]["source"] == str(video)
    assert job["video"]["end_frame"] == -1  # every frame, not PHALP's default first 1300
    assert job["video"]["output_dir"] == str(tmp_path / "out")
    assert job["render"]["enable"] is False
    assert job["overwrite"] is True


def test_phalp_is_available_on_this_stack(stand_ins) -> None:
    assert phalp_tracker.unavailable_reason(str(stand_ins.fourd_humans), "hmr2") is None


def _track_key_lists(source: str) -> dict[str, list[str]]:
    """The key lists ``PHALP.track()`` assigns (``eval_keys = [...]``...), with rendering off."""
    import ast

    track = next(
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef) and node.name == "track"
    )
    lists: dict[str, list[str]] = {}
    for node in track.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)):
            continue
        value = node.value
        if isinstance(value, ast.IfExp):  # `[...] if self.cfg.render.enable else []`
            value = value.orelse
        if isinstance(value, ast.List) and all(isinstance(e, ast.Constant) for e in value.elts):
            lists.setdefault(node.targets[0].id, [e.value for e in value.elts])
    return lists


def test_a_results_file_as_the_real_phalp_writes_it_maps_through_the_service(
    stand_ins, service_env: dict[str, str], tmp_path: Path, monkeypatch
) -> None:
    """PHALP's tracking needs CUDA and its weights, so the results file is built here the way
    the real ``phalp/trackers/PHALP.py`` (read at test time) writes it: its per-frame keys
    (``visual_store_`` with rendering off, as the service runs it), its file name, joblib with
    ``compress=3``; the per-person SMPL dict in HMAR's output shapes (``hmar.py``: rotation
    matrices). The joints come from the service's ``smpl_joints`` on 4D-Humans' real SMPL
    module built from the converted stand-in SMPL file."""
    import joblib
    import numpy as np
    import phalp.trackers.PHALP as phalp_module
    import torch

    from pose_service.config import Settings
    from pose_service.estimators.hmr2.estimator import HMR2Estimator
    from pose_service.estimators.hmr2.upstream_loading import smpl_layer_forward

    source = Path(phalp_module.__file__).read_text()
    keys = _track_key_lists(source)
    visual_store = keys["eval_keys"] + keys["extra_keys_1"] + keys["extra_keys_2"]
    read_by_service = {"tid", "tracked_time", "smpl", "size", "camera", "bbox", "conf"}
    assert read_by_service <= set(visual_store), read_by_service - set(visual_store)
    assert (
        "'/results/' + self.cfg.track_dataset + \"_\" + str(self.cfg.video_seq) + '.pkl'" in source
    )
    assert "joblib.dump(final_visuals_dic, pkl_path, compress=3)" in source

    def person(track: int, since_update: int, x: float) -> dict:
        return {
            "tid": track, "tracked_time": since_update, "bbox": np.array([x, 100.0, 200.0, 400.0]),
            "conf": 0.9, "size": [720, 1280], "camera": np.array([0.1, 0.2, 12.0], np.float32),
            "smpl": {"global_orient": np.eye(3, dtype=np.float32)[None],
                     "body_pose": np.tile(np.eye(3, dtype=np.float32), (23, 1, 1)),
                     "betas": np.zeros(10, np.float32)},
        }  # fmt: skip

    people_per_frame = [
        [person(1, 0, 300), person(2, 0, 900)],
        [person(1, 1, 310)],
        [person(1, 0, 320)],
    ]
    results = {}
    for t, people in enumerate(people_per_frame):
        name = f"/out/_DEMO/upload/img/{t + 1:06d}.jpg"
        frame = {"time": t, "shot": 0, "frame_path": name, **{k: [] for k in visual_store}}
        for p in people:
            for key in visual_store:
                frame[key].append(p.get(key))
        results[name] = frame
    video = tmp_path / "upload.mp4"
    path = phalp_tracker.results_path(tmp_path, video)
    path.parent.mkdir(parents=True)
    joblib.dump(results, path, compress=3)

    for key, value in service_env.items():
        monkeypatch.setenv(key, value)
    import hmr2.configs
    from hmr2.models.smpl_wrapper import SMPL

    # The data root as the unit's HOME gives it (hmr2.configs derived it from HOME at import).
    monkeypatch.setattr(hmr2.configs, "CACHE_DIR_4DHUMANS", str(stand_ins.home / ".cache/4DHumans"))

    config = Path(stand_ins.hmr2_checkpoint).parents[1] / "model_config.yaml"
    cfg = hmr2.configs.get_config(str(config), update_cachedir=True)
    smpl = SMPL(**{k.lower(): v for k, v in dict(cfg.SMPL).items()})
    estimator = HMR2Estimator(Settings(estimator="hmr2", device="cpu"))
    estimator._torch, estimator._device = torch, "cpu"
    estimator._model, estimator._smpl_forward = SimpleNamespace(smpl=smpl), smpl_layer_forward(smpl)

    frames = phalp_tracker.ordered_frames(joblib.load(path))
    track_id = phalp_tracker.main_track_id(frames)
    observed = phalp_tracker.observations(frames, track_id, estimator.smpl_joints)
    assert track_id == 1
    assert observed[1] is None  # PHALP only repeated track 1's stale pose there
    first = observed[0]
    assert first.joints_3d.shape == (24, 3) and first.rotations.shape == (24, 3, 3)
    assert first.bbox.tolist() == [300.0, 100.0, 500.0, 500.0]  # PHALP's x, y, w, h to corners
    # The pelvis of the rest pose is the real SMPL layer's J_regressor row 0 times its vertices
    # (not HMR2's OpenPose-ordered keypoints).
    vertices = smpl.v_template + torch.einsum("vcb,b->vc", smpl.shapedirs, torch.zeros(10))
    pelvis = (smpl.J_regressor[0] @ vertices).numpy()
    assert np.allclose(first.joints_3d[0], pelvis, atol=1e-4)
