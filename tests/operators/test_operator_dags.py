"""The operators inside DAGs run by ``dag.test()`` on SQLite against the emulator: templating, XCom, a failed
batch's report, dynamic task mapping. Every operator report read back from the metadata database follows
``docs/xcom.schema.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_lanes import xcom_entries
from operator_seed import APPROVED, APPROVING, NO_NEED_APPROVAL, UNKNOWN, WITHDRAWN
from xcom_schema import check_xcom

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

DAGS = Path(__file__).parent / "dags"


def _states(dag_run: Any) -> dict[tuple[str, int], str]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return {(ti.task_id, ti.map_index): str(ti.state) for ti in dag_run.get_task_instances(session=session)}


def _tries(dag_run: Any, task_id: str) -> dict[int, int]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return {
            ti.map_index: ti.try_number for ti in dag_run.get_task_instances(session=session) if ti.task_id == task_id
        }


def _xcom(dag_run: Any, task_id: str, map_index: int = -1) -> Any:
    rows = xcom_entries(dag_run, task_ids=task_id, map_indexes=map_index)
    assert len(rows) == 1, f"expected one return_value of {task_id}[{map_index}], got {len(rows)}"
    return rows[0][3]


def _report(dag_run: Any, task_id: str, map_index: int = -1) -> dict[str, Any]:
    """An operator's XCom envelope as stored, checked against the schema."""
    value = _xcom(dag_run, task_id, map_index)
    check_xcom(value)
    assert isinstance(value, dict) and "operation" in value, value  # an envelope, not a plan
    return value


def _one(dag_run: Any, task_id: str, map_index: int = -1) -> dict[str, Any]:
    """The one record of the envelope of a one-id task."""
    value = _report(dag_run, task_id, map_index)
    assert value["total"] == len(value["records"]) == 1
    record: dict[str, Any] = value["records"][0]
    return record


EDITABLE = "7095671727698478623"  # default seed: a plain Approved record (an Offboarded one answers 1160631)
EDIT_COUNTS = dict.fromkeys(("edited", "unchanged", "conflict", "failed", "unknown", "not_sent"), 0)


def test_templating_from_params_and_upstream_xcom(fast_feishu: FeishuEmulator, run_dag: Any) -> None:
    conf = {
        "edit_id": EDITABLE,
        "offboarding_date": "2026-04-30",
        "user_id_type": "people_corehr_id",
        "xcom_edit_ids": [APPROVED, NO_NEED_APPROVAL],
        "revoke_ids": [APPROVING, WITHDRAWN],
    }
    dag_run = run_dag(DAGS / "operators_templating.py", "feishu_operators_templating", run_conf=conf)
    states = _states(dag_run)
    assert set(states.values()) == {"success"}, states

    assert _report(dag_run, "edit_from_params")["user_id_type"] == "people_corehr_id"
    edited = _one(dag_run, "edit_from_params")
    assert edited["offboarding_id"] == EDITABLE
    assert edited["outcome"] == "edited"
    assert fast_feishu.record(EDITABLE)["offboarding_date"] == "2026-04-30"
    assert fast_feishu.record(EDITABLE)["exit_interview_done__c"] == "true"

    from_xcom = _report(dag_run, "edit_from_xcom")
    assert from_xcom["counts"] == {**EDIT_COUNTS, "edited": 2}
    assert fast_feishu.record(APPROVED)["handover_note__c"] == "correction 0"
    assert fast_feishu.record(NO_NEED_APPROVAL)["handover_note__c"] == "correction 1"

    revoked = _report(dag_run, "revoke_from_template")
    assert [(r["offboarding_id"], r["outcome"]) for r in revoked["records"]] == [
        (APPROVING, "revoked"),
        (WITHDRAWN, "already_withdrawn"),
    ]
    assert fast_feishu.get_offboarding(APPROVING)["status"] == "Withdrawn"


def test_mapped_revoke(fast_feishu: FeishuEmulator, run_dag: Any) -> None:
    ids = [APPROVED, WITHDRAWN, NO_NEED_APPROVAL]
    dag_run = run_dag(DAGS / "operators_mapped.py", "feishu_operators_mapped", run_conf={"ids": ids})
    states = _states(dag_run)
    assert states == {
        ("offboardings_to_revoke", -1): "success",
        ("revoke", 0): "success",
        ("revoke", 1): "success",
        ("revoke", 2): "success",
        ("outcomes", -1): "success",
        ("same_id", 0): "success",
        ("same_id", 1): "success",
        ("same_id", 2): "success",
        ("revoke_again", -1): "success",
    }
    for map_index, (offboarding_id, outcome) in enumerate(
        [(APPROVED, "revoked"), (WITHDRAWN, "already_withdrawn"), (NO_NEED_APPROVAL, "revoked")]
    ):
        record = _one(dag_run, "revoke", map_index)
        assert (record["offboarding_id"], record["outcome"]) == (offboarding_id, outcome)
    assert _xcom(dag_run, "outcomes") == {
        APPROVED: "revoked",
        WITHDRAWN: "already_withdrawn",
        NO_NEED_APPROVAL: "revoked",
    }
    again = _report(dag_run, "revoke_again")
    assert [(r["offboarding_id"], r["outcome"]) for r in again["records"]] == [(i, "already_withdrawn") for i in ids]
    assert fast_feishu.request_count("revoke") == 6


def test_mapped_revoke_bad_instances_fail_without_retry(fast_feishu: FeishuEmulator, run_dag: Any) -> None:
    ids = [APPROVED, UNKNOWN, "  "]
    dag_run = run_dag(DAGS / "operators_mapped.py", "feishu_operators_mapped", run_conf={"ids": ids})
    states = _states(dag_run)
    assert states[("revoke", 0)] == "success"
    assert states[("revoke", 1)] == "failed"  # 1160201 from Feishu
    assert states[("revoke", 2)] == "failed"  # blank id: refused when the mapped operator is built
    assert states[("revoke_again", -1)] == "upstream_failed"
    assert _tries(dag_run, "revoke") == {0: 1, 1: 1, 2: 1}  # retries=2, none used
    failed = _one(dag_run, "revoke", 1)
    assert failed["outcome"] == "failed"
    assert failed["error"]["code"] == 1160201
    assert fast_feishu.request_count("revoke") == 2


def test_batch_of_200_with_5_bad_records(fast_feishu: FeishuEmulator, run_dag: Any) -> None:
    good = [fast_feishu.add_offboarding(employment_id=f"6920000000000000{i:03d}") for i in range(195)]
    records: list[dict[str, Any]] = [
        {"offboarding_id": oid, "update_data": {"handover_note__c": f"batch {n}", "severance_months__c": n % 7}}
        for n, oid in enumerate(good)
    ]
    bad = {
        17: {"offboarding_id": UNKNOWN, "update_data": {"handover_note__c": "x"}},  # 1160625 from Feishu
        60: {"offboarding_id": APPROVING, "update_data": {"handover_note__c": "x"}},  # 1160623: not approved
        99: {"offboarding_id": EDITABLE, "update_data": {"exit_channel__c": "channel_pigeon"}},  # 1160619
        150: {"offboarding_id": APPROVED, "update_data": {"status": "Withdrawn"}},  # refused: not editable
        190: {"offboarding_id": NO_NEED_APPROVAL, "update_data": {"handover_note__c": None}},  # refused: None
    }
    for index in sorted(bad):
        records.insert(index, bad[index])
    assert len(records) == 200

    dag_run = run_dag(DAGS / "operators_batch.py", "feishu_operators_batch", run_conf={"records": records})
    states = _states(dag_run)
    assert states[("edit", -1)] == "failed"
    assert states[("summary", -1)] == "success"  # downstream (all_done) read the failed task's report

    report = _report(dag_run, "edit")
    assert report["total"] == 200
    assert report["counts"] == {**EDIT_COUNTS, "edited": 195, "failed": 5}
    assert [r["index"] for r in report["records"]] == list(range(200))
    failed = {r["index"]: r for r in report["records"] if r["outcome"] == "failed"}
    assert sorted(failed) == sorted(bad)
    assert {i: (failed[i]["error"]["kind"], failed[i]["error"]["code"]) for i in failed} == {
        17: ("business", 1160625),
        60: ("business", 1160623),
        99: ("business", 1160619),
        150: ("invalid_input", None),
        190: ("invalid_input", None),
    }
    assert all(failed[i]["error"]["log_id"] for i in (17, 60, 99))
    assert _xcom(dag_run, "summary") == {**EDIT_COUNTS, "edited": 195, "failed": 5}

    # The emulator saw exactly the 198 valid records and applied the 195 good ones.
    assert fast_feishu.request_count("edit") == 198
    for n, oid in enumerate(good):
        stored = fast_feishu.record(oid)
        assert (stored["handover_note__c"], stored["severance_months__c"]) == (f"batch {n}", str(n % 7))
    edited = {r["offboarding_id"]: r for r in report["records"] if r["outcome"] == "edited"}
    assert set(edited) == set(good)
    assert edited[good[3]]["fields"] == [
        {"field_name": "handover_note__c", "value": "batch 3"},
        {"field_name": "severance_months__c", "value": "3"},
    ]
    assert fast_feishu.get_offboarding(APPROVED)["status"] == "Approved"
    assert fast_feishu.app_secret not in json.dumps(report)


def test_mapped_edit_with_expand_kwargs(fast_feishu: FeishuEmulator, run_dag: Any) -> None:
    records = [
        {"offboarding_id": APPROVED, "update_data": {"offboarding_date": "2026-07-31"}},
        {"offboarding_id": EDITABLE, "update_data": [{"field_name": "exit_tags__c", "value": ["tag_alumni"]}]},
    ]
    dag_run = run_dag(DAGS / "operators_mapped_edit.py", "feishu_operators_mapped_edit", run_conf={"records": records})
    states = _states(dag_run)
    assert states == {("corrections", -1): "success", ("edit", 0): "success", ("edit", 1): "success"}
    assert _one(dag_run, "edit", 0)["field_names"] == ["offboarding_date"]
    assert _one(dag_run, "edit", 1)["fields"] == [{"field_name": "exit_tags__c", "value": '["tag_alumni"]'}]
    assert fast_feishu.record(APPROVED)["offboarding_date"] == "2026-07-31"
    assert json.loads(fast_feishu.record(EDITABLE)["exit_tags__c"]) == ["tag_alumni"]
