"""Release metadata facts, read from pyproject.toml and the files it names, without building anything.

The build itself (sdist and wheel contents, ``twine check``, the wheel installed into a fresh venv running an example
DAG) is scripts/package_check.sh, which CI runs after the test suite (.ci/run).
"""

from __future__ import annotations

import hashlib
import re
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parents[1]
PYPROJECT: dict[str, Any] = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT: dict[str, Any] = PYPROJECT["project"]
CLASSIFIERS: list[str] = PROJECT["classifiers"]
DEPENDENCIES = [Requirement(text) for text in PROJECT["dependencies"]]
EXTRAS = {name: [Requirement(text) for text in reqs] for name, reqs in PROJECT["optional-dependencies"].items()}
REPO_URL = "https://github.com/feishu-corehr/airflow-provider-feishu-corehr"
# The Pythons the test lanes run on (scripts/bootstrap.sh builds both lanes with python3 3.11).
TESTED_PYTHONS = {"3.11"}
# sha256 of the Apache License 2.0 text as published at https://www.apache.org/licenses/LICENSE-2.0.txt
APACHE_2_0_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)|<(https?://[^>\s]+)>|^\[[^\]]+\]:\s*(\S+)", re.MULTILINE)


def _links(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)  # code blocks hold no links
    return [next(group for group in match.groups() if group) for match in LINK.finditer(text)]


def _lock(name: str) -> dict[str, Version]:
    pins = (line.split("==", 1) for line in (REPO / name).read_text(encoding="utf-8").splitlines() if "==" in line)
    return {canonicalize_name(dist.strip()): Version(version.strip()) for dist, version in pins}


def _repo_path(url: str) -> Path | None:
    """The checkout path a link into the repository's main branch names (None: not such a link)."""
    for kind in ("blob", "tree"):
        prefix = f"{REPO_URL}/{kind}/main/"
        if url.startswith(prefix):
            return REPO / url[len(prefix) :].split("#", 1)[0]
    return None


def test_license_is_an_spdx_expression_with_the_apache_text_beside_it() -> None:
    assert PROJECT["license"] == "Apache-2.0"  # PEP 639 expression, not the deprecated table
    assert PROJECT["license-files"] == ["LICENSE"]
    assert hashlib.sha256((REPO / "LICENSE").read_bytes()).hexdigest() == APACHE_2_0_SHA256
    # a License :: classifier beside an expression is an error for setuptools >= 77 and PyPI
    assert [c for c in CLASSIFIERS if c.startswith("License ::")] == []


def test_build_backend_supports_license_expressions() -> None:
    (setuptools,) = [Requirement(r) for r in PYPROJECT["build-system"]["requires"] if r.startswith("setuptools")]
    assert not setuptools.specifier.contains("77.0.2")  # PEP 639 works from 77.0.3
    assert setuptools.specifier.contains("77.0.3")
    # the version the package check builds with is in the range
    assert _lock("requirements-lock-release.txt")["setuptools"] in setuptools.specifier


def test_classifiers_state_status_audience_topic_framework_and_the_tested_pythons() -> None:
    for prefix in ("Development Status :: ", "Intended Audience :: ", "Topic :: "):
        assert any(c.startswith(prefix) for c in CLASSIFIERS), prefix
    assert "Framework :: Apache Airflow" in CLASSIFIERS
    assert "Framework :: Apache Airflow :: Provider" in CLASSIFIERS
    pythons = {m[1] for c in CLASSIFIERS if (m := re.fullmatch(r"Programming Language :: Python :: (3\.\d+)", c))}
    assert pythons == TESTED_PYTHONS
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in pythons  # this lane's Python is listed
    lowest = min(TESTED_PYTHONS, key=Version)
    assert PROJECT["requires-python"] == f">={lowest}"


def test_project_urls_and_keywords() -> None:
    urls = PROJECT["urls"]
    assert set(urls) >= {"Documentation", "Source", "Changelog", "Issues"}
    assert all(url.startswith(REPO_URL) for url in urls.values()), urls
    for name in ("Documentation", "Changelog"):
        target = _repo_path(urls[name])
        assert target is not None and target.exists(), (name, urls[name])
    assert {"airflow", "airflow-provider", "feishu"} <= set(PROJECT["keywords"])


def test_every_dependency_stops_before_the_next_major_version() -> None:
    by_name: dict[str, SpecifierSet] = {canonicalize_name(r.name): r.specifier for r in DEPENDENCIES}
    assert not by_name["requests"].contains("3.0.0") and by_name["requests"].contains("2.99")
    assert not by_name["apache-airflow"].contains("4.0.0") and by_name["apache-airflow"].contains("3.99")
    for requirement in DEPENDENCIES:
        assert any(spec.operator == "<" for spec in requirement.specifier), requirement


@pytest.mark.parametrize("lock", ["requirements-lock.txt", "requirements-lock-2.11.txt"])
def test_the_locks_satisfy_the_ranges(lock: str) -> None:
    pinned = _lock(lock)
    for requirement in DEPENDENCIES + EXTRAS["emulator-tls"] + EXTRAS["redis"]:
        assert pinned[canonicalize_name(requirement.name)] in requirement.specifier, (lock, str(requirement))


def test_lower_bounds_are_what_the_lowest_lane_runs() -> None:
    pinned = _lock("requirements-lock-2.11.txt")  # requirements-2.11.in: the lower bounds of pyproject.toml
    for requirement in DEPENDENCIES + EXTRAS["emulator-tls"] + EXTRAS["redis"]:
        lower = [Version(spec.version) for spec in requirement.specifier if spec.operator == ">="]
        assert lower == [pinned[canonicalize_name(requirement.name)]], str(requirement)


def test_trustme_is_in_the_emulator_tls_extra_not_in_the_base_dependencies() -> None:
    assert "trustme" not in {canonicalize_name(r.name) for r in DEPENDENCIES}
    assert [r.name for r in EXTRAS["emulator-tls"]] == ["trustme"]


def test_emulator_tls_without_trustme_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from airflow_provider_feishu_corehr.testing.cli import main

    monkeypatch.setitem(sys.modules, "trustme", None)  # what `import trustme` meets where it is not installed
    assert main(["--tls", "--port", "0"]) == 2
    error = capsys.readouterr().err
    assert "pip install 'airflow-provider-feishu-corehr[emulator-tls]'" in error
    assert "emulator-tls" in EXTRAS


def test_the_pypi_description_has_only_absolute_links_and_they_resolve_in_the_repository() -> None:
    description = REPO / PROJECT["readme"]
    assert description.name != "README.md"  # README.md links docs/ relatively: those break on PyPI
    links = _links(description)
    assert len(links) >= 5  # README, docs, example DAGs, changelog, license
    for link in links:
        assert link.startswith("https://"), link
        target = _repo_path(link)
        assert target is None or target.exists(), link
    assert f"{PROJECT['name']}[emulator-tls]" in description.read_text(encoding="utf-8")


def test_every_relative_link_of_the_readme_exists() -> None:
    links = [link for link in _links(REPO / "README.md") if not re.match(r"[a-z]+:", link)]
    assert links  # the check is not vacuous
    for link in links:
        path = link.split("#", 1)[0]
        assert not path or (REPO / path).exists(), link
