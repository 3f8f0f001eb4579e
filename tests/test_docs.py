"""The README and docs/ hold together: every relative link resolves, and the README's first screen
starts with the two commands and reaches the install path, as a first-time user needs."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FIRST_SCREEN_LINES = 60  # what a first-time user reads before scrolling

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)
HTML_ANCHOR = re.compile(r"""<a\s+(?:id|name)=["']([^"']+)["']""")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # http:, https:, mailto:, ...


def _prose(text: str) -> str:
    """The text links can live in: no fenced blocks, no inline code."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor a link into ``path`` may name (repeated headings get -1, -2, ...)."""
    text = FENCE.sub("", path.read_text())
    found: set[str] = set(HTML_ANCHOR.findall(text))
    seen: dict[str, int] = {}
    for heading in HEADING.findall(text):
        slug = _slug(heading)
        count = seen.get(slug, 0)
        found.add(slug if count == 0 else f"{slug}-{count}")
        seen[slug] = count + 1
    return found


def broken_links(path: Path) -> list[str]:
    """The relative links of ``path`` whose file or anchor does not exist."""
    broken = []
    for target in LINK.findall(_prose(path.read_text())):
        if EXTERNAL.match(target):
            continue
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            where = os.path.relpath(dest, path.parent)
            broken.append(f"{target}: no heading for #{anchor} in {where}")
    return broken


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(doc: Path):
    assert broken_links(doc) == []


def test_a_broken_link_and_a_broken_anchor_are_caught(tmp_path: Path):
    other = "# A `code` heading (with punctuation)\n\n## Twice\n## Twice\n"
    (tmp_path / "other.md").write_text(other)
    doc = tmp_path / "doc.md"
    doc.write_text(
        "[ok](other.md#a-code-heading-with-punctuation) [ok](other.md#twice-1) [web](https://x.y)\n"
        "`[in code](nowhere.md)`\n```\n[in a block](nowhere.md)\n```\n"
        "[gone](missing.md) [bad anchor](other.md#nope) [self](#nope-here)\n"
    )
    assert broken_links(doc) == [
        "missing.md: no such file",
        "other.md#nope: no heading for #nope in other.md",
        "#nope-here: no heading for #nope-here in doc.md",
    ]


def _readme_lines() -> list[str]:
    return (REPO / "README.md").read_text().splitlines()


def test_the_readme_starts_with_the_two_commands():
    """A title, then `make demo` and `make test` as the first lines of the first block."""
    lines = [line for line in _readme_lines() if line.strip()]
    assert lines[0].startswith("# ")
    assert lines[1].startswith("```")
    assert lines[2].split("#")[0].strip() == "make demo"
    assert lines[3].split("#")[0].strip() == "make test"
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)


def test_the_first_screen_reaches_the_install_path_and_the_smpl_licence():
    first_screen = "\n".join(_readme_lines()[:FIRST_SCREEN_LINES])
    assert "## Contents" in first_screen
    assert "## Install on a GPU host (WSL2 + NVIDIA)" in first_screen
    assert "ansible-playbook site.yml" in first_screen
    assert "non-commercial" in first_screen


def test_the_smpl_licence_is_stated_where_the_user_downloads_it():
    text = (REPO / "docs" / "provisioning.md").read_text()
    assert "smplify.is.tue.mpg.de" in text and "non-commercial" in text


REPO_PATH = re.compile(
    r"(?<![\w./-])((?:tests|benchmarks|service/src/pose_service|roles|playbooks|molecule|training)"
    r"/[\w./-]*[\w/])"
)
GENERATED = ("/.cache/",)  # written when a command runs, not part of a clone


def missing_paths(text: str, root: Path) -> list[str]:
    """The repository paths ``text`` names (a test, a benchmark, a module, a role's file) that
    do not exist under ``root``: a moved file leaves the command a reader copies broken."""
    named = {match.split("::")[0] for match in REPO_PATH.findall(text)}
    kept = (p for p in named if not any(g in p for g in GENERATED))
    return sorted(p for p in kept if not (root / p).exists())


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_path_the_docs_name_exists(doc: Path):
    assert missing_paths(doc.read_text(), REPO) == []


def test_a_moved_file_is_caught(tmp_path: Path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_here.py").write_text("")
    text = ("`pytest tests/test_here.py::test_one` and `pytest tests/test_gone.py`, "
            "not training/.cache/bvh/joints.npz, nor my-tests/x.py")  # fmt: skip
    assert missing_paths(text, tmp_path) == ["tests/test_gone.py"]
