"""A local service for the developer tools: start ``pose-service serve`` (real gunicorn) as a
child process, wait until its ``/health`` says ready, stop it gracefully. The demo, the tests'
real services and the benchmarks use it; the service itself never does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from ..health_client import describe_health


def wait_until_ready(url: str, timeout_s: float, process: subprocess.Popen | None = None) -> float:
    """Poll /health until ready; returns the seconds it took (raises TimeoutError/RuntimeError)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the service exited with code {process.returncode} while starting")
        ready, line = describe_health(url, timeout_s=2.0)
        if ready:
            return time.monotonic() - start
        if line.startswith("not ready: status not_ready"):
            raise RuntimeError(line)
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout_s:.0f} s")


def start_service(
    host: str, port: int, env: dict[str, str] | None = None, log_path: str | None = None
) -> subprocess.Popen:
    """Start ``pose-service serve`` (real gunicorn) as a child process."""
    child_env = {**os.environ, **(env or {})}
    output = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, "-m", "pose_service.cli", "serve", "--host", host, "--port", str(port)],
        env=child_env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_service(process: subprocess.Popen, timeout_s: float = 30.0) -> int:
    """SIGTERM (graceful: the in-flight frame finishes), then SIGKILL if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
