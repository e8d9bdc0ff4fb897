"""The plan -> approval -> apply example under ``dag.test()`` on SQLite against the emulator (default seed).

The approval is answered from a second thread the way Airflow 3.3 records a response from the UI or the REST API:
the ``update_hitl_detail`` route function of the core API stores the choice and resumes the waiting task.
"""

from __future__ import annotations

import csv
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import airflow
import pytest
from xcom_schema import check_xcom

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

AIRFLOW_V_3_1_PLUS = tuple(int(p) for p in airflow.__version__.split(".")[:2]) >= (3, 1)
pytestmark = pytest.mark.skipif(not AIRFLOW_V_3_1_PLUS, reason="human-in-the-loop operators need Airflow 3.1+")

EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "example_feishu_plan_approve_apply.py"
CORRECTIONS = EXAMPLE.parent / "data" / "offboarding_corrections_plan.csv"
DAG_ID = "example_feishu_plan_approve_apply"


class Reviewer:
    """Answers the approval task once it waits for input; keeps the body it was shown."""

    def __init__(self, choice: str) -> None:
        self.choice = choice
        self.body: str | None = None
        self.error: Exception | None = None
        self.answered = threading.Event()

    def answer_once_waiting(self, stop: threading.Event) -> None:
        try:
            self._answer(stop)
        except Exception as exc:  # make it visible, and end the wait so dag.test() returns
            self.error = exc
            _fail_waiting_task()

    def _answer(self, stop: threading.Event) -> None:
        from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
        from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
        from airflow.models.hitl import HITLDetail
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from sqlalchemy import select

        waiting_states = _waiting_states()
        deadline = time.monotonic() + 120
        while not stop.is_set():
            if time.monotonic() > deadline:
                raise TimeoutError("the approval task never waited for input")
            with create_session() as session:
                query = select(TaskInstance).where(
                    TaskInstance.dag_id == DAG_ID,
                    TaskInstance.task_id == "approve_plan",
                    TaskInstance.state.in_(waiting_states),
                )
                waiting = session.scalars(query).first()
                if waiting is not None:
                    detail = session.scalars(select(HITLDetail).where(HITLDetail.ti_id == waiting.id)).one()
                    self.body = detail.body
                    update_hitl_detail(
                        dag_id=DAG_ID,
                        dag_run_id=waiting.run_id,
                        task_id="approve_plan",
                        update_hitl_detail_payload=UpdateHITLDetailPayload(chosen_options=[self.choice]),
                        user=_User(),
                        session=session,
                    )
                    self.answered.set()
                    return
            stop.wait(0.2)


def _fail_waiting_task() -> None:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import update

    with create_session() as session:
        session.execute(
            update(TaskInstance)
            .where(TaskInstance.dag_id == DAG_ID, TaskInstance.state.in_(_waiting_states()))
            .values(state=TaskInstanceState.FAILED)
        )


def _waiting_states() -> list[Any]:
    """Airflow 3.3 parks a human-in-the-loop task in ``awaiting_input``; 3.1 and 3.2 defer it to a trigger."""
    from airflow.utils.state import TaskInstanceState

    return [s for s in (getattr(TaskInstanceState, "AWAITING_INPUT", None), TaskInstanceState.DEFERRED) if s]


class _User:
    def get_id(self) -> str:
        return "hr-lead"

    def get_name(self) -> str:
        return "HR lead"


@contextmanager
def reviewing(choice: str) -> Iterator[Reviewer]:
    reviewer, stop = Reviewer(choice), threading.Event()
    thread = threading.Thread(target=reviewer.answer_once_waiting, args=(stop,), daemon=True)
    thread.start()
    try:
        yield reviewer
    finally:
        stop.set()
        thread.join(timeout=10)


def _xcoms(dag_run: Any) -> dict[str, Any]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag_run.dag_id, key="return_value", map_indexes=None)
        return {row.task_id: XComModel.deserialize_value(row) for row in session.scalars(query).all()}


def _states(dag_run: Any) -> dict[str, str]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances(session=session)}


def _example() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("example_feishu_plan_approve_apply_module", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _csv() -> dict[str, dict[str, str]]:
    with CORRECTIONS.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    records: dict[str, dict[str, str]] = {}
    for row in rows:
        records.setdefault(row["offboarding_id"], {})[row["field_name"]] = row["value"]
    return records


def test_approved_plan_is_applied_and_reported(feishu_connection: FeishuEmulator, run_dag: Any) -> None:
    wanted = _csv()
    before = {oid: feishu_connection.record(oid) for oid in wanted}
    with reviewing("Approve") as reviewer:
        dag_run = run_dag(EXAMPLE, DAG_ID)
    assert reviewer.error is None, reviewer.error
    assert reviewer.answered.is_set()
    assert set(_states(dag_run).values()) == {"success"}, _states(dag_run)

    xcoms = _xcoms(dag_run)
    plan = xcoms["plan_corrections"]
    check_xcom(plan)  # the plan document and the apply step's envelope, as stored, follow the schema
    check_xcom(xcoms["apply_plan"])
    assert (xcoms["apply_plan"]["operation"], xcoms["apply_plan"]["mode"]) == ("edit", "plan")
    assert plan["counts"] == {"edit": 4, "none": 0, "refused": 0}
    assert reviewer.body == xcoms["summarize_plan"]  # the approver saw the rendered plan
    first = next(iter(wanted))
    old, new = before[first]["offboarding_date"], wanted[first]["offboarding_date"]
    employment = plan["records"][0]["employment_id"]
    row = f"| {first} (employment {employment}) | Approved | Offboarding date (offboarding_date) | {old} | {new} |"
    assert row in reviewer.body
    assert "### Already holding the planned value: not written (1 field)" in reviewer.body

    for oid, fields in wanted.items():
        record = feishu_connection.record(oid)
        for name, value in fields.items():
            assert record[name] == value, (oid, name)
    unchanged = [(c["field_name"]) for r in plan["records"] for c in r["changes"] if c["change"] == "unchanged"]
    assert unchanged == ["reason"]  # 7095671727698478625 already had that reason
    assert before["7095671727698478625"]["reason"] == wanted["7095671727698478625"]["reason"]
    # exactly the changed fields were written, one edit per record
    assert feishu_connection.request_count("edit", code=0) == 4
    assert xcoms["report"] == {
        "applied": True,
        "counts": {"edited": 4, "failed": 0, "unknown": 0, "not_sent": 0, "unchanged": 0, "conflict": 0},
        "conflicts": [],
        "verification": {"verified": 4, "mismatch": 0, "unknown": 0},
    }


def test_rejected_plan_writes_nothing(feishu_connection: FeishuEmulator, run_dag: Any) -> None:
    with reviewing("Reject") as reviewer:
        dag_run = run_dag(EXAMPLE, DAG_ID)
    assert reviewer.error is None, reviewer.error
    assert reviewer.answered.is_set()
    states = _states(dag_run)
    assert states["approve_plan"] == "success"  # the approver answered
    assert states["apply_plan"] == "skipped"
    assert states["report"] == "failed"  # "plan rejected by HR lead: nothing was written to Feishu"
    assert str(dag_run.state) == "failed"  # not green like an applied run
    assert feishu_connection.request_count("edit") == 0
    assert "report" not in _xcoms(dag_run)


def test_the_report_says_who_rejected_the_plan() -> None:
    """The report's outcome when the apply step did not run (the task function the DAG runs)."""
    from airflow.providers.common.compat.sdk import AirflowFailException

    class _TI:
        def __init__(self, answer: Any) -> None:
            self.answer = answer

        def xcom_pull(self, task_ids: str) -> Any:
            assert task_ids == "approve_plan"
            return self.answer

    module = _example()
    rejected = {"chosen_options": ["Reject"], "responded_by_user": {"id": "hr-lead", "name": "HR lead"}}
    with pytest.raises(AirflowFailException, match=r"^plan rejected by HR lead: nothing was written to Feishu$"):
        module.report.function(None, ti=_TI(rejected))
    with pytest.raises(AirflowFailException, match="an earlier step did not succeed; nothing was written"):
        module.report.function(None, ti=_TI(None))
