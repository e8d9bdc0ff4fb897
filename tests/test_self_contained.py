"""The repository stands on its own: no tracked file points to a path outside it.

Someone who clones the project must be able to read everything the code and the docs cite. So no tracked file
may name the research notes that lived beside the repository (a ``shared`` folder one level up), an absolute
path of a particular machine, or a relative Markdown link that climbs out of the repository; and every relative
Markdown link must name a file or folder that exists.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Built from pieces so that this file does not match its own patterns.
_SHARED = "sha" + "red"
FORBIDDEN = [
    (re.compile(r"\.\./+" + _SHARED + r"\b"), "a path to the shared folder beside the repository"),
    (
        re.compile(r"(?<![\w-])" + _SHARED + r"/(DESIGN\.md|feishu-api\.md|seeds\b|hooks\b)"),
        "a file of the shared folder beside the repository",
    ),
    (re.compile(r"(?<![\w.~-])/(" + "work" + r"|root|home)/\w"), "an absolute path of one machine"),
]
MARKDOWN_LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)>\s]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def _tracked_files() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, timeout=60
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError) as exc:  # not a git checkout (e.g. an sdist)
        pytest.skip(f"git ls-files unavailable: {exc}")
    return [REPO / name for name in out.split("\0") if name]


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
        return None


def test_the_listing_is_not_empty() -> None:
    names = {p.relative_to(REPO).as_posix() for p in _tracked_files()}
    assert {"README.md", "pyproject.toml", "docs/api-facts.md", "tests/test_self_contained.py"} <= names


def test_no_tracked_file_names_a_path_outside_the_repository() -> None:
    problems = []
    for path in _tracked_files():
        text = _text(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for pattern, what in FORBIDDEN:
                if match := pattern.search(line):
                    problems.append(f"{path.relative_to(REPO)}:{number}: {what}: {match.group(0)!r}")
    assert problems == []


def _relative_links(text: str) -> list[str]:
    links = []
    for target in MARKDOWN_LINK.findall(text):
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith(("#", "//")):
            continue  # a URL (https:, mailto:) or an anchor in the same page
        links.append(target.split("#", 1)[0])
    return [link for link in links if link]


def test_markdown_links_stay_inside_the_repository_and_exist() -> None:
    problems = []
    markdown = [p for p in _tracked_files() if p.suffix == ".md"]
    assert markdown
    for path in markdown:
        text = _text(path)
        if text is None:
            continue
        for link in _relative_links(text):
            target = (path.parent / link).resolve()
            where = f"{path.relative_to(REPO)}: ({link})"
            if not target.is_relative_to(REPO):
                problems.append(f"{where} leaves the repository")
            elif not target.exists():
                problems.append(f"{where} does not exist")
    assert problems == []


@pytest.mark.parametrize(
    ("line", "found"),
    [
        ("see ../" + _SHARED + "/DESIGN.md", True),
        ("facts: " + _SHARED + "/feishu-api.md §6", True),
        ("copied from " + _SHARED + "/seeds/revoke-offboarding.md", True),
        ("cd /" + "work/wt/x", True),
        ("shared by the sync and async clients", False),
        ("https://example.com/" + "work/x and /tmp/x", False),
    ],
)
def test_the_patterns_find_what_they_should(line: str, found: bool) -> None:
    assert any(pattern.search(line) for pattern, _ in FORBIDDEN) is found


def test_the_link_check_sees_links_that_leave() -> None:
    assert _relative_links("[a](../outside.md) [b](https://x.y/z) [c](#here) [d](docs/design.md#layers)") == [
        "../outside.md",
        "docs/design.md",
    ]
