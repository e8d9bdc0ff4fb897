"""The plan document: made by ``plan_only=True``, applied by ``plan=``, rendered for a human approver.

Its shape (JSON: it travels through XCom) is in ``docs/xcom.md`` and ``docs/xcom.schema.json``; edit records
carry the change rows of :mod:`.changes`, revoke records a ``reason``. How a plan is applied: ``docs/plan-apply.md``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.fields import normalize_update_data
from airflow_provider_feishu_corehr.client.validation import optional_id, require_offboarding_id
from airflow_provider_feishu_corehr.operators.changes import CHANGED, UNCHANGED, UNKNOWN
from airflow_provider_feishu_corehr.operators.outcomes import error_info, tally
from airflow_provider_feishu_corehr.operators.records import Record, shown_id

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.operators.review import EditReview, RevokeReview

VERSION = 1
EDIT = "edit"
REVOKE = "revoke"
NONE = "none"
SKIP = "skip"
REFUSED = "refused"
_SHOWN_ROWS = 50
_SHOWN_CHARS = 60


def _record(record: Record, status: str | None, action: str) -> dict[str, Any]:
    return {
        "index": record.index,
        "offboarding_id": record.offboarding_id,
        "employment_id": record.employment_id,
        "operator_id": record.operator_id,
        "status": status,
        "action": REFUSED if record.refused is not None else action,
        "error": error_info(record.refused) if record.refused is not None else None,
    }


def _document(
    kind: str, user_id_type: str | None, records: list[dict[str, Any]], actions: tuple[str, ...]
) -> dict[str, Any]:
    return {
        "plan": kind,
        "version": VERSION,
        "user_id_type": user_id_type,
        "total": len(records),
        "counts": tally((r["action"] for r in records), actions),
        "records": records,
    }


def edit_plan(prepared: list[Record], review: EditReview, user_id_type: str | None) -> dict[str, Any]:
    """The plan of an edit batch after :meth:`EditReview.prepare`.

    :param prepared: the prepared records.
    :param review: the review that prepared them.
    :param user_id_type: id type of the employment and operator ids.
    """
    records = [
        {
            **_record(record, review.status(record), NONE if record.index in review.unchanged else EDIT),
            "changes": review.changes.get(record.index),
        }
        for record in prepared
    ]
    document = _document(EDIT, user_id_type, records, (EDIT, NONE, REFUSED))
    document["fields"] = tally(
        (c["change"] for r in records for c in r["changes"] or ()), (CHANGED, UNCHANGED, UNKNOWN)
    )
    return document


def revoke_plan(prepared: list[Record], review: RevokeReview, user_id_type: str | None) -> dict[str, Any]:
    """The plan of a revoke batch after :meth:`RevokeReview.prepare` (parameters as :func:`edit_plan`)."""
    records = [
        {
            **_record(record, review.status(record), SKIP if record.index in review.skipped else REVOKE),
            "reason": review.skipped.get(record.index),
        }
        for record in prepared
    ]
    return {**_document(REVOKE, user_id_type, records, (REVOKE, SKIP, REFUSED)), "fields": None}


def read_plan(value: Any, kind: str) -> tuple[str | None, list[dict[str, Any]]]:
    """Check a plan document (or its JSON text) of ``kind`` and return its ``user_id_type`` and records.

    :param value: the plan, as ``plan_only=True`` returned it.
    :param kind: ``"edit"`` or ``"revoke"``.
    :raises FeishuInvalidInputError: naming what is wrong with the document.
    """
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise FeishuInvalidInputError(f"plan is text but not JSON ({err.msg}); pass the plan task's XCom") from None
    if not isinstance(value, dict) or value.get("plan") not in (EDIT, REVOKE):
        raise FeishuInvalidInputError("plan must be the XCom of a task run with plan_only=True (no 'plan' kind found)")
    if value["plan"] != kind:
        raise FeishuInvalidInputError(f"plan is a {value['plan']} plan; this operator applies {kind} plans")
    if value.get("version") != VERSION:
        raise FeishuInvalidInputError(f"plan version {value.get('version')!r} is not supported (expected {VERSION})")
    records = value.get("records")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise FeishuInvalidInputError("plan 'records' must be a list of objects")
    indexes = [r.get("index") for r in records]
    if indexes != list(range(len(records))):
        raise FeishuInvalidInputError("plan 'records' must carry the indexes 0, 1, 2, ... in order")
    user_id_type = value.get("user_id_type")
    return (user_id_type if isinstance(user_id_type, str) else None), records


def planned_record(record: dict[str, Any], kind: str) -> Record:
    """The record that applies one plan record: every planned field for an edit (the review trims it), the revoke
    itself; a record refused when planned stays refused.

    :param record: one record of a plan checked by :func:`read_plan`.
    :param kind: ``"edit"`` or ``"revoke"``.
    """
    index = record["index"]
    label = f"record {index}"
    raw_id = record.get("offboarding_id")
    known_id = shown_id(raw_id)
    if record.get("action") == REFUSED:
        error = record.get("error")
        reason = (error.get("message") if isinstance(error, dict) else None) or "refused"
        return Record(index, known_id, refused=FeishuInvalidInputError(f"{label}: refused when planned: {reason}"))
    try:
        offboarding_id = require_offboarding_id("offboarding_id", raw_id, record=label)
        operator_id = optional_id("operator_id", record.get("operator_id"), record=label)
        employment_id = optional_id("employment_id", record.get("employment_id"), record=label)
        if kind == REVOKE:
            return Record(index, offboarding_id, operator_id, employment_id=employment_id)
        rows = record.get("changes")
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise FeishuInvalidInputError(f"{label}: plan 'changes' must be a list of objects")
        wanted = [{"field_name": r.get("field_name"), "value": r.get("after")} for r in rows]
        update = normalize_update_data(wanted, record=f"{label} (offboarding {offboarding_id})")
    except FeishuInvalidInputError as err:
        return Record(index, known_id, refused=err)
    return Record(index, offboarding_id, operator_id, update, employment_id)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    text = text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"
    return text.replace("|", "\\|").replace("\n", " ")


def render_plan(plan: dict[str, Any]) -> str:
    """Markdown for the approver: the counts, then one table row per field to write (or record to revoke).

    At most 50 rows are listed; values are cut to 60 characters. The approver sees the values: the
    approval form is stored in Airflow's metadata database like XCom, never in task logs.

    :param plan: a plan document.
    """
    counts = ", ".join(f"{n} {action}" for action, n in plan["counts"].items())
    lines = [f"**{plan['plan'].capitalize()} plan** for {plan['total']} offboarding(s): {counts}."]
    if plan["plan"] == EDIT:
        fields = ", ".join(f"{n} {state}" for state, n in plan["fields"].items())
        lines += [f"Fields: {fields}.", "", "| # | offboarding | status | field | before | after |"]
        lines.append("|---|---|---|---|---|---|")
        rows = [
            (r, c)
            for r in plan["records"]
            if r["action"] == EDIT
            for c in r["changes"] or ()
            if c["change"] != UNCHANGED
        ]
        for record, change in rows[:_SHOWN_ROWS]:
            before = change["before"] if change["change"] == CHANGED else f"(unknown: {change['reason']})"
            lines.append(
                f"| {record['index']} | {record['offboarding_id']} | {_cell(record['status'])} | "
                f"{_cell(change['field_name'])} | {_cell(before)} | {_cell(change['after'])} |"
            )
    else:
        lines += ["", "| # | offboarding | status | action |", "|---|---|---|---|"]
        rows = [(r, None) for r in plan["records"] if r["action"] != REFUSED]
        for record, _ in rows[:_SHOWN_ROWS]:
            action = record["action"] + (f" ({record['reason']})" if record["reason"] else "")
            lines.append(f"| {record['index']} | {record['offboarding_id']} | {_cell(record['status'])} | {action} |")
    if len(rows) > _SHOWN_ROWS:
        lines.append(f"\n… and {len(rows) - _SHOWN_ROWS} more row(s): see the plan task's XCom.")
    refused = [r for r in plan["records"] if r["action"] == REFUSED]
    for record in refused[:10]:
        lines.append(f"\nRefused: record {record['index']}: {_cell((record['error'] or {}).get('message'))}")
    return "\n".join(lines)
