"""The settings table of the docs and of ``pose-service settings``, written from the declarations.

``docs/configuration.md`` and the README's table are this output (a test compares them), so a
default or a rule changed in ``config.py`` cannot leave the docs behind.
"""

from __future__ import annotations

from collections.abc import Iterable

from .config import described
from .config_spec import Spec

HEADER = "| variable | default | accepted | meaning |\n|---|---|---|---|"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _accepted(spec: Spec) -> str:
    return spec.check.says.removeprefix("must be ") if spec.check else ""


def rows(names: Iterable[str] | None = None) -> list[str]:
    """One Markdown row per setting (all of them, or the variables named, in that order)."""
    table = {
        variable: (
            f"| `{variable}` | {f'`{default}`' if default else 'empty'} | "
            f"{_cell(_accepted(spec))} | {_cell(spec.doc)} |"
        )
        for variable, default, spec in described()
    }
    wanted = list(table) if names is None else list(names)
    unknown = [name for name in wanted if name not in table]
    if unknown:
        raise KeyError(f"not a setting: {', '.join(unknown)}")
    return [table[name] for name in wanted]


def markdown(names: Iterable[str] | None = None) -> str:
    """The table with its header."""
    return "\n".join([HEADER, *rows(names)]) + "\n"


def env_listing() -> str:
    """Every variable with its default and why, as comments of an env file would say it."""
    lines = []
    for variable, default, spec in described():
        rule = f" ({_accepted(spec)})" if spec.check else ""
        lines.append(f"# {spec.doc}{rule}\n{variable}={default}")
    return "\n".join(lines) + "\n"
