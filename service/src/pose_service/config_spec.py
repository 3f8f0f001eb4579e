"""What one setting is: its default, check and doc, declared together as one dataclass field.

:class:`~pose_service.config.Settings` declares each knob once with :func:`setting` (or
:func:`feeds` for a knob another object owns the default of); parsing, validation, ``as_env``,
``pose-service settings`` and the docs all read these declarations instead of restating them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

ENV_PREFIX = "POSE_SERVICE_"
SPEC_KEY = "pose_service.setting"  # where a declaration sits in the field's metadata


@dataclass(frozen=True)
class Check:
    """A rule a setting's value must follow, and the words that complete "POSE_SERVICE_X ..."."""

    holds: Callable[[Any], bool]
    says: str  # what the docs show: "must be >= 1"
    why: str = ""  # what an error adds after it
    options: tuple[Any, ...] = ()  # the allowed values, when the rule is a list of them


def at_least(low: float, why: str = "") -> Check:
    return Check(lambda v: v >= low, f"must be >= {low:g}", why)


def above(low: float) -> Check:
    return Check(lambda v: v > low, f"must be > {low:g}")


def within(low: float, high: float) -> Check:
    return Check(lambda v: low <= v <= high, f"must be within [{low:g}, {high:g}]")


def one_of(options: Sequence[Any]) -> Check:
    words = ", ".join(str(o) for o in options)
    return Check(lambda v: v in options, f"must be one of {words}", options=tuple(options))


NO_WHITESPACE = Check(
    lambda v: not any(char.isspace() for char in v),
    "must not contain whitespace",
    "(HTTP strips it around the header's value: a blank token would match no header, "
    "a padded one none at all)",
)


@dataclass(frozen=True)
class Spec:
    """One setting's declaration beside its default (the field's name and type are the rest)."""

    doc: str
    check: Check | None = None
    parse: Callable[[str], Any] | None = None  # None: by the field's type
    feeds: tuple[type, str] | None = None  # (TrackerConfig, "gate"): the field this setting fills
    shown_default: str | None = None  # for a default that depends on the machine (a home path)
    secret: bool = False  # never echo the value in an error


def setting(default: Any = dataclasses.MISSING, doc: str = "", **spec: Any) -> Any:
    """A Settings field: its default and its :class:`Spec` (``default_factory=`` works too)."""
    factory = spec.pop("default_factory", dataclasses.MISSING)
    return dataclasses.field(
        default=default, default_factory=factory, metadata={SPEC_KEY: Spec(doc, **spec)}
    )


def feeds(owner: type, name: str, doc: str, **spec: Any) -> Any:
    """A setting that fills ``owner.name``: its default is the one written in ``owner``."""
    defaults = {f.name: f.default for f in dataclasses.fields(owner)}
    if name not in defaults or defaults[name] is dataclasses.MISSING:
        raise TypeError(f"{owner.__name__} has no field {name!r} with a default to feed")
    return setting(defaults[name], doc, feeds=(owner, name), **spec)


def spec_of(f: dataclasses.Field[Any]) -> Spec:
    return f.metadata[SPEC_KEY]


def env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def parse_bool(raw: str) -> bool:
    word = raw.strip().lower()
    if word in {"1", "true", "yes", "on"}:
        return True
    if word in {"0", "false", "no", "off"}:
        return False
    raise ValueError("not true or false (1/0, yes/no, on/off)")


def parse_float(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


PARSERS: dict[type, Callable[[str], Any]] = {
    bool: parse_bool,
    int: int,
    float: parse_float,
    str: str,
}


def parse(name: str, raw: str, kind: type, spec: Spec) -> Any:
    """The typed value of ``POSE_SERVICE_<NAME>=raw``, or a ValueError naming the variable."""
    try:
        return (spec.parse or PARSERS[kind])(raw)
    except ValueError as exc:
        shown = "(hidden)" if spec.secret else repr(raw)
        raise ValueError(f"{env_name(name)}={shown} is not a valid {kind.__name__}: {exc}") from exc


def refusal(name: str, value: Any, kind: type, spec: Spec) -> str | None:
    """Why ``value`` cannot be this setting (its type, then its check), or None when it can."""
    fits = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        fits = True
    if not fits:
        return f"{env_name(name)} must be a {kind.__name__}, not {type(value).__name__}"
    if spec.check is None or spec.check.holds(value):
        return None
    why = f" {spec.check.why}" if spec.check.why else ""
    shown = "" if spec.secret else f", not {value!r}"
    return f"{env_name(name)} {spec.check.says}{why}{shown}"


def as_text(value: Any) -> str:
    """A value as an env file writes it (booleans lower case, as ``parse_bool`` reads them)."""
    return str(value).lower() if isinstance(value, bool) else str(value)
