"""The real PHALP offline tracker (4D-Humans' ``track.py``) as an option for whole videos.

On the GPU host, with 4D-Humans and PHALP installed by the Ansible roles, a ``POST /pose/video``
upload may ask for ``tracker=phalp``. The job then runs 4D-Humans' ``track.py`` (PHALP with HMR2
as its pose model) on the video in a child process, so it has its own CUDA context and models and
the service's own model keeps serving streaming clients, and reads the results pickle that
``PHALP.track()`` writes with joblib: per frame (``time`` = index), lists over the confirmed
tracks of ``tid``, ``tracked_time`` (frames since the track's last detection), ``bbox``
(x, y, w, h), ``conf``, ``smpl`` (``global_orient`` (1,3,3), ``body_pose`` (23,3,3), ``betas``
(10,)), ``camera`` (the full-image translation for focal 5000/256 x max(W, H)) and ``size``
(H, W).

PHALP's output for a frame where its detector missed the person is the track's *stale last
seen* pose (``tracked_time > 0``), and it emits nothing before a track is confirmed. Those
frames become misses here, and the service's whole-video filler (``offline.fill_video``) fills
them: interpolated between detections, smoothed, back- and forward-filled at the ends.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..estimators.hmr2.camera import full_image_focal, joint_confidence, project_to_image
from ..types import PersonPose

TRACK_DATASET = "demo"  # PHALP's FullConfig.track_dataset default: the results file's prefix
HMR2_FOCAL_LENGTH = 5000.0  # EXTRA.FOCAL_LENGTH of HMR2 and PHALP
HMR2_IMAGE_SIZE = 256.0

SmplJoints = Callable[[Mapping[str, np.ndarray]], np.ndarray]  # SMPL params -> (24, 3) joints


class PhalpError(RuntimeError):
    """PHALP could not run or its output could not be read (the job fails with this)."""


def unavailable_reason(fourd_humans_dir: str, estimator: str) -> str | None:
    """Why the PHALP option cannot run on this host, or None when it can."""
    if estimator != "hmr2":
        return "tracker=phalp needs the hmr2 estimator (POSE_SERVICE_ESTIMATOR=hmr2)"
    script = Path(fourd_humans_dir or ".") / "track.py"
    if not fourd_humans_dir or not script.is_file():
        return f"4D-Humans' track.py not found (POSE_SERVICE_FOURD_HUMANS_DIR={fourd_humans_dir!r})"
    import importlib.util

    for module in ("phalp", "joblib"):
        if importlib.util.find_spec(module) is None:
            return f"the Python package {module!r} is not installed (Ansible role installs it)"
    return None


def track_command(python: str, fourd_humans_dir: str, video: Path, output_dir: Path) -> list[str]:
    """4D-Humans' track.py with Hydra overrides: this video, every frame of it (PHALP's default
    ``video.end_frame`` is 1300: a longer upload would be cut short), this output folder, no
    rendering."""
    return [
        python,
        str(Path(fourd_humans_dir) / "track.py"),
        f"video.source={video}",
        "video.end_frame=-1",
        f"video.output_dir={output_dir}",
        "render.enable=False",
        "overwrite=True",
    ]


def results_path(output_dir: Path, video: Path) -> Path:
    """Where ``PHALP.track()`` writes its pickle: ``results/<track_dataset>_<video name>.pkl``."""
    return output_dir / "results" / f"{TRACK_DATASET}_{video.name.split('.')[0]}.pkl"


def run_phalp(
    video: Path, fourd_humans_dir: str, output_dir: Path, timeout_s: float
) -> dict[str, Any]:
    """Run track.py on ``video`` (child process, working directory the 4D-Humans clone) and
    load its results."""
    import joblib

    command = track_command(sys.executable, fourd_humans_dir, video, output_dir)
    try:
        done = subprocess.run(
            command,
            cwd=fourd_humans_dir,
            env={**os.environ, "PYOPENGL_PLATFORM": os.environ.get("PYOPENGL_PLATFORM", "egl")},
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise PhalpError(f"track.py took longer than {timeout_s:.0f} s") from exc
    path = results_path(output_dir, video)
    if done.returncode != 0 or not path.is_file():
        tail = (done.stderr or done.stdout or "").strip().splitlines()[-5:]
        raise PhalpError(f"track.py exited {done.returncode}, no {path.name}: {' | '.join(tail)}")
    results = joblib.load(path)
    if not isinstance(results, dict):
        raise PhalpError(f"{path.name} holds a {type(results).__name__}, not PHALP's frame dict")
    return results


def ordered_frames(results: Mapping[str, Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """PHALP's per-frame records in video order (by their ``time`` index)."""
    return sorted(results.values(), key=lambda frame: int(frame["time"]))


def main_track_id(frames: list[Mapping[str, Any]]) -> int | None:
    """The track detected in the most frames (the video's main subject), None if no track."""
    counts: Counter[int] = Counter()
    for frame in frames:
        for tid, since in zip(frame.get("tid", []), frame.get("tracked_time", []), strict=False):
            if since == 0:
                counts[int(tid)] += 1
    return counts.most_common(1)[0][0] if counts else None


def observations(
    frames: list[Mapping[str, Any]], track_id: int | None, smpl_joints: SmplJoints
) -> list[PersonPose | None]:
    """The main track's detected pose per frame; None where PHALP only repeated a stale pose
    (``tracked_time > 0``) or had no confirmed track."""
    out: list[PersonPose | None] = []
    for frame in frames:
        tids = [int(t) for t in frame.get("tid", [])]
        if track_id is None or track_id not in tids:
            out.append(None)
            continue
        i = tids.index(track_id)
        if frame["tracked_time"][i] != 0:
            out.append(None)
            continue
        out.append(_person(frame, i, smpl_joints))
    return out


def _person(frame: Mapping[str, Any], i: int, smpl_joints: SmplJoints) -> PersonPose:
    smpl = frame["smpl"][i]
    height, width = (int(v) for v in frame["size"][i])
    focal = full_image_focal(width, height, HMR2_FOCAL_LENGTH, HMR2_IMAGE_SIZE)
    translation = np.asarray(frame["camera"][i], dtype=np.float32).reshape(3)
    joints = np.asarray(smpl_joints(smpl), dtype=np.float32).reshape(24, 3)
    keypoints = project_to_image(joints, translation, focal, width, height)
    x, y, w, h = (float(v) for v in frame["bbox"][i])
    score = float(frame["conf"][i])
    rotations = np.concatenate(
        [np.asarray(smpl["global_orient"]).reshape(1, 3, 3), np.asarray(smpl["body_pose"])]
    )
    return PersonPose(
        joints_3d=joints,
        keypoints_2d=keypoints,
        joint_confidence=joint_confidence(score, keypoints, width, height),
        score=score,
        bbox=np.array([x, y, x + w, y + h], dtype=np.float32),
        camera_translation=translation,
        focal_length=focal,
        rotations=rotations.astype(np.float32).reshape(24, 3, 3),
        betas=np.asarray(smpl["betas"], dtype=np.float32).reshape(-1),
    )
