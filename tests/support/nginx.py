"""The provisioned nginx proxy, run from the role's own template and defaults in a temporary
folder, so the tests exercise the configuration hosts get, not a copy of it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import jinja2
import requests
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "pose_service_proxy"

# Debian's /etc/nginx/nginx.conf values that matter under load (the role keeps the distribution's
# main configuration and adds its site in conf.d).
MAIN_CONF = """\
daemon off;
master_process on;
worker_processes auto;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{
    worker_connections 768;
}}
http {{
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    access_log off;
    include {site};
}}
"""


def nginx_binary() -> str | None:
    """nginx on PATH, or Debian's /usr/sbin/nginx (not on a plain user's PATH)."""
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


def render_site(listen_port: int, upstream_port: int) -> str:
    """The role's site template with its defaults, as Ansible would render it for a host whose
    public address is 127.0.0.1:``listen_port`` and gunicorn's is ``upstream_port``."""
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    variables = {
        **defaults,
        "ansible_managed": "rendered by tests/support/nginx.py",
        "pose_service_host": "127.0.0.1",
        "pose_service_port": listen_port,
        "pose_service_proxy_upstream_port": upstream_port,
    }
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLE / "templates"),
        undefined=jinja2.StrictUndefined,  # a variable the role gains must be given here too
        trim_blocks=True,  # as Ansible's template module
        keep_trailing_newline=True,
    )
    return environment.get_template("pose-service-nginx.conf.j2").render(variables)


@dataclass
class RunningProxy:
    url: str
    process: subprocess.Popen
    error_log: Path

    def stop(self, timeout_s: float = 10.0) -> None:
        """Fast shutdown (SIGTERM), then SIGKILL of the whole group, workers included."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start_proxy(
    nginx: str, tmp: Path, listen_port: int, upstream_port: int, ready_timeout: float = 30.0
) -> RunningProxy:
    """nginx with the rendered site in ``tmp``, once it answers ``/health`` ready; raises with
    nginx's error log if it does not."""
    tmp.mkdir(parents=True, exist_ok=True)
    site = tmp / "pose-service.conf"
    site.write_text(render_site(listen_port, upstream_port))
    conf = tmp / "nginx.conf"
    conf.write_text(MAIN_CONF.format(tmp=tmp, site=site))
    check = subprocess.run([nginx, "-t", "-q", "-p", str(tmp), "-c", str(conf)],
                           capture_output=True, text=True)  # fmt: skip
    if check.returncode != 0:
        raise RuntimeError(f"nginx -t refused the rendered configuration:\n{check.stderr}")
    process = subprocess.Popen(
        [nginx, "-p", str(tmp), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    proxy = RunningProxy(f"http://127.0.0.1:{listen_port}", process, tmp / "error.log")
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            status = requests.get(proxy.url + "/health", timeout=2).json().get("status")
            if status in {"ready", "healthy"}:
                return proxy
        except (requests.RequestException, ValueError):
            pass
        time.sleep(0.1)
    proxy.stop()
    log = proxy.error_log.read_text(errors="replace") if proxy.error_log.exists() else ""
    raise RuntimeError(f"nginx did not answer /health ready (exit {process.poll()}):\n{log}")
