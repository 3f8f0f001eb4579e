"""The server role's env file holds what the role owns and what the user set, nothing restated.

Rendered with plain Jinja2 (the template uses only its built-in filters and tests, and Ansible's
``trim_blocks``), then read back by ``Settings.from_env`` as the unit would.
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest
import yaml

from pose_service.config import Settings, declarations
from pose_service.config_spec import ENV_PREFIX

ROLE = Path(__file__).resolve().parents[2] / "roles" / "pose_service_server"
ROLE_VARS = {
    "ansible_managed": "Ansible managed",
    "pose_service_estimator": "hmr2",
    "pose_service_app_host": "127.0.0.1",
    "pose_service_app_port": 5001,
    "pose_service_device": "cuda",
    "pose_service_state_dir": "/srv/pose/state",
    "pose_service_fourd_humans_dir": "/srv/pose/4D-Humans",
    "pose_service_server_hmr2_checkpoint": "/srv/pose/models/hmr2.ckpt",
    "pose_service_server_vitdet_weights": "/srv/pose/models/vitdet.pkl",
    "pose_service_server_graceful_timeout_s": 30,
    "pose_service_server_auth_token": "",
    "pose_service_server_settings": {},
    "pose_service_server_extra_env": {},
}
SETTING_NAMES = {f.name for f, _ in declarations()}


def render(**changes: object) -> dict[str, str]:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLE / "templates"),
        trim_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    text = env.get_template("pose-service.env.j2").render({**ROLE_VARS, **changes})
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert all("=" in line for line in lines), text
    return dict(line.split("=", 1) for line in lines)


def _yaml(path: str) -> dict:
    return yaml.safe_load((ROLE / path).read_text())


def test_by_default_only_what_the_role_owns_is_written():
    written = render()
    owned = {
        ENV_PREFIX + name.upper()
        for name in _yaml("vars/main.yml")["pose_service_server_owned_settings"]
    }
    assert set(written) == owned - {"POSE_SERVICE_AUTH_TOKEN"}  # an empty token is not written
    assert written["POSE_SERVICE_PORT"] == "5001"


def test_what_the_user_sets_is_passed_through_as_settings_read():
    written = render(
        pose_service_server_settings={
            "threads": 16,
            "hmr2_fp16": True,
            "track_smoothing": "one_euro",
        },
        pose_service_server_auth_token="s3cret",
        pose_service_server_extra_env={"CUDA_VISIBLE_DEVICES": "0"},
    )
    assert written["POSE_SERVICE_THREADS"] == "16"
    assert written["POSE_SERVICE_HMR2_FP16"] == "true"
    assert written["CUDA_VISIBLE_DEVICES"] == "0"
    settings = Settings.from_env(written)
    assert (settings.threads, settings.hmr2_fp16, settings.track_smoothing) == (
        16,
        True,
        "one_euro",
    )
    assert settings.auth_token == "s3cret" and settings.port == 5001
    assert settings.queue_size == Settings().queue_size  # not set: the service's default


def test_lite_names_no_4d_humans_path():
    """Lite is provisioned without the 4D-Humans clone and its models: no path points at them."""
    written = render(pose_service_estimator="lite", pose_service_device="cpu")
    hmr2_paths = {
        "POSE_SERVICE_FOURD_HUMANS_DIR",
        "POSE_SERVICE_HMR2_CHECKPOINT",
        "POSE_SERVICE_VITDET_WEIGHTS",
    }
    assert not hmr2_paths & set(written)
    assert hmr2_paths <= set(render())
    settings = Settings.from_env(written)
    assert (settings.estimator, settings.fourd_humans_dir) == ("lite", "")


def test_every_variable_the_role_writes_is_a_declared_setting():
    names = {k.removeprefix(ENV_PREFIX).lower() for k in render(pose_service_server_auth_token="t")}
    assert names <= SETTING_NAMES
    assert set(_yaml("vars/main.yml")["pose_service_server_owned_settings"]) <= SETTING_NAMES


def test_the_role_restates_no_service_default():
    """Only the settings the role owns may have a role variable; the rest go through the dict."""
    defaults = _yaml("defaults/main.yml")
    owned = set(_yaml("vars/main.yml")["pose_service_server_owned_settings"])
    restated = {
        name
        for key in defaults
        if (name := key.removeprefix("pose_service_server_")) in SETTING_NAMES and name not in owned
    }
    assert not restated, f"set these through pose_service_server_settings: {sorted(restated)}"
    assert defaults["pose_service_server_settings"] == {}


def test_the_retired_variables_are_the_ones_the_settings_dict_replaced():
    pattern = re.compile(_yaml("vars/main.yml")["pose_service_server_retired_pattern"])
    for name in ("threads", "queue_size", "track_max_gap_frames", "hmr2_fp16"):
        assert pattern.match(f"pose_service_server_{name}")
    assert not pattern.match("pose_service_server_settings")
    assert not pattern.match("pose_service_server_graceful_timeout_s")


@pytest.mark.parametrize("doc", ["README.md", "meta/argument_specs.yml", "defaults/main.yml"])
def test_the_role_documents_the_settings_dict(doc):
    assert "pose_service_server_settings" in (ROLE / doc).read_text()
