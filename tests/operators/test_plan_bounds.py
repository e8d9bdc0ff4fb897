"""A plan is applied exactly once per record, and a plan document is bounded (issue 18, part 5).

Refused with a typed error naming the record and the rule, before any request: an offboarding two records would
apply, an action the plan's kind does not have, nesting past ``MAX_PLAN_DEPTH`` (never a ``RecursionError``), more
than ``MAX_PLAN_RECORDS`` records, JSON text past ``MAX_PLAN_TEXT`` characters (``docs/plan-apply.md``, "Bounds").
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator, RevokeOffboardingOperator
from airflow_provider_feishu_corehr.operators.plan import (
    MAX_PLAN_DEPTH,
    MAX_PLAN_RECORDS,
    MAX_PLAN_TEXT,
    read_plan,
)

if TYPE_CHECKING:
    from plan_helpers import Batch

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

CORRECTION = {"offboarding_date": "2027-07-31"}


def _edit_plan(batch: Batch, context: dict[str, Any]) -> dict[str, Any]:
    operator = EditOffboardingOperator(task_id="plan", offboardings=batch.records(CORRECTION), plan_only=True)
    plan: dict[str, Any] = json.loads(json.dumps(operator.execute(context)))  # what XCom hands to the next task
    return plan


def _apply_rendered(plan: Any, context: dict[str, Any], kind: str = "edit") -> None:
    """Apply ``plan`` as a template renders it (not checked at DAG parse): the task fails before any request."""
    cls = EditOffboardingOperator if kind == "edit" else RevokeOffboardingOperator
    operator = cls(task_id="apply", plan="{{ ti.xcom_pull('plan') }}")
    operator.plan = plan
    operator.execute(context)


def _revoke_record(index: int, offboarding_id: str, action: str = "revoke") -> dict[str, Any]:
    return {
        "index": index,
        "offboarding_id": offboarding_id,
        "employment_id": None,
        "operator_id": None,
        "status": None,
        "action": action,
        "reason": None,
        "error": None,
    }


def _revoke_plan(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"plan": "revoke", "version": 1, "user_id_type": None, "total": len(records), "records": records}


# -- exactly once per record ----------------------------------------------------------------------------------


def test_an_offboarding_listed_twice_is_refused_before_any_request(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    plan = _edit_plan(batch, context)
    twin = copy.deepcopy(plan["records"][1])
    twin["changes"][0]["after"] = "2027-08-31"  # the same offboarding, another value: order would decide
    plan["records"][3] = {**twin, "index": 3}
    feishu.reset_counters()
    with pytest.raises(AirflowFailException) as info:
        _apply_rendered(plan, context)
    message = str(info.value)
    assert f"record 3: offboarding '{batch.ids[1]}' is also record 1" in message
    assert "a plan applies each offboarding once" in message
    assert feishu.requests == []
    with pytest.raises(FeishuInvalidInputError, match="is also record 1"):  # a static plan: a DAG error
        EditOffboardingOperator(task_id="apply", plan=plan)


def test_a_refused_copy_does_not_count_as_applied(feishu: FeishuEmulator) -> None:
    # A plan made from input that listed one offboarding twice holds both copies as refused: not applied.
    offboarding = "7095671727698478604"
    records = [_revoke_record(0, offboarding, "refused"), _revoke_record(1, offboarding, "refused")]
    assert read_plan(_revoke_plan(records), "revoke")[1] == records
    records[1]["action"] = "revoke"
    assert read_plan(_revoke_plan(records), "revoke")[1] == records


@pytest.mark.parametrize(
    ("kind", "action"),
    [("revoke", "edit"), ("revoke", "delete"), ("revoke", None), ("edit", "revoke"), ("edit", "skip")],
)
def test_an_unknown_action_is_refused_naming_the_record(kind: str, action: Any) -> None:
    record = _revoke_record(0, "7095671727698478604", "revoke" if kind == "revoke" else "none")
    plan = _revoke_plan([record, {**record, "index": 1, "offboarding_id": "7095671727698478605", "action": action}])
    plan["plan"] = kind
    allowed = "revoke, skip, refused" if kind == "revoke" else "edit, none, refused"
    with pytest.raises(FeishuInvalidInputError) as info:
        read_plan(plan, kind)
    assert str(info.value).startswith(
        f"record 1: action {action!r} is not an action of a plan of kind {kind} ({allowed})"
    )


def test_an_unknown_action_fails_the_task_before_any_request(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    plan = _edit_plan(batch, context)
    plan["records"][2]["action"] = "edit_twice"
    feishu.reset_counters()
    with pytest.raises(
        AirflowFailException, match="record 2: action 'edit_twice' is not an action of a plan of kind edit"
    ):
        _apply_rendered(plan, context)
    assert feishu.requests == []


# -- bounds ---------------------------------------------------------------------------------------------------


def _nested(depth: int) -> list[Any]:
    """Lists nested ``depth`` deep, built without recursion."""
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [MAX_PLAN_DEPTH + 1, 100_000])
def test_deeply_nested_json_text_is_refused_not_a_recursion_error(feishu: FeishuEmulator, depth: int) -> None:
    inner = "[" * depth + "]" * depth
    text = json.dumps(_revoke_plan([_revoke_record(0, "7095671727698478604")]))
    text = text.replace('"error": null', f'"error": {inner}')
    with pytest.raises(FeishuInvalidInputError, match="deeper than"):
        read_plan(text, "revoke")
    with pytest.raises(AirflowFailException, match="deeper than"):
        _apply_rendered(text, {"ti": None}, "revoke")
    assert feishu.requests == []


@pytest.mark.parametrize("where", ["records", "counts"])
def test_deeply_nested_objects_are_refused_naming_the_record(where: str) -> None:
    plan = _revoke_plan([_revoke_record(0, "7095671727698478604"), _revoke_record(1, "7095671727698478605")])
    if where == "records":
        plan["records"][1]["error"] = _nested(100_000)
        rule = "record 1: nests lists or objects deeper than a plan may"
    else:
        plan["counts"] = _nested(100_000)
        rule = "plan 'counts': nests deeper than"
    with pytest.raises(FeishuInvalidInputError, match=rule):
        read_plan(plan, "revoke")


def test_a_plan_as_deep_as_plan_only_makes_is_accepted(batch: Batch, context: dict[str, Any]) -> None:
    plan = _edit_plan(batch, context)
    assert len(read_plan(plan, "edit")[1]) == len(batch.ids)
    assert len(read_plan(json.dumps(plan), "edit")[1]) == len(batch.ids)


def test_more_records_than_the_bound_are_refused() -> None:
    ids = [str(7_000_000_000_000_000_000 + i) for i in range(MAX_PLAN_RECORDS + 1)]
    records = [_revoke_record(i, oid) for i, oid in enumerate(ids)]
    assert len(read_plan(_revoke_plan(records[:MAX_PLAN_RECORDS]), "revoke")[1]) == MAX_PLAN_RECORDS
    with pytest.raises(FeishuInvalidInputError, match=f"plan has {MAX_PLAN_RECORDS + 1} records; a plan holds at most"):
        read_plan(_revoke_plan(records), "revoke")


def test_json_text_larger_than_the_bound_is_refused_before_parsing(feishu: FeishuEmulator) -> None:
    text = json.dumps(_revoke_plan([])) + " " * MAX_PLAN_TEXT  # valid JSON, too long
    with pytest.raises(FeishuInvalidInputError, match=f"plan text is {len(text)} characters; a plan holds at most"):
        read_plan(text, "revoke")
    with pytest.raises(AirflowFailException, match="plan text is"):
        _apply_rendered(text, {"ti": None}, "revoke")
    assert feishu.requests == []
