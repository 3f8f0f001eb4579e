"""The settings tables of the docs are the declarations' own output, so they cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pose_service.cli import main
from pose_service.config import described
from pose_service.config_docs import env_listing, markdown

REPO = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"<!-- settings table: .*? -->\n\n(.*?\n)\n<!-- end of settings table -->", re.S)
ALL = [variable for variable, _, _ in described()]


def _table(doc: str) -> tuple[str, list[str]]:
    found = BLOCK.search((REPO / doc).read_text())
    assert found, f"{doc} has no settings table between the markers"
    return found.group(1), re.findall(r"^\| `(POSE_SERVICE_\w+)` \|", found.group(1), re.M)


def test_the_configuration_doc_lists_every_setting_as_declared():
    table, names = _table("docs/configuration.md")
    assert names == ALL, "regenerate with: pose-service settings --markdown"
    assert table == markdown()


def test_the_readme_table_says_what_the_declarations_say():
    table, names = _table("README.md")
    assert names, "the README lists the main settings"
    assert table == markdown(names), "regenerate with: pose-service settings --markdown NAME..."


def test_the_cli_lists_every_setting(capsys):
    assert main(["settings"]) == 0
    out = capsys.readouterr().out
    assert out == env_listing()
    assert all(f"\n{variable}=" in f"\n{out}" for variable in ALL)
    assert "POSE_SERVICE_TRACK_GATE=1.0" in out  # the tracker's default, read through the setting


def test_the_cli_refuses_an_unknown_variable(capsys):
    assert main(["settings", "--markdown", "POSE_SERVICE_NOPE"]) == 2
    assert "POSE_SERVICE_NOPE" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["serve", "verify-install"])
def test_the_estimator_choices_are_the_declared_ones(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--estimator", "nope"])
    err = capsys.readouterr().err.replace("'", "")  # Python 3.13's argparse drops the quotes
    assert "(choose from hmr2, lite, replay)" in err
