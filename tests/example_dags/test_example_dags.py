"""Every example DAG under ``dag.test()`` on SQLite against the emulator (default seed), plus a DagBag check.

Assertions are on what the emulator holds afterwards (its records, the requests it served) and on the XComs
the tasks pushed; expected field values come from the DAG module and the shipped CSV, not from copies here. The
operators' XComs, as stored, follow ``docs/xcom.schema.json``.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import airflow
import pytest
from airflow_lanes import dag_bag, xcom_entries
from xcom_schema import check_xcom

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import ModuleType

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

AIRFLOW_V_3_1_PLUS = tuple(int(p) for p in airflow.__version__.split(".")[:2]) >= (3, 1)
EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"
LIFECYCLE = EXAMPLES / "example_feishu_offboarding_lifecycle.py"
BATCH = EXAMPLES / "example_feishu_batch_corrections.py"
WAIT = EXAMPLES / "example_feishu_wait_until_offboarded.py"
CORRECTIONS = EXAMPLES / "data" / "offboarding_corrections.csv"
DAG_IDS = {
    "example_feishu_offboarding_lifecycle",
    "example_feishu_batch_corrections",
    "example_feishu_batch_corrections_mapped",
    "example_feishu_wait_until_offboarded",
}
if AIRFLOW_V_3_1_PLUS:  # the plan/approve/apply example needs the human-in-the-loop ApprovalOperator
    DAG_IDS.add("example_feishu_plan_approve_apply")
# Event-driven examples (Airflow 3 only): scheduled on an asset whose watcher talks to Feishu; their own tests
# are in tests/triggers/ and tests/example_dags/test_push_example.py.
EVENT_DAG_IDS = {"example_feishu_on_offboarded", "example_feishu_offboarding_push"}


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _task_states(dag_run: Any) -> dict[str, str]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return {
            ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]": str(ti.state)
            for ti in dag_run.get_task_instances(session=session)
        }


def _xcoms(dag_run: Any) -> dict[str, Any]:
    """Every ``return_value`` of the run: ``task_id`` (or ``task_id[map_index]``) -> value."""
    return {
        task_id if map_index < 0 else f"{task_id}[{map_index}]": value
        for task_id, map_index, _, value in xcom_entries(dag_run)
    }


def _one_record(envelope: Any, operation: str) -> dict[str, Any]:
    """The one record of an operator's XCom envelope for one id, after checking the envelope against the schema."""
    check_xcom(envelope)
    assert (envelope["operation"], envelope["total"], len(envelope["records"])) == (operation, 1, 1), envelope
    record: dict[str, Any] = envelope["records"][0]
    return record


def _assert_only_return_values(dag_run: Any) -> None:
    """No task pushed an XCom other than ``return_value`` (a ``@task`` returning a ``dict`` annotation would push
    one XCom per key when Airflow infers ``multiple_outputs``)."""
    stray = sorted({(task_id, key) for task_id, _, key, _ in xcom_entries(dag_run, key=None) if key != "return_value"})
    assert stray == [], f"XCom keys other than return_value: {stray}"


def _fast_polls(dag: Any) -> None:
    """Shorten sensors' poke interval (the examples use production values of minutes)."""
    for task in dag.tasks:
        if hasattr(task, "poke_interval"):
            task.poke_interval = 0.2


@contextmanager
def after_searches(emu: FeishuEmulator, count: int, action: Callable[[], None]) -> Iterator[threading.Event]:
    """Run ``action`` once the emulator has served ``count`` searches (the sensor is waiting by then)."""
    done, stop = threading.Event(), threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if emu.request_count("search") >= count:
                action()
                done.set()
                return
            stop.wait(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield done
    finally:
        stop.set()
        thread.join(timeout=5)


def _feishu_conn_id(task: Any) -> str | None:
    """The ``feishu_conn_id`` argument of a provider operator or sensor, mapped (``partial_kwargs``) or not."""
    partial = getattr(task, "partial_kwargs", None)
    if partial is not None:
        return partial.get("feishu_conn_id")
    return getattr(task, "feishu_conn_id", None)


def _csv_records(path: Path) -> dict[str, dict[str, str]]:
    records: dict[str, dict[str, str]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            records.setdefault(row["offboarding_id"], {})[row["field_name"]] = row["value"]
    return records


# -- loading ------------------------------------------------------------------------------------------------------


def test_dagbag_imports_every_example_without_errors(airflow_db: Path) -> None:
    bag = dag_bag(EXAMPLES)
    assert bag.import_errors == {}
    import airflow
    from packaging.version import Version

    assert set(bag.dag_ids) == DAG_IDS | (EVENT_DAG_IDS if Version(airflow.__version__).major >= 3 else set())
    for dag_id in DAG_IDS:
        dag = bag.get_dag(dag_id)
        assert dag is not None
        assert dag.params["feishu_conn_id"] == "feishu_default", dag_id
        conn_ids = {task.task_id: c for task in dag.tasks if (c := _feishu_conn_id(task)) is not None}
        assert conn_ids, f"{dag_id} has no Feishu task"
        assert set(conn_ids.values()) == {"{{ params.feishu_conn_id }}"}, conn_ids


def test_examples_hold_nothing_emulator_specific() -> None:
    for path in EXAMPLES.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for marker in ("testing", "_emulator", "127.0.0.1", "localhost", "emulator-secret", "cli_emulator"):
            assert marker not in text, f"{path.name} mentions {marker!r}"


def test_parsing_the_examples_loads_no_http_client(tmp_path: Path) -> None:
    """DAG files are parsed all the time: parsing them must not import an HTTP client library.

    Airflow 2 imports ``requests`` itself on ``import airflow``; what counts is what the DAG files add to that.
    """
    probe = (
        "import importlib.util, sys\n"
        "import airflow\n"
        "clients = ('requests', 'urllib3', 'httpx', 'httpcore', 'redis')\n"
        "before = {m for m in clients if m in sys.modules}\n"
        "for path in sys.argv[1:]:\n"
        "    spec = importlib.util.spec_from_file_location('dagfile', path)\n"
        "    spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print(sorted(m for m in clients if m in sys.modules and m not in before))\n"
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW_CONN_FEISHU_DEFAULT": "feishu://x:y@127.0.0.1:9"}
    paths = [str(p) for p in sorted(EXAMPLES.glob("*.py"))]
    out = subprocess.run(
        [sys.executable, "-c", probe, *paths], capture_output=True, text=True, env=env, check=True, timeout=120
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


# -- lifecycle ----------------------------------------------------------------------------------------------------


def _latest_offboarding(emu: FeishuEmulator, employment_id: str) -> dict[str, Any]:
    """The employment's most recent offboarding, as the emulator holds it (what the look-up task should find)."""
    items = [r for r in emu.offboardings() if r["offboarding_info"]["employment_id"] == employment_id]
    return max(items, key=lambda r: r["application_info"]["apply_initiating_time"])


def _check_lifecycle(emu: FeishuEmulator, dag_run: Any, offboarding_id: str) -> None:
    example = _load(LIFECYCLE)
    assert dag_run.state == "success"
    assert set(_task_states(dag_run).values()) == {"success"}
    record = emu.record(offboarding_id)
    assert record["status"] == "Withdrawn"
    assert record["offboarding_date"] == example.NEW_OFFBOARDING_DATE.to_date_string()
    assert record["reason_explanation"] == example.REASON_EXPLANATION
    assert record[example.HANDOVER_NOTE_FIELD] == example.HANDOVER_NOTE
    assert emu.request_count("edit", code=0) == 1
    assert emu.request_count("revoke", code=0) == 1

    _assert_only_return_values(dag_run)
    xcoms = _xcoms(dag_run)
    assert xcoms["look_up_offboarding"]["offboarding_id"] == offboarding_id
    assert xcoms["look_up_offboarding"]["status"] == "Approved"
    edit = _one_record(xcoms["edit_offboarding"], "edit")
    assert (edit["offboarding_id"], edit["outcome"], edit["error"]) == (offboarding_id, "edited", None)
    assert {f["field_name"]: f["value"] for f in edit["fields"]} == {
        "offboarding_date": record["offboarding_date"],
        "reason_explanation": example.REASON_EXPLANATION,
        example.HANDOVER_NOTE_FIELD: example.HANDOVER_NOTE,
    }
    revoke = _one_record(xcoms["revoke_offboarding"], "revoke")
    assert (revoke["offboarding_id"], revoke["outcome"], revoke["error"]) == (offboarding_id, "revoked", None)
    assert revoke["log_id"]
    assert xcoms["wait_until_withdrawn"]["offboarding_id"] == offboarding_id
    assert xcoms["wait_until_withdrawn"]["status"] == "Withdrawn"
    assert xcoms["wait_until_withdrawn"]["offboarding_date"] == record["offboarding_date"]


def test_lifecycle_edits_revokes_and_sees_withdrawn(feishu_connection: FeishuEmulator, run_dag: Any) -> None:
    example = _load(LIFECYCLE)
    employment_id = example.lifecycle_dag.params["employment_id"]
    latest = _latest_offboarding(feishu_connection, employment_id)
    assert latest["status"] == "Approved"
    feishu_connection.inject_fault("revoke", "http_503", count=2)  # the client retries through these

    dag_run = run_dag(LIFECYCLE, "example_feishu_offboarding_lifecycle")

    _check_lifecycle(feishu_connection, dag_run, latest["offboarding_id"])
    assert feishu_connection.request_count("revoke", http_status=503) == 2


def test_lifecycle_waits_while_the_revoke_is_in_withdrawal_approval(
    feishu_connection: FeishuEmulator, run_dag: Any
) -> None:
    emu = feishu_connection
    employment_id = "6982509313466189351"  # default seed: revoke starts a withdrawal approval
    offboarding_id = _latest_offboarding(emu, employment_id)["offboarding_id"]
    # The look-up is search 1, the sensor's first poke search 2: then the approval ends.
    with after_searches(emu, 2, lambda: emu.set_status(offboarding_id, "Withdrawn")) as approved:
        dag_run = run_dag(
            LIFECYCLE,
            "example_feishu_offboarding_lifecycle",
            prepare=_fast_polls,
            run_conf={"employment_id": employment_id},
        )
    assert approved.is_set()
    assert emu.request_count("search") >= 3  # looked up, saw the pending approval, saw Withdrawn
    _check_lifecycle(emu, dag_run, offboarding_id)


# -- batch corrections ----------------------------------------------------------------------------------------------

BATCH_VARIANTS = [
    pytest.param("example_feishu_batch_corrections", id="one-task"),
    pytest.param("example_feishu_batch_corrections_mapped", id="mapped"),
]


def _applied(xcoms: dict[str, Any], dag_id: str) -> list[dict[str, Any]]:
    """Per-record outcomes of the apply step: the batch envelope's records, or the one record of each mapped
    instance's envelope (``index`` left out: it is the position in its own task's input)."""
    if dag_id == "example_feishu_batch_corrections":
        batch = xcoms["apply_corrections"]
        check_xcom(batch)
        assert batch["total"] == len(batch["records"])
        assert [r["index"] for r in batch["records"]] == list(range(batch["total"]))
        return [{k: v for k, v in r.items() if k != "index"} for r in batch["records"]]
    mapped = sorted((k for k in xcoms if k.startswith("apply_correction[")), key=lambda k: int(k[17:-1]))
    records = [_one_record(xcoms[k], "edit") for k in mapped]
    assert {r["index"] for r in records} == {0}
    return [{k: v for k, v in r.items() if k != "index"} for r in records]


@pytest.mark.parametrize("dag_id", BATCH_VARIANTS)
def test_batch_corrections_apply_every_row_of_the_shipped_csv(
    dag_id: str, feishu_connection: FeishuEmulator, run_dag: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    emu = feishu_connection
    expected = _csv_records(CORRECTIONS)

    dag_run = run_dag(BATCH, dag_id)

    assert dag_run.state == "success"
    assert set(_task_states(dag_run).values()) == {"success"}
    for offboarding_id, fields in expected.items():
        record = emu.record(offboarding_id)
        assert {name: record[name] for name in fields} == fields, offboarding_id
    assert emu.request_count("edit", code=0) == len(expected)

    xcoms = _xcoms(dag_run)
    # the values reach the operator through a template (a macro reading the file), not through an upstream XCom
    assert "parse_corrections" not in xcoms
    if dag_id == "example_feishu_batch_corrections_mapped":
        assert xcoms["correction_ids"] == list(expected)  # ids only
    applied = _applied(xcoms, dag_id)
    assert [r["offboarding_id"] for r in applied] == list(expected)
    for outcome, (offboarding_id, fields) in zip(applied, expected.items(), strict=True):
        assert (outcome["outcome"], outcome["error"]) == ("edited", None)
        assert outcome["field_names"] == list(fields)
        assert {f["field_name"]: f["value"] for f in outcome["fields"]} == fields, offboarding_id
        assert outcome["log_id"]
    assert xcoms["report_outcomes"] == {
        "total": len(expected),
        "counts": {"edited": len(expected)},
        "edited": sorted(expected),
        "failed": [],
    }
    _assert_only_return_values(dag_run)
    # report_outcomes reads the mapped XComs without asking for one past the end (Airflow 3 logs that as
    # "XCom not found" with HTTP 404; Airflow 2 reads them from the database and has no such request)
    captured = capfd.readouterr()
    assert "XCom not found" not in captured.out + captured.err


@pytest.mark.parametrize("dag_id", BATCH_VARIANTS)
def test_batch_corrections_report_a_refused_record_and_apply_the_others(
    dag_id: str, feishu_connection: FeishuEmulator, run_dag: Any, tmp_path: Path
) -> None:
    emu = feishu_connection
    good, withdrawn = "7095671727698478623", "7095671727698478608"  # ...608 is Withdrawn: edit answers 1160623
    before = emu.record(withdrawn)
    corrections = tmp_path / "corrections.csv"
    corrections.write_text(
        "offboarding_id,field_name,value\n"
        f"{good},offboarding_date,2026-11-30\n"
        f"{withdrawn},reason_explanation,Too late for this one.\n",
        encoding="utf-8",
    )

    dag_run = run_dag(BATCH, dag_id, run_conf={"corrections_file": str(corrections)})

    states = _task_states(dag_run)
    apply_states = {k: v for k, v in states.items() if k.startswith("apply_correction")}
    assert sorted(apply_states.values()) == (["failed"] if len(apply_states) == 1 else ["failed", "success"])
    # trigger_rule all_done: the report runs, pushes its summary, then fails so the run is not green
    assert states["report_outcomes"] == "failed"
    assert dag_run.state == "failed"
    assert emu.record(good)["offboarding_date"] == "2026-11-30"
    assert emu.record(withdrawn) == before

    report = _xcoms(dag_run)["report_outcomes"]
    _assert_only_return_values(dag_run)
    assert (report["total"], report["counts"], report["edited"]) == (2, {"edited": 1, "failed": 1}, [good])
    [failed] = report["failed"]
    assert (failed["offboarding_id"], failed["code"]) == (withdrawn, 1160623)
    assert failed["message"] == (  # Feishu's answer names no field: the error names those the request carried
        f"not allowed to edit this offboarding (offboarding {withdrawn}; the request carried the field(s) "
        "reason_explanation)"
    )
    assert failed["log_id"]
    assert emu.request_count("edit", code=1160623) == 1


# -- waiting --------------------------------------------------------------------------------------------------------


def test_wait_until_offboarded_defers_then_runs_the_next_step(feishu_connection: FeishuEmulator, run_dag: Any) -> None:
    emu = feishu_connection
    employment_id = _load(WAIT).wait_dag.params["employment_id"]
    latest = _latest_offboarding(emu, employment_id)
    assert latest["status"] not in ("Offboarded", "Rejected", "Withdrawn")

    with after_searches(emu, 2, lambda: emu.set_status(latest["offboarding_id"], "Offboarded")) as offboarded:
        dag_run = run_dag(WAIT, "example_feishu_wait_until_offboarded", prepare=_fast_polls)

    assert offboarded.is_set()
    assert _task_states(dag_run) == {"wait_until_offboarded": "success", "after_offboarded": "success"}
    _assert_only_return_values(dag_run)
    xcoms = _xcoms(dag_run)
    assert xcoms["wait_until_offboarded"]["offboarding_id"] == latest["offboarding_id"]
    assert xcoms["wait_until_offboarded"]["status"] == "Offboarded"
    assert {k: xcoms["after_offboarded"][k] for k in ("employment_id", "offboarding_id", "offboarding_date")} == {
        "employment_id": employment_id,
        "offboarding_id": latest["offboarding_id"],
        "offboarding_date": latest["offboarding_info"]["offboarding_date"],
    }
    assert emu.request_count("search") >= 3
    assert emu.request_count("revoke") == emu.request_count("edit") == 0  # waiting only reads


def test_wait_ends_as_failed_when_the_offboarding_is_withdrawn(feishu_connection: FeishuEmulator, run_dag: Any) -> None:
    emu = feishu_connection
    offboarding_id = _latest_offboarding(emu, _load(WAIT).wait_dag.params["employment_id"])["offboarding_id"]
    with after_searches(emu, 1, lambda: emu.set_status(offboarding_id, "Withdrawn")):
        dag_run = run_dag(WAIT, "example_feishu_wait_until_offboarded", prepare=_fast_polls)
    assert _task_states(dag_run) == {"wait_until_offboarded": "failed", "after_offboarded": "upstream_failed"}


def test_connection_id_comes_from_the_param(
    feishu_emulator: FeishuEmulator, run_dag: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_FEISHU_DEFAULT", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_HR_TENANT", feishu_emulator.airflow_conn_json())
    employment_id = "6982509313466189343"  # default seed: already Offboarded

    dag_run = run_dag(
        WAIT,
        "example_feishu_wait_until_offboarded",
        run_conf={"feishu_conn_id": "feishu_hr_tenant", "employment_id": employment_id},
    )

    assert _task_states(dag_run) == {"wait_until_offboarded": "success", "after_offboarded": "success"}
    assert _xcoms(dag_run)["after_offboarded"]["employment_id"] == employment_id
    assert feishu_emulator.request_count("search", code=0) >= 1
