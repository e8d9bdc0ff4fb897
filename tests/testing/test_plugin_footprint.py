"""The ``pytest11`` plugin adds its fixtures and its marker's registration to a deployment's pytest runs, and nothing
else: pytest runs on the same trivial project with the plugin and without it (``-p no:feishu_emulator``) and the
outputs are compared."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from airflow_provider_feishu_corehr.testing import pytest_plugin

if TYPE_CHECKING:
    from pathlib import Path

OURS = {"feishu_emulator", "feishu_connection", "feishu_emulator_shared"}
PACKAGE = "airflow_provider_feishu_corehr"

TRIVIAL = """
import json
import sys

import pytest


def test_adds(request):
    assert 1 + 1 == 2
    autouse = [name for name in request.fixturenames if "feishu" in name]
    modules = sorted(sys.modules)
    with open("seen.json", "w") as out:
        json.dump({"autouse": autouse, "modules": modules}, out)


@pytest.mark.parametrize("n", [1, 2])
def test_param(n):
    assert n
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A trivial project of its own (own ini file: no rootdir or configuration of this repository)."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (tmp_path / "test_trivial.py").write_text(TRIVIAL, encoding="utf-8")
    return tmp_path


def pytest_run(project: Path, *args: str, plugin: bool) -> str:
    """Run pytest in ``project`` in a new process, with or without the plugin; its output (stdout and stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "FEISHU_TEST", "PYTEST"))}
    env["COLUMNS"] = "200"
    switch = [] if plugin else ["-p", "no:feishu_emulator"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", "pytest.ini", "-p", "no:cacheprovider", *switch, *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return re.sub(r"\d+\.\d+s", "<time>", done.stdout + done.stderr)


def fixture_names(output: str) -> set[str]:
    """Fixture names of ``pytest --fixtures`` output (a name at the start of a line, optional scope and path)."""
    return set(re.findall(r"^(\w+)(?: \[[\w ]+\])?(?: -- \S+)?$", output, flags=re.MULTILINE))


def test_the_plugin_is_installed_and_loaded(project: Path) -> None:
    assert "feishu_emulator" in fixture_names(pytest_run(project, "--fixtures", plugin=True))


def test_collection_and_results_are_unchanged_and_warning_free(project: Path) -> None:
    assert pytest_run(project, "--collect-only", "-q", plugin=True) == pytest_run(
        project, "--collect-only", "-q", plugin=False
    )
    with_plugin = pytest_run(project, "-q", "-rA", "-W", "error", plugin=True)
    seen_with = json.loads((project / "seen.json").read_text())
    without = pytest_run(project, "-q", "-rA", "-W", "error", plugin=False)
    seen_without = json.loads((project / "seen.json").read_text())

    assert with_plugin == without
    assert "3 passed" in with_plugin
    assert "warning" not in with_plugin.lower()
    assert seen_with["autouse"] == []  # no fixture of ours runs in a test that does not ask for it
    added = set(seen_with["modules"]) - set(seen_without["modules"])
    stdlib = {name for name in added if name.split(".")[0] in sys.stdlib_module_names}
    # The plugin's own modules and a few of the standard library (secrets), nothing else: no Airflow, no emulator.
    assert "urllib.request" not in stdlib
    assert added - stdlib == {PACKAGE, *(f"{PACKAGE}.testing{name}" for name in ("", ".pytest_plugin", ".apps"))}


def test_only_our_fixtures_are_added(project: Path) -> None:
    for verbose in ([], ["-v"]):
        added = fixture_names(pytest_run(project, "--fixtures", *verbose, plugin=True)) - fixture_names(
            pytest_run(project, "--fixtures", *verbose, plugin=False)
        )
        assert added == (OURS | {"_feishu_emulator_session"} if verbose else OURS)


def test_options_and_markers_only_gain_our_marker(project: Path) -> None:
    assert pytest_run(project, "--help", plugin=True) == pytest_run(project, "--help", plugin=False)
    with_plugin = pytest_run(project, "--markers", plugin=True).splitlines()
    without = pytest_run(project, "--markers", plugin=False).splitlines()
    added = [line for line in with_plugin if line not in without]
    assert [line.split(":")[0] for line in added] == ["@pytest.mark.feishu_emulator(**options)"]
    assert not [line for line in without if line not in with_plugin]


def test_the_one_hook_is_the_marker_registration() -> None:
    hooks = {name for name in vars(pytest_plugin) if name.startswith("pytest_")}
    assert hooks == {"pytest_configure"}
