"""The `pose-service` command line: `check` (exit 0 when ready), `serve`, `verify-install`."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading

import pytest

from tests.support.server import free_port

pytestmark = pytest.mark.service  # real programs (gunicorn, nginx, MediaPipe): the service tier


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pose_service.cli", *args],
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_check_reports_ready(replay_service):
    result = run_cli("check", "--url", replay_service.url)
    assert result.returncode == 0
    assert result.stdout.startswith("ready: estimator replay") and result.stdout.count("\n") == 1


def test_check_probes_readyz(replay_service):
    result = run_cli("check", "--url", replay_service.url, "--probe", "readyz")
    assert result.returncode == 0
    assert result.stdout == f"ready: {replay_service.url}/readyz says ready\n"


def test_check_readyz_names_the_reason_when_not_ready():
    """A 503 from /readyz (loading, warming up, draining) fails the probe with its reason."""
    body = json.dumps({"ready": False, "status": "draining", "reason": "shutting down"}).encode()

    class NotReady(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotReady)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = run_cli("check", "--url", url, "--probe", "readyz")
    finally:
        server.shutdown()
    assert result.returncode == 1
    assert result.stdout == (
        f"not ready: {url}/readyz answered HTTP 503 (draining: shutting down)\n"
    )


def test_version_is_the_installed_package_version():
    from importlib.metadata import version

    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout == f"pose-service {version('pose-service')}\n"


def test_check_fails_when_nothing_listens():
    result = run_cli("check", "--url", f"http://127.0.0.1:{free_port()}", "--timeout", "1")
    assert result.returncode == 1 and result.stdout.startswith("unreachable:")


def test_serve_refuses_bad_settings_with_a_message():
    result = run_cli("serve", "--estimator", "lite", "--threads", "1")
    assert result.returncode == 2 and "POSE_SERVICE_THREADS" in result.stderr


def test_verify_install_names_what_is_missing(tmp_path):
    """The provisioning runs this before starting the unit: one JSON line, exit 1, the fix named."""
    env_path = tmp_path / "missing.npz"
    result = subprocess.run(
        [sys.executable, "-m", "pose_service.cli", "verify-install", "--estimator", "replay"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "POSE_SERVICE_REPLAY_PATH": str(env_path)},
    )  # fmt: skip
    assert result.returncode == 1
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["ok"] is False and answer["estimator"] == "replay"
    assert "POSE_SERVICE_REPLAY_PATH" in answer["error"] and str(env_path) in answer["error"]


def test_verify_install_of_the_lite_estimator_passes():
    result = run_cli("verify-install", "--estimator", "lite")
    assert result.returncode == 0, result.stdout + result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["ok"] is True and answer["checked"]["mediapipe"].startswith("0.10")


def test_serve_refuses_a_bind_from_gunicorn_cmd_args_that_skips_the_token_rule(replay_path):
    """gunicorn also reads --bind from GUNICORN_CMD_ARGS, which the settings never saw."""
    env = {**os.environ, "POSE_SERVICE_ESTIMATOR": "replay",
           "POSE_SERVICE_REPLAY_PATH": str(replay_path),
           "GUNICORN_CMD_ARGS": f"--bind 0.0.0.0:{free_port()}"}  # fmt: skip
    result = subprocess.run([sys.executable, "-m", "pose_service.cli", "serve"], env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode != 0
    assert "refusing to bind 0.0.0.0" in result.stderr and "AUTH_TOKEN" in result.stderr


def test_the_service_never_imports_the_developer_tools():
    """``devtools`` (demo, eval, the local service) stays apart: the app, the server, the
    pipeline and the CLI's service commands run without importing it."""
    code = (
        "import sys; import pose_service.cli as cli, pose_service.api, pose_service.pipeline, "
        "pose_service.server.gunicorn_worker, pose_service.server.http_connections, "
        "pose_service.whole_video.videos; "
        "[cli.build_parser().parse_args(a) for a in (['serve'], ['check'], ['settings'])]; "
        "bad = [m for m in sys.modules if m.startswith('pose_service.devtools')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_each_serve_flag_names_its_variable_and_default(capsys):
    """Issue 26: the help showed raw docstring markup and flags without help; now each setting
    flag's help comes from its declaration (the same words as `pose-service settings`)."""
    from pose_service.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for flag, variable in (("--estimator", "ESTIMATOR"), ("--host", "HOST"), ("--port", "PORT"),
                           ("--threads", "THREADS")):  # fmt: skip
        assert flag in text and f"env POSE_SERVICE_{variable}; default" in text
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    assert "``" not in capsys.readouterr().out
