"""Asking a running service from outside whether it is ready: ``pose-service check`` (which
systemd's health timer runs), and the developer tools that wait for a service they started
(``devtools.local_service``)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def fetch_health(url: str, timeout_s: float = 5.0) -> dict[str, Any]:
    """GET ``{url}/health`` as a dict (raises OSError/ValueError when unreachable or garbled)."""
    with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=timeout_s) as response:
        return json.loads(response.read())


def describe_health(url: str, timeout_s: float = 5.0) -> tuple[bool, str]:
    """(ready?, one line for people) — what ``pose-service check`` prints."""
    try:
        health = fetch_health(url, timeout_s)
    except urllib.error.HTTPError as exc:
        return False, f"not ready: {url}/health answered HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, f"unreachable: {url}/health: {reason}"
    status = health.get("status", "unknown")
    if status in {"ready", "healthy"}:
        queue = health.get("queue", {})
        return True, (
            f"ready: estimator {health.get('estimator', '?')}, "
            f"sessions {health.get('sessions', '?')}, "
            f"queue {queue.get('waiting', '?')}/{queue.get('capacity', '?')}, "
            f"uptime {health.get('uptime_s', '?')} s"
        )
    detail = health.get("error") or "models still loading"
    return False, f"not ready: status {status} ({detail})"


def describe_readiness(url: str, timeout_s: float = 5.0) -> tuple[bool, str]:
    """(ready?, one line for people) from ``/readyz``: what the health timer runs. Unlike
    ``/health`` (the backend's, 200 while warming up), it is 503 until the model is loaded and
    warmed up and while draining, and says why; a frozen or dead process times out or refuses."""
    probe = url.rstrip("/") + "/readyz"
    try:
        with urllib.request.urlopen(probe, timeout=timeout_s) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read())
        except ValueError:
            body = {}
        reason = body.get("reason") or body.get("error") or "no reason given"
        return (
            False,
            f"not ready: {probe} answered HTTP {exc.code} ({body.get('status', '?')}: {reason})",
        )
    except (OSError, ValueError) as exc:
        return False, f"unreachable: {probe}: {getattr(exc, 'reason', exc)}"
    return True, f"ready: {probe} says {body.get('status', 'ready')}"


PROBES = {"health": describe_health, "readyz": describe_readiness}  # `pose-service check --probe`
