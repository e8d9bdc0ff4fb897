"""The plan document: made by ``plan_only=True``, applied by ``plan=``, rendered for a human approver.

Its shape (JSON: it travels through XCom) is in ``docs/xcom.md`` and ``docs/xcom.schema.json``; edit records
carry the change rows of :mod:`.changes`, revoke records a ``reason``. How a plan is applied: ``docs/plan-apply.md``;
how it is shown to the person who approves it: :mod:`.plan_render`.
"""

from __future__ import annotations

import json
import reprlib
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
ACTIONS = {EDIT: (EDIT, NONE, REFUSED), REVOKE: (REVOKE, SKIP, REFUSED)}
"""The actions a plan of each kind may hold."""

# Bounds of a plan document, checked before anything else is read from it (docs/plan-apply.md, "Bounds").
MAX_PLAN_RECORDS = 10_000
"""Records in one plan; split a larger batch over several tasks (dynamic task mapping)."""
MAX_PLAN_TEXT = 50_000_000
"""Characters of a plan given as JSON text (a 10,000-record plan of one changed field is about 4 MB)."""
MAX_PLAN_DEPTH = 10
"""Nesting of lists and objects in a plan (what ``plan_only`` makes nests 5 deep); deeper is refused before any
recursive code (``json``, XCom serialization) sees it."""
_SHOWN_VALUE = 40
_CONTAINERS = (dict, list, tuple)


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
    """The plan of an edit batch after :meth:`EditReview.prepare`; ``labels`` holds the names the search gave the
    custom fields it lists (for people: :mod:`.plan_render`).

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
    named = {c["field_name"] for r in records for c in r["changes"] or ()}
    labels = {name: label for current in review.current.values() for name, label in current.labels.items()}
    document["labels"] = {name: labels[name] for name in sorted(named & labels.keys())}
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

    Refused, before any request: a document past the bounds (:data:`MAX_PLAN_TEXT`, :data:`MAX_PLAN_RECORDS`,
    :data:`MAX_PLAN_DEPTH`), a record whose ``action`` is not one of the kind's :data:`ACTIONS`, and an offboarding
    that two records would apply (a plan applies each offboarding once).

    :param value: the plan, as ``plan_only=True`` returned it.
    :param kind: ``"edit"`` or ``"revoke"``.
    :raises FeishuInvalidInputError: naming what is wrong with the document (the record, the rule).
    """
    if isinstance(value, str):
        value = _parse_text(value)
    if not isinstance(value, dict) or value.get("plan") not in (EDIT, REVOKE):
        raise FeishuInvalidInputError("plan must be the XCom of a task run with plan_only=True (no 'plan' kind found)")
    if value["plan"] != kind:
        raise FeishuInvalidInputError(f"plan is a {value['plan']} plan; this operator applies {kind} plans")
    if value.get("version") != VERSION:
        raise FeishuInvalidInputError(f"plan version {value.get('version')!r} is not supported (expected {VERSION})")
    records = value.get("records")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise FeishuInvalidInputError("plan 'records' must be a list of objects")
    if len(records) > MAX_PLAN_RECORDS:
        raise FeishuInvalidInputError(
            f"plan has {len(records)} records; a plan holds at most {MAX_PLAN_RECORDS}: split the batch over "
            "several tasks (e.g. dynamic task mapping), one plan each"
        )
    _check_depth(value)
    indexes = [r.get("index") for r in records]
    if indexes != list(range(len(records))):
        raise FeishuInvalidInputError("plan 'records' must carry the indexes 0, 1, 2, ... in order")
    _check_actions(records, kind)
    user_id_type = value.get("user_id_type")
    return (user_id_type if isinstance(user_id_type, str) else None), records


def _parse_text(text: str) -> Any:
    """The plan in JSON ``text``, within :data:`MAX_PLAN_TEXT` characters and :data:`MAX_PLAN_DEPTH` levels."""
    if len(text) > MAX_PLAN_TEXT:
        raise FeishuInvalidInputError(
            f"plan text is {len(text)} characters; a plan holds at most {MAX_PLAN_TEXT} (and {MAX_PLAN_RECORDS} "
            "records): split the batch over several tasks"
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise FeishuInvalidInputError(f"plan is text but not JSON ({err.msg}); pass the plan task's XCom") from None
    except RecursionError:  # the decoder's own guard: nested past the interpreter's limit
        raise FeishuInvalidInputError(
            f"plan JSON nests lists or objects deeper than {MAX_PLAN_DEPTH} levels; pass the plan task's XCom"
        ) from None


def _too_deep(value: Any, limit: int) -> bool:
    """Whether lists and objects nest in ``value`` more than ``limit`` levels (level by level: any depth is safe)."""
    level, depth = [value], 1
    while level:
        if depth > limit:
            return True
        below = []
        for node in level:
            for child in node.values() if isinstance(node, dict) else node:
                if isinstance(child, _CONTAINERS):
                    below.append(child)
        level, depth = below, depth + 1
    return False


def _check_depth(document: dict[str, Any]) -> None:
    """Refuse a document nested past :data:`MAX_PLAN_DEPTH`, naming the record when it is one."""
    if not _too_deep(document, MAX_PLAN_DEPTH):
        return
    for index, record in enumerate(document["records"]):
        if _too_deep(record, MAX_PLAN_DEPTH - 2):
            raise FeishuInvalidInputError(
                f"record {index}: nests lists or objects deeper than a plan may ({MAX_PLAN_DEPTH} levels in all)"
            )
    key = next(
        k for k, v in document.items() if isinstance(v, dict | list | tuple) and _too_deep(v, MAX_PLAN_DEPTH - 1)
    )
    raise FeishuInvalidInputError(f"plan {shown_value(key)}: nests deeper than {MAX_PLAN_DEPTH} levels")


def _check_actions(records: list[dict[str, Any]], kind: str) -> None:
    """Refuse an action the kind does not have, and an offboarding two records would apply."""
    applied: dict[str, int] = {}
    for index, record in enumerate(records):
        action = record.get("action")
        if action not in ACTIONS[kind]:
            raise FeishuInvalidInputError(
                f"record {index}: action {shown_value(action)} is not an action of a plan of kind {kind} "
                f"({', '.join(ACTIONS[kind])}); nothing was sent"
            )
        offboarding_id = record.get("offboarding_id")
        if action == REFUSED or not isinstance(offboarding_id, str):
            continue  # a refused record is not applied; a bad id is refused on its own (planned_record)
        first = applied.setdefault(offboarding_id, index)
        if first != index:
            raise FeishuInvalidInputError(
                f"record {index}: offboarding {shown_value(offboarding_id)} is also record {first}: a plan applies "
                "each offboarding once; nothing was sent (make the plan again from records that list it once)"
            )


def shown_value(value: Any) -> str:
    """A value of a refused plan as an error message shows it: its ``repr``, cut to 40 characters.

    :param value: the value.
    """
    text = reprlib.repr(value)
    return text if len(text) <= _SHOWN_VALUE else text[: _SHOWN_VALUE - 1] + "…"


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
