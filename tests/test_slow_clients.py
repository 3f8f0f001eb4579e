"""Slow and stalled clients cannot starve the service behind the provisioned nginx proxy.

gunicorn alone gives each connection one of its threads until the request is whole, so 20
clients dripping headers leave ``/health`` unanswered (``benchmarks.slow_clients``). The role
``pose_service_proxy`` puts nginx in front to hold those connections instead; here its real
template and defaults run against the real service, attacked as molecule's verify does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.slow_clients import attack
from tests.support.nginx import RunningProxy, nginx_binary, start_proxy
from tests.support.server import free_port, launch, replay_env

pytestmark = pytest.mark.slow

CLIENTS = 50
SECONDS = 10.0
DRIP_S = 2.0


@pytest.fixture(scope="module")
def proxy(replay_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProxy]:
    """nginx (the role's site) on a free port in front of a replay service; both stopped
    whatever the tests do."""
    nginx = nginx_binary()
    if nginx is None:
        reason = "nginx is not installed (apt-get install nginx-light); .ci/run installs it"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI must run the slow-client tests", pytrace=False)
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("proxy")
    service = launch(tmp, replay_env(replay_path, tmp / "state"))
    try:
        running = start_proxy(nginx, tmp / "nginx", free_port(), service.port)
        try:
            yield running
        finally:
            running.stop()
    finally:
        service.stop()


@pytest.mark.parametrize("kind", ["headers", "body"])
def test_slow_clients_through_the_proxy_leave_health_and_frames_answered(
    proxy: RunningProxy, kind: str
) -> None:
    result = attack(proxy.url, kind, clients=CLIENTS, seconds=SECONDS, drip_s=DRIP_S)
    summary = f"{kind} attack, {CLIENTS} clients: {result}"
    assert result["health_unanswered"] == 0, summary
    assert result["health_ms"]["p95"] < 100, summary
    assert result["frame_unanswered"] == 0, summary  # no answer and 5xx both count
    assert result["frame_ok"] >= 3, summary
    assert proxy.process.poll() is None, proxy.error_log.read_text(errors="replace")
