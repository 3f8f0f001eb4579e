"""``pose-service check``: exit 0 when ready, non-zero otherwise, one line of explanation."""

from __future__ import annotations

import subprocess
import sys

from tests.support.server import free_port


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pose_service.cli", *args],
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_check_reports_ready(replay_service):
    result = run_cli("check", "--url", replay_service.url)
    assert result.returncode == 0
    assert result.stdout.startswith("ready: estimator replay") and result.stdout.count("\n") == 1


def test_check_fails_when_nothing_listens():
    result = run_cli("check", "--url", f"http://127.0.0.1:{free_port()}", "--timeout", "1")
    assert result.returncode == 1 and result.stdout.startswith("unreachable:")


def test_serve_refuses_bad_settings_with_a_message():
    result = run_cli("serve", "--estimator", "lite", "--threads", "1")
    assert result.returncode == 2 and "POSE_SERVICE_THREADS" in result.stderr
