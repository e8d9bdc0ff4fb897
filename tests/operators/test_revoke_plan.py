"""Revoke plans: each record's current status, no call for the no-ops, the optimistic check on apply."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_feishu_corehr.operators.offboarding import RevokeOffboardingOperator

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

STATUSES = ["Approved", "Withdrawn", "Rejected", "Approving", "Offboarded"]


@pytest.fixture
def revoke_records(feishu: FeishuEmulator) -> list[dict[str, Any]]:
    records = []
    for i, status in enumerate(STATUSES):
        employment = f"62000000000000{i:05d}"
        oid = feishu.add_offboarding(employment_id=employment, status=status)
        records.append({"offboarding_id": oid, "employment_id": employment})
    records.append({"offboarding_id": feishu.add_offboarding(employment_id="6200000000000000099")})  # no employment
    feishu.reset_counters()
    return records


def _plan(records: Any, context: dict[str, Any]) -> dict[str, Any]:
    value = RevokeOffboardingOperator(task_id="plan", offboardings=records, plan_only=True).execute(context)
    return json.loads(json.dumps(value))


def test_revoke_plan_reports_statuses_and_apply_skips_the_no_ops(
    feishu: FeishuEmulator, revoke_records: list[dict[str, Any]], context: dict[str, Any]
) -> None:
    plan = _plan(revoke_records, context)
    assert feishu.request_count("revoke") == 0
    assert feishu.request_count("search") == 1
    assert [(r["status"], r["action"], r["reason"]) for r in plan["records"]] == [
        ("Approved", "revoke", None),
        ("Withdrawn", "skip", "already_withdrawn"),
        ("Rejected", "skip", "rejected"),  # Feishu refuses to withdraw a rejected offboarding
        ("Approving", "revoke", None),
        ("Offboarded", "revoke", None),
        (None, "revoke", None),  # no employment_id: status not read, the call will tell
    ]
    assert plan["counts"] == {"revoke": 4, "skip": 2, "refused": 0}
    assert plan["fields"] is None  # a revoke writes no field

    value = RevokeOffboardingOperator(task_id="apply", plan=plan).execute(context)
    assert (value["operation"], value["mode"]) == ("revoke", "plan")
    assert value["counts"] == {
        "revoked": 4,
        "already_withdrawn": 0,
        "skipped": 2,
        "conflict": 0,
        "failed": 0,
        "unknown": 0,
        "not_sent": 0,
    }
    assert feishu.request_count("revoke") == 4
    assert [(r["outcome"], r["reason"]) for r in value["records"]] == [
        ("revoked", None),
        ("skipped", "already_withdrawn"),
        ("skipped", "rejected"),
        ("revoked", None),
        ("revoked", None),
        ("revoked", None),
    ]
    assert feishu.get_offboarding(revoke_records[2]["offboarding_id"])["status"] == "Rejected"
    assert {feishu.get_offboarding(r["offboarding_id"])["status"] for r in revoke_records} == {"Withdrawn", "Rejected"}


def test_a_status_moved_since_the_plan_is_a_conflict(
    feishu: FeishuEmulator, revoke_records: list[dict[str, Any]], context: dict[str, Any]
) -> None:
    plan = _plan(revoke_records, context)
    feishu.set_status(revoke_records[3]["offboarding_id"], "Rejected")  # the approval was rejected meanwhile
    feishu.set_status(revoke_records[0]["offboarding_id"], "Withdrawn")  # someone revoked it in the console
    with pytest.raises(AirflowFailException, match="'status' changed since the plan"):
        RevokeOffboardingOperator(task_id="apply", plan=plan).execute(context)
    records = context["ti"].pushed["return_value"]["records"]
    assert [r["outcome"] for r in records] == ["skipped", "skipped", "skipped", "conflict", "revoked", "revoked"]
    assert records[0]["reason"] == "already_withdrawn"
    assert records[3]["conflict"] == [{"field_name": "status", "planned": "Approving", "current": "Rejected"}]
    assert feishu.request_count("revoke") == 2


def test_revoke_records_are_checked(feishu: FeishuEmulator) -> None:
    from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError

    with pytest.raises(FeishuInvalidInputError, match=r"record 0: unknown key\(s\) 'employee'"):
        RevokeOffboardingOperator(task_id="r", offboardings=[{"offboarding_id": "1", "employee": "2"}])
    with pytest.raises(FeishuInvalidInputError, match="either offboarding_id or offboardings"):
        RevokeOffboardingOperator(task_id="r", offboarding_id="1", offboardings=[{"offboarding_id": "2"}])


def test_an_unknown_revoke_is_settled_by_its_employment_id(
    feishu: FeishuEmulator, revoke_records: list[dict[str, Any]], context: dict[str, Any]
) -> None:
    # both attempts are applied (the second answers 1160202) and both answers are lost: the budget ends unknown
    feishu.inject_fault("revoke", "http_500", after_processing=True, count=2)
    records = revoke_records[:1]
    value = RevokeOffboardingOperator(task_id="revoke", offboardings=records, max_workers=1).execute(context)
    assert [r["outcome"] for r in value["records"]] == ["revoked"]
    assert feishu.request_count("revoke") == 2  # settled by one look-up: no final revoke
    assert feishu.request_count("search") == 1
    assert feishu.record(records[0]["offboarding_id"])["status"] == "Withdrawn"


def test_dry_run_is_the_deprecated_name_of_plan_only(
    feishu: FeishuEmulator, revoke_records: list[dict[str, Any]], context: dict[str, Any]
) -> None:
    from airflow.exceptions import AirflowProviderDeprecationWarning

    with pytest.warns(AirflowProviderDeprecationWarning, match="dry_run is deprecated: use plan_only"):
        operator = RevokeOffboardingOperator(task_id="plan", offboardings=revoke_records, dry_run=True)
    assert operator.plan_only is True
    value = operator.execute(context)  # still makes a plan, writing nothing
    assert value == _plan(revoke_records, context)
    assert value["plan"] == "revoke" and value["counts"] == {"revoke": 4, "skip": 2, "refused": 0}
    assert feishu.request_count("revoke") == 0
