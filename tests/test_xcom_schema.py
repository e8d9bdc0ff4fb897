"""The schema itself: valid JSON Schema, and it refuses what the contract excludes."""

from __future__ import annotations

import copy

import jsonschema
import pytest
from xcom_schema import SCHEMA, VALIDATOR, check_xcom

EDITED = {
    "operation": "edit",
    "mode": "direct",
    "user_id_type": None,
    "total": 1,
    "counts": {"edited": 1, "unchanged": 0, "conflict": 0, "failed": 0, "unknown": 0, "not_sent": 0},
    "verification": None,
    "records": [
        {
            "index": 0,
            "offboarding_id": "7095671727698478604",
            "employment_id": None,
            "outcome": "edited",
            "field_names": ["offboarding_date"],
            "fields": [{"field_name": "offboarding_date", "value": "2026-07-31"}],
            "status": None,
            "changes": None,
            "conflict": None,
            "settled_by": None,
            "seen": None,
            "verify": None,
            "verification": None,
            "log_id": "2026x",
            "error": None,
        }
    ],
}


def test_the_schema_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    check_xcom(EDITED)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("counts", "surprise"), 1),  # counts have a fixed set of keys
        (("mode",), "batch"),
        (("records", 0, "outcome"), "revoked"),  # an edit has no revoke outcome
        (("records", 0, "extra"), 1),
    ],
)
def test_the_schema_refuses_what_the_contract_excludes(path: tuple[object, ...], value: object) -> None:
    broken = copy.deepcopy(EDITED)
    target = broken
    for key in path[:-1]:
        target = target[key]  # type: ignore[index]
    target[path[-1]] = value  # type: ignore[index]
    assert not VALIDATOR.is_valid(broken)


def test_a_missing_key_is_refused() -> None:
    broken = copy.deepcopy(EDITED)
    del broken["records"][0]["verification"]  # type: ignore[index, attr-defined]
    assert not VALIDATOR.is_valid(broken)


REVOKED = {
    "operation": "revoke",
    "mode": "plan",
    "user_id_type": "people_corehr_id",
    "total": 1,
    "counts": {
        "revoked": 0,
        "already_withdrawn": 0,
        "skipped": 1,
        "conflict": 0,
        "failed": 0,
        "unknown": 0,
        "not_sent": 0,
    },
    "verification": None,
    "records": [
        {
            "index": 0,
            "offboarding_id": "7095671727698478608",
            "employment_id": "6982509313466189341",
            "outcome": "skipped",
            "log_id": None,
            "error": None,
            "status": "Withdrawn",
            "reason": "already_withdrawn",
            "conflict": None,
            "settled_by": None,
        }
    ],
}
REVOKE_PLAN = {
    "plan": "revoke",
    "version": 1,
    "user_id_type": None,
    "total": 1,
    "counts": {"revoke": 1, "skip": 0, "refused": 0},
    "fields": None,
    "records": [
        {
            "index": 0,
            "offboarding_id": "7095671727698478604",
            "employment_id": None,
            "operator_id": None,
            "status": None,
            "action": "revoke",
            "reason": None,
            "error": None,
        }
    ],
}


@pytest.mark.parametrize(
    ("value", "path", "wrong"),
    [
        (REVOKED, ("verification",), {"verified": 1, "mismatch": 0, "unknown": 0}),  # a revoke has no read-back
        (REVOKED, ("total",), -1),
        (REVOKED, ("records", 0, "outcome"), "edited"),
        (REVOKE_PLAN, ("fields",), {"changed": 0, "unchanged": 0, "unknown": 0}),  # a revoke plan sets no field
        (REVOKE_PLAN, ("counts", "edit"), 0),
        (REVOKE_PLAN, ("version",), 2),
    ],
)
def test_revoke_envelopes_and_plans(value: dict[str, object], path: tuple[object, ...], wrong: object) -> None:
    check_xcom(value)
    broken = copy.deepcopy(value)
    target: object = broken
    for key in path[:-1]:
        target = target[key]  # type: ignore[index]
    target[path[-1]] = wrong  # type: ignore[index]
    assert not VALIDATOR.is_valid(broken)


def test_a_revoke_count_missing_is_refused() -> None:
    broken = copy.deepcopy(REVOKED)
    del broken["counts"]["skipped"]  # type: ignore[attr-defined]
    assert not VALIDATOR.is_valid(broken)


def test_values_the_operators_produce_in_this_process_are_checked() -> None:
    """The session fixture of ``tests/conftest.py`` checks what ``run_batch`` returns and what ``_push`` pushes."""
    from xcom_schema import checked

    from airflow_provider_feishu_corehr.operators.offboarding import RevokeOffboardingOperator

    class PlainTI:
        def __init__(self) -> None:
            self.pushed: dict[str, object] = {}

        def xcom_push(self, key: str, value: object) -> None:
            self.pushed[key] = value

    before = len(checked)
    ti = PlainTI()
    value = RevokeOffboardingOperator(task_id="r", offboarding_id=[]).execute({"ti": ti})  # type: ignore[arg-type]
    plan = RevokeOffboardingOperator(task_id="p", offboarding_id=[], plan_only=True).execute({"ti": ti})  # type: ignore[arg-type]
    assert (value["total"], plan["total"]) == (0, 0)
    assert checked[before:] == ["revoke", "plan:revoke"]
    operator = RevokeOffboardingOperator(task_id="r", offboarding_id=[])
    with pytest.raises(jsonschema.ValidationError):
        operator._push({"ti": ti}, {"operation": "revoke"})  # type: ignore[arg-type]
    assert ti.pushed == {}
