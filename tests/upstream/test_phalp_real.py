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

import yaml

from pose_service.tracking import phalp_offline


def test_the_real_track_py_accepts_the_services_command_line(
    stand_ins, service_env: dict[str, str], tmp_path: Path
) -> None:
    video = tmp_path / "upload.mp4"
    video.write_bytes(b"")
    command = phalp_offline.track_command(
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
    assert phalp_offline.unavailable_reason(str(stand_ins.fourd_humans), "hmr2") is None
