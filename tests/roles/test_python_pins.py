"""The Python role's numpy and MediaPipe pins agree with each other and with the service's own
requirements (``service/pyproject.toml``).

numpy is pinned once, by Python version (``tasks/interpreter.yml`` picks one of
``pose_service_python_numpy_pins``), so a second numpy line in the generic constraints would
fight that pin on one of the two Pythons; and the Python version above which the role refuses
the lite estimator must be the one where the service's ``lite`` extra stops installing MediaPipe.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: tomli where installed, else these checks are skipped
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[2]
ROLE_DEFAULTS = ROOT / "roles" / "pose_service_python" / "defaults" / "main.yml"
DEFAULTS = yaml.safe_load(ROLE_DEFAULTS.read_text())
PROJECT = tomllib.loads((ROOT / "service" / "pyproject.toml").read_text())["project"]


def _requirement(lines: list[str], name: str) -> Requirement:
    (found,) = [r for r in map(Requirement, lines) if r.name == name]
    return found


def test_numpy_is_pinned_only_by_python_version() -> None:
    names = [Requirement(line).name for line in DEFAULTS["pose_service_python_constraints"]]
    assert "numpy" not in names
    assert set(DEFAULTS["pose_service_python_numpy_pins"]) == {"mediapipe", "newer"}


def test_each_numpy_pin_with_the_service_range_admits_a_version_measured_here() -> None:
    # pip installs what both the constraint and the service's own requirement allow
    service = _requirement(PROJECT["dependencies"], "numpy").specifier
    measured = {"mediapipe": "1.26.4", "newer": "2.2.6"}  # make test-upstream, make test-gpu-host
    for name, pin in DEFAULTS["pose_service_python_numpy_pins"].items():
        assert Requirement(pin).specifier.contains(measured[name]), pin
        assert service.contains(measured[name]), pin


def test_numpy_1_where_mediapipe_installs_numpy_2_above() -> None:
    pins = DEFAULTS["pose_service_python_numpy_pins"]
    assert not Requirement(pins["mediapipe"]).specifier.contains("2.0.0")
    assert Requirement(pins["newer"]).specifier.contains("2.0.0")


def test_the_role_refuses_lite_exactly_where_the_lite_extra_has_no_mediapipe() -> None:
    mediapipe = _requirement(PROJECT["optional-dependencies"]["lite"], "mediapipe")
    newest = Version(DEFAULTS["pose_service_python_mediapipe_max_python"])
    next_minor = f"{newest.major}.{newest.minor + 1}"
    assert mediapipe.marker is not None
    assert mediapipe.marker.evaluate({"python_version": str(newest)})
    assert not mediapipe.marker.evaluate({"python_version": next_minor})
    assert Version(DEFAULTS["pose_service_python_max_python"]) >= Version(next_minor)
