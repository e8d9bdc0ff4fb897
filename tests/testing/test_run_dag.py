"""``testing.dags.run_dag``: a user's DAG file, however it declares its DAG, run with ``dag.test()`` against the
emulator on both Airflow lanes; and the example of ``docs/testing.md``, copied from the page and run by pytest in a
new process as a user's project would run it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from airflow_provider_feishu_corehr.testing.dags import BUNDLE_CONFIG_ENV, RunDagError, run_dag

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

HAPPY = "7095671727698478604"  # default seed: Approved, revocable
OTHER = "7095671727698478606"  # default seed: Offboarded, revocable
LOGICAL_DATE = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)

HEADER = """
import pendulum
from airflow.providers.common.compat.sdk import DAG, BaseHook, dag, task

from airflow_provider_feishu_corehr.operators.offboarding import RevokeOffboardingOperator

START = pendulum.datetime(2026, 1, 1, tz="UTC")
"""

DECLARATIONS = {
    "assigned": """
        assigned = DAG("user_assigned", schedule=None, start_date=START, catchup=False)
        RevokeOffboardingOperator(task_id="revoke", offboarding_id="{oid}", dag=assigned)
        """,
    "unassigned_decorator": """
        @dag(dag_id="user_decorated", schedule=None, start_date=START, catchup=False)
        def user_decorated():
            RevokeOffboardingOperator(task_id="revoke", offboarding_id="{oid}")

        user_decorated()
        """,
    "unassigned_with_dag": """
        with DAG("user_with_dag", schedule=None, start_date=START, catchup=False):
            RevokeOffboardingOperator(task_id="revoke", offboarding_id="{oid}")
        """,
}


def write_dag(folder: Path, name: str, body: str) -> Path:
    """Write a user-style DAG file ``name`` in ``folder``: the common imports, then ``body``."""
    path = folder / name
    path.write_text(HEADER + textwrap.dedent(body), encoding="utf-8")
    return path


@pytest.mark.parametrize("style", list(DECLARATIONS))
def test_a_dag_runs_however_the_file_declares_it(style: str, feishu_emulator: FeishuEmulator, tmp_path: Path) -> None:
    dag_file = write_dag(tmp_path, f"{style}.py", DECLARATIONS[style].format(oid=HAPPY))

    result = run_dag(dag_file, emulator=feishu_emulator)

    assert (result.state, result.states) == ("success", {"revoke": "success"})
    envelope = result.return_values["revoke"]
    assert (envelope["operation"], envelope["counts"]["revoked"]) == ("revoke", 1)
    assert envelope["records"][0]["offboarding_id"] == HAPPY
    assert result.task("revoke").return_value == envelope
    assert feishu_emulator.record(HAPPY)["status"] == "Withdrawn"
    assert feishu_emulator.request_count("revoke", code=0) == 1


def test_two_dags_in_one_file_run_by_id(feishu_emulator: FeishuEmulator, tmp_path: Path) -> None:
    body = DECLARATIONS["assigned"].format(oid=HAPPY) + DECLARATIONS["unassigned_decorator"].format(oid=OTHER)
    dag_file = write_dag(tmp_path, "two.py", body)

    with pytest.raises(RunDagError, match=r"declares 2 DAGs \(user_assigned, user_decorated\): pass dag_id="):
        run_dag(dag_file, emulator=feishu_emulator)
    result = run_dag(dag_file, "user_decorated", emulator=feishu_emulator)

    assert (result.dag_id, result.state) == ("user_decorated", "success")
    assert feishu_emulator.record(OTHER)["status"] == "Withdrawn"
    assert feishu_emulator.record(HAPPY)["status"] == "Approved"  # the other DAG did not run
    with pytest.raises(RunDagError, match=r"has no DAG 'user_typo'; it declares: user_assigned, user_decorated"):
        run_dag(dag_file, "user_typo", emulator=feishu_emulator)


CONNECTION_DAG = """
    @dag(schedule=None, start_date=START, catchup=False, params={"who": "nobody"})
    def user_connection():
        @task
        def read_connection(params=None):
            conn = BaseHook.get_connection("hr_tenant")
            return {"host": conn.host, "who": params["who"]}

        @task
        def mapped(value):
            return value * 2

        read_connection()
        mapped.expand(value=[1, 2])

    user_connection()
    """


def test_without_an_emulator_one_is_started_for_the_run_and_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dag_file = write_dag(tmp_path, "conn.py", CONNECTION_DAG)
    monkeypatch.delenv("AIRFLOW_CONN_HR_TENANT", raising=False)

    result = run_dag(dag_file, conn_id="hr_tenant", conf={"who": "tester"}, logical_date=LOGICAL_DATE)

    assert result.dag_run.logical_date == LOGICAL_DATE

    seen = result.return_values["read_connection"]
    assert seen["who"] == "tester"
    assert seen["host"].startswith("http://127.0.0.1:")
    assert result.states == {"mapped[0]": "success", "mapped[1]": "success", "read_connection": "success"}
    assert (result.task("mapped", 1).return_value, result.return_values["mapped[0]"]) == (4, 2)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{seen['host']}/_emulator/state", timeout=5)
    assert "AIRFLOW_CONN_HR_TENANT" not in os.environ


def test_environment_is_put_back_after_the_run_even_when_a_task_fails(
    feishu_emulator: FeishuEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dag_file = write_dag(
        tmp_path,
        "fails.py",
        """
        @dag(schedule=None, start_date=START, catchup=False)
        def user_fails():
            @task
            def boom():
                raise ValueError("the task failed")

            @task
            def after(value):
                return value

            after(boom())

        user_fails()
        """,
    )
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_DEFAULT", '{"conn_type": "feishu", "host": "https://before.example"}')
    monkeypatch.delenv(BUNDLE_CONFIG_ENV, raising=False)
    before = dict(os.environ)

    result = run_dag(dag_file, emulator=feishu_emulator)

    assert result.state == "failed"
    assert result.dag_run.logical_date is not None  # none given: now, as on both lanes' dag.test()
    assert result.states == {"after": "upstream_failed", "boom": "failed"}
    assert result.return_values == {"after": None, "boom": None}
    assert dict(os.environ) == before


def test_a_file_that_fails_to_import_is_refused_naming_the_file_and_the_error(tmp_path: Path) -> None:
    broken = write_dag(tmp_path, "broken.py", "import no_such_module_for_the_test\n")
    imported = r"(?s)broken\.py failed to import:\n.*No module named 'no_such_module_for_the_test'"
    with pytest.raises(RunDagError, match=imported):
        run_dag(broken)
    with pytest.raises(RunDagError, match=r"no such file"):
        run_dag(tmp_path / "missing.py")
    empty = write_dag(tmp_path, "empty.py", "")
    with pytest.raises(RunDagError, match=r"declares 0 DAGs \(none\)"):
        run_dag(empty)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"conn_id": ""}, "conn_id must be a non-empty string or None"),
        ({"conn_id": None, "emulator": object()}, "emulator was given with conn_id=None"),
        ({"emulator": object()}, "emulator must be a FeishuEmulator, got object"),
        ({"conf": ["a"]}, "conf must be a mapping"),
        ({"logical_date": datetime(2026, 1, 1)}, "logical_date must be an aware datetime"),
        ({"prepare": "dag"}, "prepare must be callable"),
        ({"dag_id": ""}, "dag_id must be a non-empty string or None"),
    ],
)
def test_bad_arguments_are_refused_before_anything_runs(
    kwargs: dict[str, object], message: str, tmp_path: Path
) -> None:
    dag_file = write_dag(tmp_path, "any.py", DECLARATIONS["assigned"].format(oid=HAPPY))
    with pytest.raises(RunDagError, match=re.escape(message)):
        run_dag(dag_file, **kwargs)  # type: ignore[arg-type]


# -- the example of docs/testing.md, as a user's project runs it ----------------------------------------------------

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def documented_files() -> dict[str, str]:
    """The page's ```python blocks whose first line is ``# <relative path>.py``: path -> text."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    files = {}
    for block in blocks:
        first, _, _ = block.partition("\n")
        if re.fullmatch(r"# [\w/]+\.py", first):
            files[first[2:]] = block
    return files


def test_the_documented_example_passes(tmp_path: Path) -> None:
    files = documented_files()
    assert set(files) == {"dags/offboard_leaver.py", "tests/conftest.py", "tests/test_offboard_leaver.py"}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    # A user's environment: none of this suite's Airflow settings (its conftest sets AIRFLOW_HOME and the rest).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "FEISHU_TEST", "PYTEST"))}

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
