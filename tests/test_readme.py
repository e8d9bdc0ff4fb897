"""Every code block of README.md runs here, so the README cannot drift.

Each fenced block is preceded by a marker, ``<!-- readme-test: KIND (why) -->``, saying how it is checked:

* ``dag``: the Python DAG, written to ``dags/fix_offboarding_date.py`` and run with the shipped ``run_dag`` against
  the emulator (on each lane the suite runs on);
* ``pytest``: the test of that DAG, written to ``tests/`` beside it and run by pytest in a new process;
* ``run``: shell commands run as written by bash, with the lane's ``python`` and ``airflow`` first on ``PATH``;
* ``emulator`` and ``dags-test``: the emulator CLI as written, plus ``--port 0`` (test lanes run side by side, so
  the default port 8765 may be taken), then the commands that use it with its port put for 8765;
* ``syntax-only``: commands that need the network, change the environment or run for minutes (the install
  commands, ``make``): ``bash -n``, and what they name must exist (the package, the lock, the make targets);
* ``diagram``: a picture; the provider classes it names must exist.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider_feishu_corehr.testing.emulator import FeishuEmulator

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
MARKER = re.compile(r"<!-- readme-test: (?P<kind>[a-z-]+) \((?P<why>[^)]+)\) -->")
KINDS = {
    "dag": "python",
    "pytest": "python",
    "run": "bash",
    "emulator": "bash",
    "dags-test": "bash",
    "syntax-only": "bash",
    "diagram": "mermaid",
}
DAG_FILE = "dags/fix_offboarding_date.py"
TEST_FILE = "tests/test_fix_offboarding_date.py"
OFFBOARDING_ID = "7095671727698478604"  # the seed record the README's DAG edits
BIN = str(Path(sys.executable).parent)  # the lane's venv: its python, airflow and pytest


@dataclass(frozen=True)
class Block:
    """One fenced block of the README with its marker.

    :param kind: the marker's kind (how the block is checked).
    :param why: the marker's reason.
    :param lang: the fence's language.
    :param body: the block's text.
    :param line: the line of the opening fence (1-based).
    """

    kind: str
    why: str
    lang: str
    body: str
    line: int


def readme_blocks() -> list[Block]:
    """Every fenced block of the README; a block without a marker on the line before it fails the test."""
    lines = README.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.startswith("```"):
            index += 1
            continue
        marker = MARKER.fullmatch(lines[index - 1]) if index else None
        assert marker, f"README.md line {index + 1}: a code block without a readme-test marker on the line before"
        end = lines.index("```", index + 1)
        body = "\n".join(lines[index + 1 : end]) + "\n"
        blocks.append(Block(marker["kind"], marker["why"], line[3:], body, index + 1))
        index = end + 1
    return blocks


def blocks_of(kind: str) -> list[Block]:
    """The README's blocks of one kind, in order.

    :param kind: the marker's kind.
    """
    return [block for block in readme_blocks() if block.kind == kind]


def one_block(kind: str) -> Block:
    """The README's one block of ``kind``.

    :param kind: the marker's kind.
    """
    found = blocks_of(kind)
    assert len(found) == 1, f"README.md: {len(found)} blocks of kind {kind!r}, expected one"
    return found[0]


def write_project(root: Path) -> None:
    """The README's DAG and its test, laid out as the README names them (``dags/`` beside ``tests/``).

    :param root: the project folder.
    """
    for name, kind in ((DAG_FILE, "dag"), (TEST_FILE, "pytest")):
        body = one_block(kind).body
        assert body.startswith(f"# {name}\n"), f"the {kind} block should start with its path, # {name}"
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(body, encoding="utf-8")


def shell_env(**values: str) -> dict[str, str]:
    """The environment a user's shell would give: the lane's venv first on ``PATH``, no Feishu connection set.

    :param values: variables to set on top.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "PYTEST", "FEISHU_TEST"))}
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    env.update(values)
    return env


def run_bash(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with ``bash -e -o pipefail``; fail the test with its output when it fails.

    :param script: the commands.
    :param env: the environment.
    :param cwd: the working folder.
    """
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{script}\nexit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_every_block_is_marked_with_a_known_kind_and_the_readme_stays_short() -> None:
    blocks = readme_blocks()
    assert blocks  # not vacuous
    for block in blocks:
        assert block.kind in KINDS, f"line {block.line}: unknown readme-test kind {block.kind!r}"
        assert block.lang == KINDS[block.kind], f"line {block.line}: a {block.kind} block is {KINDS[block.kind]}"
        assert block.why.strip(), f"line {block.line}: the marker says why"
    for kind in ("dag", "pytest", "emulator", "dags-test", "diagram"):
        one_block(kind)
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 260  # newcomer first; reference is in docs/


def test_no_repository_paths_or_stale_lines_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    for stale in (".venv/bin/", "39.8 ms", "On `main`", "3.10", "expected to work", "tests/conftest.py"):
        assert stale not in text, stale


def test_the_diagram_names_classes_the_provider_has() -> None:
    from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator
    from airflow_provider_feishu_corehr.sensors.offboarding import OffboardingStatusSensor
    from airflow_provider_feishu_corehr.triggers.offboarding_events import OffboardingStatusEventTrigger

    diagram = one_block("diagram").body
    assert diagram.startswith("flowchart ")
    for cls in (EditOffboardingOperator, OffboardingStatusSensor, OffboardingStatusEventTrigger):
        assert cls.__name__ in diagram
    assert "render_plan" in diagram and callable(EditOffboardingOperator.render_plan)


@pytest.mark.parametrize("block", blocks_of("syntax-only"), ids=lambda b: f"line{b.line}")
def test_commands_not_run_parse_and_name_what_exists(block: Block) -> None:
    done = subprocess.run(["bash", "-n", "-c", block.body], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for name in re.findall(r"pip install (\S+)", block.body):
        if name.startswith("dist/"):  # the wheel's file name: the distribution name with underscores
            assert name.startswith("dist/" + project["name"].replace("-", "_") + "-") and name.endswith(".whl")
        else:
            assert name == project["name"]
    for constraint in re.findall(r"--constraint (\S+)", block.body):
        assert constraint.startswith('"https://') or (REPO / constraint).is_file(), constraint
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    for target in re.findall(r"^make (\w+)", block.body, flags=re.MULTILINE):
        assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE), f"no make target {target}"


def test_the_connection_block_means_the_feishu_url(tmp_path: Path) -> None:
    block = blocks_of("run")[1]
    assert "AIRFLOW_CONN_FEISHU_DEFAULT" in block.body
    read = (
        "from airflow_provider_feishu_corehr.hooks.connection import settings_from_connection\n"
        "from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook\n"
        "settings = settings_from_connection(FeishuHook.get_connection('feishu_default'))\n"
        "print('settings:', settings.base_url, settings.app_id)\n"
    )
    done = run_bash(f'{block.body}python -c "{read}"', shell_env(), tmp_path)
    said = [line for line in done.stdout.splitlines() if line.startswith("settings: ")]  # Airflow may log too
    assert said == ["settings: https://open.feishu.cn cli_a1b2c3d4e5f6"]


def test_the_dag_edits_the_seed_record(tmp_path: Path, airflow_db: Path, feishu_emulator: FeishuEmulator) -> None:
    from airflow_provider_feishu_corehr.testing.dags import run_dag

    write_project(tmp_path)
    result = run_dag(tmp_path / DAG_FILE, emulator=feishu_emulator)

    assert result.state == "success", result.states
    report = result.return_values["edit"]
    assert report["counts"]["edited"] == 1
    assert report["records"][0]["offboarding_id"] == OFFBOARDING_ID
    record = feishu_emulator.record(OFFBOARDING_ID)
    assert record["offboarding_date"] == "2026-07-31"
    assert record["reason_explanation"] == "Hand-over takes a month longer."


def test_the_test_snippet_passes_under_pytest(tmp_path: Path, airflow_db: Path) -> None:
    write_project(tmp_path)
    # The lane's migrated AIRFLOW_HOME (the README asks for a scratch one); no setting of this suite's pytest run.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "FEISHU_TEST", "AIRFLOW_CONN_"))}

    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout


@pytest.fixture
def cli_emulator(tmp_path: Path) -> Iterator[int]:
    """The README's emulator command, with ``--port 0 --print-json-line``, in its own process group; its port."""
    command = one_block("emulator").body.strip()
    assert command == "python -m airflow_provider_feishu_corehr.testing"
    process = subprocess.Popen(
        ["bash", "-c", f"exec {command} --port 0 --print-json-line"],
        env=shell_env(),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        first: dict[str, Any] = json.loads(process.stdout.readline())
        yield int(first["port"])
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_the_shell_path_migrates_lists_and_runs_the_dag_against_the_cli_emulator(
    tmp_path: Path, cli_emulator: int
) -> None:
    write_project(tmp_path)
    env = shell_env(
        AIRFLOW_HOME=str(tmp_path / "airflow-home"),  # fresh: the README's `airflow db migrate` prepares it
        AIRFLOW__CORE__DAGS_FOLDER=str(tmp_path / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
    )
    install = blocks_of("run")[0]
    assert "airflow db migrate" in install.body
    listed = run_bash(install.body, env, tmp_path)
    assert "airflow-provider-feishu-corehr" in listed.stdout

    commands = one_block("dags-test").body
    assert commands.count("127.0.0.1:8765") == 2  # the emulator's default port, put for the one it got here
    done = run_bash(commands.replace("127.0.0.1:8765", f"127.0.0.1:{cli_emulator}"), env, tmp_path)
    assert done.stdout.strip().splitlines()[-1] == '"offboarding_date":"2026-07-31"'
