"""Privacy mode end to end (issue 18, part 6): every example DAG run under ``dag.test()`` against the emulator on the
real SQLite metadata database with the connection's extra ``privacy: true``, then the database and the task logs
scanned for every HR value the run used.

The values come from the example inputs and from the emulator's records the run touched (before and after): the
dates, reasons, hand-over notes and custom field values. Each is searched in the forms it could be stored in: its
wire form, JSON-escaped inside a JSON string, and JSON-escaped twice (a JSON string holding JSON). Values shorter
than :data:`MIN_LENGTH` characters (``"3"``, ``"true"``) cannot be searched as text (they occur inside ids and
hashes); that they are hashed is checked on the XCom itself (every ``fields[].value`` is a hash).

Scanned: every table of the metadata database (the rows of this run: by ``run_id``, else by ``dag_id``, else by the
run's task instance ids, else the whole table), the run's output and log records, and the files under
``AIRFLOW_HOME/logs``. Expected: 0 hits, except the DAG's own source (``dag_code``) and its serialized form
(``serialized_dag``) for values written as constants in the DAG file (the lifecycle example's edit), which is the
DAG author's responsibility (docs/privacy.md). Also checked: the XComs keep ids, field names, outcomes and
``hmac-sha256:`` hashes, and the emulator holds the values, so the hidden values were really applied.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import importlib.util
import json
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import airflow
import pytest
from airflow_lanes import AIRFLOW_V3, xcom_entries
from xcom_schema import check_xcom

from airflow_provider_feishu_corehr.client.privacy import is_digest

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import ModuleType

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

TESTS = Path(__file__).resolve().parents[1]
EXAMPLES = TESTS.parent / "example_dags"
LIFECYCLE = EXAMPLES / "example_feishu_offboarding_lifecycle.py"
BATCH = EXAMPLES / "example_feishu_batch_corrections.py"
WAIT = EXAMPLES / "example_feishu_wait_until_offboarded.py"
PLAN = EXAMPLES / "example_feishu_plan_approve_apply.py"
ON_OFFBOARDED = EXAMPLES / "example_feishu_on_offboarded.py"
PUSH = EXAMPLES / "example_feishu_offboarding_push.py"
AIRFLOW_V_3_1_PLUS = tuple(int(p) for p in airflow.__version__.split(".")[:2]) >= (3, 1)

MIN_LENGTH = 6
"""Shorter values are not searched as text (see the module docstring)."""
DATE_KEYS = ("offboarding_date", "expected_offboarding_date", "apply_initiating_time")
"""Record keys holding HR values that every summary or payload may carry."""
DAG_SOURCE_TABLES = {"dag_code", "serialized_dag"}
"""Where a DAG file's own constants are stored (the DAG's code, shown by Airflow as such)."""


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def private(feishu_emulator: FeishuEmulator, monkeypatch: pytest.MonkeyPatch) -> FeishuEmulator:
    """The emulator, with ``AIRFLOW_CONN_FEISHU_DEFAULT`` pointing at it with the extra ``privacy: true``."""
    conn = json.loads(feishu_emulator.airflow_conn_json())
    conn["extra"] = {**conn.get("extra", {}), "privacy": True}
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_DEFAULT", json.dumps(conn))
    return feishu_emulator


# -- the values and where they are searched ------------------------------------------------------------------------


def _forms(value: str) -> set[str]:
    """The texts ``value`` could be stored as: wire form, JSON-escaped (ASCII or not), escaped twice."""
    once = {json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    twice = {json.dumps(text)[1:-1] for text in once}
    return {value} | once | twice


def _hr_values(values: Iterable[Any]) -> set[str]:
    """The searchable HR values: strings (a list's items too) of at least :data:`MIN_LENGTH` characters."""
    found: set[str] = set()
    for value in values:
        if isinstance(value, list):
            found |= _hr_values(value)
            continue
        if value is None or isinstance(value, bool):
            continue
        text = str(value)
        if text.startswith("[") and text.endswith("]"):  # a multi-enum field in wire form: its items too
            found |= _hr_values(json.loads(text))
        if len(text) >= MIN_LENGTH:
            found.add(text)
    return found


def _record_values(emu: FeishuEmulator, offboarding_ids: Iterable[str], fields: Iterable[str] = ()) -> list[Any]:
    """The HR values the emulator holds now for these records: their dates and the given fields."""
    values: list[Any] = []
    for offboarding_id in offboarding_ids:
        record = emu.record(offboarding_id)
        values += [record.get(name) for name in (*DATE_KEYS, *fields)]
    return values


def _rows(db: sqlite3.Connection, table: str, run_id: str, dag_id: str, ti_ids: list[str]) -> list[tuple[Any, ...]]:
    columns = {row[1] for row in db.execute(f'PRAGMA table_info("{table}")')}
    if "run_id" in columns:
        return db.execute(f'SELECT * FROM "{table}" WHERE run_id = ?', (run_id,)).fetchall()
    if "dag_id" in columns:
        return db.execute(f'SELECT * FROM "{table}" WHERE dag_id = ?', (dag_id,)).fetchall()
    if "ti_id" in columns:
        marks = ",".join("?" * len(ti_ids)) or "NULL"
        return db.execute(f'SELECT * FROM "{table}" WHERE ti_id IN ({marks})', ti_ids).fetchall()
    return db.execute(f'SELECT * FROM "{table}"').fetchall()


def _text(cell: Any) -> str:
    if isinstance(cell, bytes):
        return cell.decode("utf-8", errors="replace")
    return "" if cell is None else str(cell)


def _database_hits(home: Path, dag_run: Any, needles: dict[str, set[str]]) -> dict[str, set[str]]:
    """Table -> the HR values found in this run's rows of it."""
    hits: dict[str, set[str]] = {}
    with sqlite3.connect(home / "airflow.db") as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        ti_ids = []
        if AIRFLOW_V3:
            ti_ids = [r[0] for r in db.execute("SELECT id FROM task_instance WHERE run_id = ?", (dag_run.run_id,))]
        for table in tables:
            text = "\n".join(_text(c) for row in _rows(db, table, dag_run.run_id, dag_run.dag_id, ti_ids) for c in row)
            found = {value for value, forms in needles.items() if any(form in text for form in forms)}
            if found:
                hits[table] = found
    return hits


def _log_hits(home: Path, started: float, output: str, needles: dict[str, set[str]]) -> dict[str, set[str]]:
    """Where the run's logs went: its output (``dag.test()`` logs to the console on both lanes) and any file under
    ``AIRFLOW_HOME/logs`` written during the test."""
    texts = {"output": output}
    for path in sorted((home / "logs").rglob("*")) if (home / "logs").is_dir() else ():
        if path.is_file() and path.stat().st_mtime >= started:
            texts[str(path.relative_to(home))] = path.read_text(encoding="utf-8", errors="replace")
    hits: dict[str, set[str]] = {}
    for where, text in texts.items():
        found = {value for value, forms in needles.items() if any(form in text for form in forms)}
        if found:
            hits[where] = found
    return hits


class Scan:
    """Runs one example DAG with privacy on and scans what it stored."""

    def __init__(self, home: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
        self.home, self.capfd, self.caplog = home, capfd, caplog
        self.started = time.time() - 1

    def check(self, dag_run: Any, values: Iterable[Any], dag_constants: Iterable[Any] = ()) -> dict[str, Any]:
        """Scan the run: no HR value anywhere (DAG-file constants excepted in the DAG's source tables); return the
        run's XComs (``task_id`` or ``task_id[map_index]`` -> value) after checking ids, outcomes and hashes."""
        hr = _hr_values(values)
        assert hr, "no HR value to search for"
        constants = _hr_values(dag_constants)
        needles = {value: _forms(value) for value in hr | constants}
        captured = self.capfd.readouterr()
        output = captured.out + captured.err + self.caplog.text
        database = _database_hits(self.home, dag_run, needles)
        for table in DAG_SOURCE_TABLES:  # the DAG author's constants, in the DAG's code
            if table in database and database[table] <= constants:
                del database[table]
        assert database == {}, f"HR values stored in the metadata database: {database}"
        assert _log_hits(self.home, self.started, output, needles) == {}, "HR values in the task logs"
        xcoms = {
            task_id if map_index < 0 else f"{task_id}[{map_index}]": value
            for task_id, map_index, _, value in xcom_entries(dag_run)
        }
        assert xcoms, "the run stored no XCom"
        return xcoms


@pytest.fixture
def scan(airflow_db: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Scan:
    caplog.set_level("INFO")
    capfd.readouterr()  # what came before this test
    return Scan(airflow_db, capfd, caplog)


def _hashed_report(envelope: Any, outcome: str, ids: list[str], field_names: list[list[str]] | None = None) -> None:
    """The operator's envelope under privacy: schema, ``privacy``, ids, field names and outcomes kept, every value a
    hash."""
    check_xcom(envelope)
    assert envelope["privacy"] is True
    assert [r["offboarding_id"] for r in envelope["records"]] == ids
    assert {r["outcome"] for r in envelope["records"]} == {outcome}, envelope["records"]
    for index, record in enumerate(envelope["records"]):
        if field_names is not None:
            assert [f["field_name"] for f in record["fields"]] == field_names[index]
        assert all(is_digest(f["value"]) for f in record.get("fields") or ()), record["fields"]


def _hashed_summary(summary: dict[str, Any], offboarding_id: str, status: str) -> None:
    assert (summary["offboarding_id"], summary["status"]) == (offboarding_id, status)
    assert is_digest(summary["offboarding_date"]), summary


def _csv(path: Path) -> dict[str, dict[str, str]]:
    records: dict[str, dict[str, str]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            records.setdefault(row["offboarding_id"], {})[row["field_name"]] = row["value"]
    return records


def _fast_polls(dag: Any) -> None:
    for task in dag.tasks:
        if hasattr(task, "poke_interval"):
            task.poke_interval = 0.2


def _latest(emu: FeishuEmulator, employment_id: str) -> str:
    items = [r for r in emu.offboardings() if r["offboarding_info"]["employment_id"] == employment_id]
    latest = max(items, key=lambda r: r["application_info"]["apply_initiating_time"])
    return str(latest["offboarding_id"])


# -- the scan itself ---------------------------------------------------------------------------------------------


def test_the_scan_finds_the_values_of_a_run_in_the_clear(
    feishu_connection: FeishuEmulator, run_dag: Any, airflow_db: Path, scan: Scan
) -> None:
    """The control: the same example without privacy stores the values where the scan looks (so 0 hits under
    privacy is the mode's doing, not a blind scan)."""
    expected = _csv(EXAMPLES / "data" / "offboarding_corrections.csv")
    dag_run = run_dag(BATCH, "example_feishu_batch_corrections")
    assert dag_run.state == "success"
    values = _hr_values(v for fields in expected.values() for v in fields.values())
    needles = {value: _forms(value) for value in values}
    hits = _database_hits(airflow_db, dag_run, needles)
    assert hits["xcom"] == values
    assert hits["rendered_task_instance_fields"] == values


# -- the examples ---------------------------------------------------------------------------------------------------


def test_lifecycle_stores_no_hr_value(private: FeishuEmulator, run_dag: Any, scan: Scan) -> None:
    example = _load(LIFECYCLE, "privacy_lifecycle")
    employment_id = example.lifecycle_dag.params["employment_id"]
    offboarding_id = _latest(private, employment_id)
    note_field = example.HANDOVER_NOTE_FIELD
    before = _record_values(private, [offboarding_id], ["reason_explanation", note_field])
    constants = [example.NEW_OFFBOARDING_DATE.to_date_string(), example.REASON_EXPLANATION, example.HANDOVER_NOTE]

    dag_run = run_dag(LIFECYCLE, "example_feishu_offboarding_lifecycle", prepare=_fast_polls)

    assert dag_run.state == "success"
    record = private.record(offboarding_id)
    assert (record["offboarding_date"], record[note_field]) == (constants[0], example.HANDOVER_NOTE)
    after = _record_values(private, [offboarding_id], ["reason_explanation", note_field])
    xcoms = scan.check(dag_run, [*before, *after, *constants], dag_constants=constants)
    assert xcoms["look_up_offboarding"] == {
        "offboarding_id": offboarding_id,
        "employment_id": employment_id,
        "status": "Approved",
    }
    fields = ["offboarding_date", "reason_explanation", note_field]
    _hashed_report(xcoms["edit_offboarding"], "edited", [offboarding_id], [fields])
    _hashed_report(xcoms["revoke_offboarding"], "revoked", [offboarding_id])
    _hashed_summary(xcoms["wait_until_withdrawn"], offboarding_id, "Withdrawn")


@pytest.mark.parametrize("dag_id", ["example_feishu_batch_corrections", "example_feishu_batch_corrections_mapped"])
def test_batch_corrections_store_no_hr_value(dag_id: str, private: FeishuEmulator, run_dag: Any, scan: Scan) -> None:
    expected = _csv(EXAMPLES / "data" / "offboarding_corrections.csv")
    names = sorted({name for fields in expected.values() for name in fields})
    before = _record_values(private, expected, names)

    dag_run = run_dag(BATCH, dag_id)

    assert dag_run.state == "success"
    for offboarding_id, fields in expected.items():
        record = private.record(offboarding_id)
        assert {name: record[name] for name in fields} == fields, offboarding_id
    csv_values = [v for fields in expected.values() for v in fields.values()]
    xcoms = scan.check(dag_run, [*before, *_record_values(private, expected, names), *csv_values])
    ids = list(expected)
    if dag_id == "example_feishu_batch_corrections":
        _hashed_report(xcoms["apply_corrections"], "edited", ids, [list(f) for f in expected.values()])
    else:
        assert xcoms["correction_ids"] == ids
        for index, (offboarding_id, fields) in enumerate(expected.items()):
            _hashed_report(xcoms[f"apply_correction[{index}]"], "edited", [offboarding_id], [list(fields)])
    assert xcoms["report_outcomes"]["counts"] == {"edited": len(ids)}


def test_wait_until_offboarded_stores_no_hr_value(private: FeishuEmulator, run_dag: Any, scan: Scan) -> None:
    from test_example_dags import after_searches

    employment_id = _load(WAIT, "privacy_wait").wait_dag.params["employment_id"]
    offboarding_id = _latest(private, employment_id)
    before = _record_values(private, [offboarding_id])

    with after_searches(private, 2, lambda: private.set_status(offboarding_id, "Offboarded")) as offboarded:
        dag_run = run_dag(WAIT, "example_feishu_wait_until_offboarded", prepare=_fast_polls)

    assert offboarded.is_set()
    assert dag_run.state == "success"
    xcoms = scan.check(dag_run, [*before, *_record_values(private, [offboarding_id])])
    _hashed_summary(xcoms["wait_until_offboarded"], offboarding_id, "Offboarded")
    assert xcoms["after_offboarded"]["offboarding_id"] == offboarding_id
    assert is_digest(xcoms["after_offboarded"]["offboarding_date"])


@pytest.mark.skipif(not AIRFLOW_V_3_1_PLUS, reason="the example needs the human-in-the-loop ApprovalOperator (3.1+)")
def test_plan_approve_apply_stores_no_hr_value(private: FeishuEmulator, run_dag: Any, scan: Scan) -> None:
    reviewing = _load(TESTS / "operators" / "test_example_plan_dag.py", "privacy_plan_reviewer").reviewing
    expected = _csv(EXAMPLES / "data" / "offboarding_corrections_plan.csv")
    names = sorted({name for fields in expected.values() for name in fields})
    before = _record_values(private, expected, names)

    with reviewing("Approve") as reviewer:
        dag_run = run_dag(PLAN, "example_feishu_plan_approve_apply")

    assert reviewer.error is None, reviewer.error
    assert dag_run.state == "success"
    for offboarding_id, fields in expected.items():
        record = private.record(offboarding_id)
        assert {name: record[name] for name in fields} == fields, offboarding_id
    csv_values = [v for fields in expected.values() for v in fields.values()]
    xcoms = scan.check(dag_run, [*before, *_record_values(private, expected, names), *csv_values])
    plan = xcoms["plan_corrections"]
    check_xcom(plan)
    assert plan["privacy"] is True
    assert [r["offboarding_id"] for r in plan["records"]] == list(expected)
    assert all(is_digest(c["after"]) for r in plan["records"] for c in r["changes"])
    assert all(oid in xcoms["summarize_plan"] for oid in expected)  # what the approver saw: ids, no value
    check_xcom(xcoms["apply_plan"])
    assert xcoms["apply_plan"]["privacy"] is True
    assert xcoms["report"]["counts"]["edited"] == len(expected)
    assert xcoms["report"]["verification"] == {"verified": len(expected), "mismatch": 0, "unknown": 0}


@pytest.mark.skipif(not AIRFLOW_V3, reason="event-driven scheduling (AssetWatcher) is Airflow 3")
def test_on_offboarded_watcher_payload_and_step_hold_no_hr_value(private: FeishuEmulator) -> None:
    """The asset example's own watcher, polled against the emulator: the event payload (stored by Airflow as the
    asset event's ``extra``) and what the DAG's step returns from it hold hashes, not dates.

    The run itself is not driven here (``dag.test()`` cannot hand a run triggering asset events): what it stores
    is what its step returns, checked on the payloads."""
    event_helpers = _load(TESTS / "triggers" / "event_helpers.py", "privacy_event_helpers")
    example = _load(ON_OFFBOARDED, "privacy_on_offboarded")
    (watcher,) = example.feishu_offboarded.watchers
    private.set_time(time.time())  # the watcher's window is on the real calendar
    # not today: the payload's observed_at (when the poll saw it, not an HR value) holds today's date
    three_days_ago = (dt.date.fromisoformat(event_helpers.today_in_beijing()) - dt.timedelta(days=3)).isoformat()
    offboarding_id = private.add_offboarding(
        employment_id="6982509313466189998",
        status="Withdrawn",  # a past date: the tenant calendar would move an Approved one on its own
        offboarding_date=three_days_ago,
        reason_explanation="Moving abroad with the family",
    )

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        driver = event_helpers.Driver(watcher.trigger)
        await driver.poll()  # the first sweep only remembers
        private.set_status(offboarding_id, "Offboarded")
        records: list[dict[str, Any]] = await driver.poll()
        await driver.stop()
        return records, getattr(driver, "payloads", records)  # the payloads as stored (the records if the same)

    (record,), payloads = asyncio.run(scenario())
    values = _hr_values([*_record_values(private, [offboarding_id], ["reason_explanation"])])
    assert (record["offboarding_id"], record["status"]) == (offboarding_id, "Offboarded")
    assert is_digest(record["offboarding_date"]) and is_digest(record["apply_initiating_time"]), record
    assert all(record[k] is None or is_digest(record[k]) for k in DATE_KEYS), record
    events = {
        "feishu_offboarded": [type("Event", (), {"extra": {"from_trigger": True, "payload": p}})() for p in payloads]
    }
    done = [example.deprovision(r) for r in example.records_from_asset_events(events)]
    stored = json.dumps([payloads, done])
    assert [v for v in values if any(form in stored for form in _forms(v))] == []
    assert done[0]["offboarding_id"] == offboarding_id


@pytest.mark.skipif(not AIRFLOW_V3, reason="event-driven scheduling (AssetWatcher) is Airflow 3")
def test_offboarding_push_watcher_payload_and_step_hold_no_hr_value(
    private: FeishuEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The push example's own watcher on the emulator's long connection: a pushed record and a reconciled one (a
    change made while the watcher was stopped, found at its restart), the payloads as stored and what the DAG's
    step returns from them hold hashes or nothing, not dates or reasons.

    As for the polling example, the run itself is not driven here (``dag.test()`` runs no watcher)."""
    event_helpers = _load(TESTS / "triggers" / "event_helpers.py", "privacy_push_event_helpers")
    helpers = _load(TESTS / "example_dags" / "push_run.py", "privacy_push_run")
    example = _load(PUSH, "privacy_offboarding_push")
    (watcher,) = example.feishu_offboarded_pushed.watchers
    _, kwargs = watcher.trigger.serialize()
    store = event_helpers.StoreTable(monkeypatch)
    private.set_time(time.time())  # the reconciliation window is on the real calendar
    private.configure_long_connection(client_config=helpers.FAST)
    # not today: the payload's observed_at (when the event was received, not an HR value) holds today's date
    three_days_ago = (dt.date.fromisoformat(event_helpers.today_in_beijing()) - dt.timedelta(days=3)).isoformat()
    pushed, reconciled = (
        private.add_offboarding(
            employment_id=employment_id,
            status="Withdrawn",  # a past date: the tenant calendar would move an Approved one on its own
            offboarding_date=three_days_ago,
            reason_explanation="Moving abroad with the family",
        )
        for employment_id in ("6982509313466189998", "6982509313466189997")
    )

    async def scenario() -> list[dict[str, Any]]:
        first = helpers.PushRun(type(watcher.trigger)(**kwargs), store.accessors(example.ASSET_NAME)).start()
        await helpers.until(helpers.connected_and_reconciled(private))  # the first reconciliation only remembers
        private.set_status(pushed, "Offboarded")
        await helpers.until(lambda: len(first.records(pushed)) == 1)
        await first.stop()
        await helpers.until(lambda: not private.connections())
        private.set_status(reconciled, "Offboarded")
        second = helpers.PushRun(type(watcher.trigger)(**kwargs), store.accessors(example.ASSET_NAME)).start()
        await helpers.until(lambda: len(second.records(reconciled)) == 1)
        await second.stop()
        return [*first.payloads, *second.payloads]

    payloads = asyncio.run(scenario())
    records = {r["offboarding_id"]: r for p in payloads for r in p["records"]}
    assert (records[pushed]["source"], records[reconciled]["source"]) == ("push", "reconcile")
    assert all(records[pushed][k] is None for k in DATE_KEYS), records[pushed]
    assert is_digest(records[reconciled]["offboarding_date"]), records[reconciled]
    assert all(r[k] is None or is_digest(r[k]) for r in records.values() for k in DATE_KEYS), records
    values = _hr_values(_record_values(private, [pushed, reconciled], ["reason_explanation"]))
    events = {
        example.ASSET_NAME: [type("Event", (), {"extra": {"from_trigger": True, "payload": p}})() for p in payloads]
    }
    done = [example.deprovision(r) for r in example.records_from_asset_events(events)]
    stored = json.dumps([payloads, done])
    assert values and [v for v in values if any(form in stored for form in _forms(v))] == []
    assert {d["offboarding_id"] for d in done} >= {pushed, reconciled}
