"""gunicorn configuration of the service (``gunicorn -c python:pose_service.server.gunicorn_conf``).

One worker process holds the one model instance; threads serve concurrent requests (the
backend's streams, direct calls and health probes) while the FIFO gate serialises inference.
Values come from the same ``POSE_SERVICE_*`` settings as everything else.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from pose_service.config import Settings
from pose_service.observability import (
    capture_prints_as_json,
    capture_stderr_as_json,
    configure_logging,
    get_logger,
)
from pose_service.server.gunicorn_worker import served_pipeline

_settings = Settings.from_env()
configure_logging(_settings.log_level, _settings.log_format)

wsgi_app = "pose_service.server.wsgi:app"
bind = [f"{_settings.host}:{_settings.port}"]
workers = 1  # one model instance per process; never more on one GPU (so metrics.py needs no
# prometheus_client multiprocess mode: every figure lives in this one worker)
worker_class = "pose_service.server.gunicorn_worker.JsonErrorThreadWorker"  # gthread, JSON refusals
threads = _settings.threads  # >= backend concurrency (4) + direct calls; /health has its own
timeout = int(_settings.worker_timeout_s)  # heartbeat from the main thread, not per request
graceful_timeout = int(_settings.graceful_timeout_s)
keepalive = _settings.keepalive_s  # > Node's 5 s idle-socket reuse: the client closes first
control_socket_disable = True  # gunicorn >= 27 would write $HOME/.gunicorn (no home here)
accesslog = None  # the app logs one structured event per frame instead
errorlog = "-"
loglevel = _settings.log_level


class JsonLogger(Logger):
    """gunicorn's logger, with its own lines ("Starting gunicorn", "Booting worker", errors)
    sent through the service's JSON handler instead of gunicorn's plain-text one."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            log.handlers[:] = []
            log.propagate = True


logger_class = JsonLogger
proc_name = "pose-service"
limit_request_line = 8190


def on_starting(server: Any) -> None:
    """Refuse an address that bypasses POSE_SERVICE_HOST's loopback/token rule: gunicorn also
    takes ``--bind`` from GUNICORN_CMD_ARGS, which the settings never see."""
    for address in server.cfg.bind:
        host = bound_host(address)
        if host is not None and host != _settings.host:
            try:
                _settings.replace(host=host)
            except ValueError as exc:
                raise RuntimeError(
                    f"refusing to bind {address} (from GUNICORN_CMD_ARGS?): {exc}"
                ) from exc
    get_logger("pose_service.gunicorn").info(
        "service_starting", bind=server.cfg.bind, threads=threads, estimator=_settings.estimator
    )


def bound_host(address: str) -> str | None:
    """The host of a gunicorn bind address (``HOST:PORT``, ``[V6]:PORT``); None for unix: and
    fd:// sockets, which no other machine reaches."""
    if address.startswith(("unix:", "fd://")):
        return None
    if address.startswith("["):
        return address[1 : address.index("]")]
    return address.split(":")[0] if address.count(":") == 1 else address


def post_fork(server: Any, worker: Any) -> None:
    """In the worker: native libraries' stderr lines and libraries' prints become JSON events."""
    if _settings.log_format == "json":
        capture_stderr_as_json()
        capture_prints_as_json()


def worker_int(worker: Any) -> None:
    get_logger("pose_service.gunicorn").warning("worker_interrupted", pid=worker.pid)


def worker_exit(server: Any, worker: Any) -> None:
    """Graceful stop: gunicorn has let the in-flight requests finish; save the sessions."""
    get_logger("pose_service.gunicorn").info("worker_exit", pid=worker.pid)
    pipeline = served_pipeline(getattr(worker, "wsgi", None))
    if pipeline is not None:
        pipeline.shutdown()
