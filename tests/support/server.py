"""Running the real service (``pose-service serve``: real gunicorn) on a free loopback port."""

from __future__ import annotations

import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pose_service.devtools.local_service import start_service, stop_service, wait_until_ready


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningService:
    url: str
    process: subprocess.Popen
    log_path: Path
    port: int

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        return stop_service(self.process)


def replay_env(replay_path: Path, state: Path, **extra: str) -> dict[str, str]:
    """The replay service keeping its sessions in ``state`` (``extra``: settings without the
    ``POSE_SERVICE_`` prefix, lower case), so each test names only what it changes."""
    return {
        "POSE_SERVICE_ESTIMATOR": "replay",
        "POSE_SERVICE_REPLAY_PATH": str(replay_path),
        "POSE_SERVICE_STATE_DIR": str(state),
        **{f"POSE_SERVICE_{k.upper()}": v for k, v in extra.items()},
    }


def launch(log_dir: Path, env: dict[str, str], ready_timeout: float = 120.0) -> RunningService:
    port = free_port()
    log_path = log_dir / f"service-{port}.log"
    env = {"POSE_SERVICE_STATE_DIR": str(log_dir / f"state-{port}"), **env}
    process = start_service("127.0.0.1", port, env, str(log_path))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, ready_timeout, process)
    except (TimeoutError, RuntimeError) as exc:
        stop_service(process)
        log = log_path.read_text(errors="replace")
        raise RuntimeError(f"service did not start: {exc}\n{log}") from exc
    return RunningService(url, process, log_path, port)
