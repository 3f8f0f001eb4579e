"""The proxy's allow-list, rendered from the role's own template: this machine always, the listed
clients, everyone else denied (unless "all" is listed)."""

from __future__ import annotations

from pathlib import Path

import jinja2
import yaml

ROLE = Path(__file__).resolve().parents[2] / "roles" / "pose_service_proxy"


def render(**changes: object) -> list[str]:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    variables = {
        **defaults,
        "ansible_managed": "test",
        "pose_service_host": "127.0.0.1",
        "pose_service_port": 5000,
        "pose_service_proxy_upstream_port": 5001,
        **changes,
    }
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLE / "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        keep_trailing_newline=True,
    )
    text = environment.get_template("pose-service-nginx.conf.j2").render(variables)
    return [line.strip() for line in text.splitlines()]


def access_rules(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith(("allow ", "deny "))]


def test_by_default_only_this_machine_may_connect():
    assert access_rules(render()) == ["allow 127.0.0.1;", "allow ::1;", "deny all;"]


def test_listed_clients_are_admitted_and_this_machine_stays():
    lines = render(pose_service_host="0.0.0.0", pose_service_proxy_allow=["172.16.0.0/12"])
    rules = access_rules(lines)
    assert rules == ["allow 127.0.0.1;", "allow ::1;", "allow 172.16.0.0/12;", "deny all;"]


def test_all_admits_everyone():
    rules = access_rules(render(pose_service_proxy_allow=["all"]))
    assert "allow all;" in rules and "deny all;" not in rules


def test_a_refusal_answers_in_the_service_error_shape():
    lines = render()
    assert "error_page 403 @forbidden;" in lines
    refusals = [line for line in lines if line.startswith("return 403 ")]
    assert len(refusals) == 1 and '"code": "forbidden"' in refusals[0]
