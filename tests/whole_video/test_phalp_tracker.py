"""PHALP's offline results mapped to the service's frames, ghost frames filled by ours.

``phalp_results`` builds the dict ``PHALP.track()`` (brjathu/PHALP, phalp/trackers/PHALP.py)
dumps with joblib: keyed by frame path, per frame ``time`` and, per confirmed track, ``tid``,
``tracked_time``, ``bbox`` (x, y, w, h), ``conf``, ``smpl`` (rotation matrices), ``camera``
(full-image translation), ``size`` (H, W). ``fake_smpl_joints`` stands for the SMPL layer of the
loaded HMR2 model: a fixed skeleton turned by ``global_orient``.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from pose_service.estimators.hmr2.camera import full_image_focal, project_to_image
from pose_service.tracking.config import TrackerConfig
from pose_service.tracking.offline import fill_video
from pose_service.whole_video import phalp_tracker
from tests.support.motion import REST

W, H = 640, 360
FRAMES = 20
MAIN, OTHER = 3, 7


def fake_smpl_joints(params) -> np.ndarray:
    return (REST @ np.asarray(params["global_orient"]).reshape(3, 3).T).astype(np.float32)


def true_translation(t: int) -> np.ndarray:
    return np.array([-0.8 + 0.08 * t, 0.1, 6.0], dtype=np.float32)  # walking right


def _entry(t: int, since: int, seen: int) -> dict:
    """One track's entries for frame ``t``; ``seen`` is the frame its data comes from (PHALP
    repeats the last seen data while ``tracked_time`` > 0)."""
    translation = true_translation(seen)
    joints = fake_smpl_joints({"global_orient": np.eye(3)})
    keypoints = project_to_image(joints, translation, full_image_focal(W, H), W, H)
    x0, y0 = keypoints.min(0)
    x1, y1 = keypoints.max(0)
    return {
        "tracked_time": since,
        "bbox": np.array([x0, y0, x1 - x0, y1 - y0]),
        "conf": 0.93,
        "smpl": {
            "global_orient": np.eye(3)[None],
            "body_pose": np.tile(np.eye(3), (23, 1, 1)),
            "betas": np.zeros(10, np.float32),
        },  # fmt: skip
        "camera": translation,
        "size": [H, W],
    }


def phalp_results() -> dict:
    """Main track: confirmed from frame 2 (PHALP back-fills its first n_init frames), missed
    (ghost, stale pose) at 8-11; a second person, track 7, in frames 14-16."""
    results = {}
    for t in range(FRAMES):
        tracks: dict[int, dict] = {}
        if t >= 2:
            last_seen = 7 if 8 <= t <= 11 else t
            tracks[MAIN] = _entry(t, t - last_seen, last_seen)
        if 14 <= t <= 16:
            tracks[OTHER] = _entry(t, 0, 0)
        frame = {"time": t, "shot": 0, "frame_path": f"/tmp/_DEMO/clip/img/{t:06d}.jpg"}
        frame["tid"] = list(tracks)
        for key in ("tracked_time", "bbox", "conf", "smpl", "camera", "size"):
            frame[key] = [entry[key] for entry in tracks.values()]
        results[frame["frame_path"]] = frame
    return dict(reversed(list(results.items())))  # dict order is not video order


def test_main_track_and_ghost_frames():
    frames = phalp_tracker.ordered_frames(phalp_results())
    assert [f["time"] for f in frames] == list(range(FRAMES))
    assert phalp_tracker.main_track_id(frames) == MAIN
    observed = phalp_tracker.observations(frames, MAIN, fake_smpl_joints)
    missing = [t for t, pose in enumerate(observed) if pose is None]
    assert missing == [0, 1, 8, 9, 10, 11]  # before confirmation, and PHALP's ghost frames
    pose = observed[5]
    np.testing.assert_allclose(pose.camera_translation, true_translation(5), atol=1e-6)
    x, y, w, h = phalp_results()[f"/tmp/_DEMO/clip/img/{5:06d}.jpg"]["bbox"][0]
    np.testing.assert_allclose(pose.bbox, [x, y, x + w, y + h], atol=1e-4)
    assert pose.rotations.shape == (24, 3, 3) and pose.focal_length == full_image_focal(W, H)
    assert pose.keypoints_2d.shape == (24, 2) and pose.score == pytest.approx(0.93)


def test_our_filler_replaces_phalps_stale_poses():
    results = phalp_results()
    frames = phalp_tracker.ordered_frames(results)
    answers = fill_video(phalp_tracker.observations(frames, MAIN, fake_smpl_joints),
                         TrackerConfig())  # fmt: skip
    assert all(a.pose is not None for a in answers)  # 100% coverage, frames 0-1 back-filled
    for t in range(8, 12):
        stale = frames[t]["camera"][0]  # what PHALP outputs: the pose of frame 7
        ours = answers[t].pose.camera_translation
        truth = true_translation(t)
        assert answers[t].source == "interpolated"
        assert np.linalg.norm(ours - truth) < 0.25 * np.linalg.norm(stale - truth)


def _fake_track_py(root: Path, body: str) -> Path:
    """A 4D-Humans checkout whose track.py stands for the real one: the same Hydra overrides
    in, the same results pickle out (written with joblib, as PHALP does)."""
    root.mkdir()
    (root / "track.py").write_text(textwrap.dedent(body))
    return root


def test_run_phalp_runs_track_py_and_reads_its_pickle(tmp_path, monkeypatch):
    import joblib

    fixture = tmp_path / "expected.pkl"
    joblib.dump(phalp_results(), fixture, compress=3)
    repo = _fake_track_py(
        tmp_path / "4D-Humans",
        f"""
        import shutil, sys
        args = dict(a.split("=", 1) for a in sys.argv[1:])
        assert args["render.enable"] == "False" and args["overwrite"] == "True", args
        name = args["video.source"].rsplit("/", 1)[-1].split(".")[0]
        out = args["video.output_dir"] + "/results"
        import os; os.makedirs(out, exist_ok=True)
        shutil.copy({str(fixture)!r}, out + "/demo_" + name + ".pkl")
        """,
    )
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"stands for a video")
    results = phalp_tracker.run_phalp(video, str(repo), tmp_path / "out", timeout_s=60)
    assert len(results) == FRAMES
    assert phalp_tracker.main_track_id(phalp_tracker.ordered_frames(results)) == MAIN


def test_a_failing_track_py_is_a_clear_error(tmp_path):
    repo = _fake_track_py(
        tmp_path / "4D-Humans",
        """
        import sys
        print("RuntimeError: CUDA error: no kernel image is available", file=sys.stderr)
        sys.exit(1)
        """,
    )
    with pytest.raises(phalp_tracker.PhalpError, match="exited 1.*no kernel image"):
        phalp_tracker.run_phalp(tmp_path / "clip.mp4", str(repo), tmp_path / "out", 60)


def test_why_phalp_cannot_run_here(tmp_path):
    assert "hmr2 estimator" in phalp_tracker.unavailable_reason(str(tmp_path), "lite")
    assert "track.py not found" in phalp_tracker.unavailable_reason(str(tmp_path), "hmr2")
    _fake_track_py(tmp_path / "4D-Humans", "")
    reason = phalp_tracker.unavailable_reason(str(tmp_path / "4D-Humans"), "hmr2")
    assert reason is not None and "'phalp'" in reason  # PHALP itself is not installed in CI
    assert sys.modules.get("phalp") is None
