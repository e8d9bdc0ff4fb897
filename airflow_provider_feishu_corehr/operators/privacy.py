"""Privacy mode: the one rule of which keys carry HR values, and how they are hashed (``docs/privacy.md``).

Under privacy (the connection extra ``privacy``, or ``privacy=True`` on an operator) no field value leaves a task
in the clear: the XCom report and plan keep ids, field names, statuses and outcomes, and every value becomes
``hmac-sha256:<64 hex>`` by :func:`..client.privacy.digest` (the hash and its key live there, shared with the
sensor and the triggers); this module knows which keys of the operators' reports and arguments carry values.

:func:`hide_report` applies the rule to an envelope or a plan (:mod:`.batch` calls it on every XCom it returns or
pushes); :func:`hide_arguments` to the rendered template fields, which Airflow stores in its metadata database;
:func:`plan_records` applies a hashed edit plan with the values given again. No Airflow import here.
"""

from __future__ import annotations

import hmac
import json
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.fields import normalize_update_data
from airflow_provider_feishu_corehr.client.privacy import digest, privacy_key
from airflow_provider_feishu_corehr.operators.records import Record, as_list

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from airflow_provider_feishu_corehr.client.models import ClientSettings, FieldValue

ROW_VALUES: dict[str, tuple[str, ...]] = {
    "fields": ("value",),
    "changes": ("before", "after", "before_display", "after_display"),
    "verify": ("expected", "read_back"),
    "conflict": ("planned", "current"),
    "seen": ("value",),
}
"""The rows of an XCom record (envelope or plan) that carry values: row list -> its value keys. Every row names its
field in ``field_name``; a ``conflict`` row of ``field_name`` ``status`` keeps the status (a workflow state, like
``status`` and ``outcome``, not a field value)."""
ARGUMENTS = ("update_data", "offboardings", "plan")
"""The template fields that carry values; the others hold ids, the id type and the connection id."""


class Hashed:
    """A hashed value that compares equal to the clear value it was made from (a plan's ``before``, checked
    against the value read now while a hashed plan is applied).

    :param key: the hashing key.
    :param field_name: the field.
    :param text: the hashed value.
    """

    def __init__(self, key: bytes, field_name: str, text: str) -> None:
        self.key, self.field_name, self.text = key, field_name, text

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Hashed):
            return other.text == self.text
        return hmac.compare_digest(digest(self.key, self.field_name, other) or "", self.text)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self.text)

    def __str__(self) -> str:
        return self.text


def _rows(key: bytes, name: str, rows: Any) -> Any:
    if not isinstance(rows, list):
        return rows
    hidden = []
    for row in rows:
        if isinstance(row, dict) and not (name == "conflict" and row.get("field_name") == "status"):
            field_name = str(row.get("field_name"))
            row = {k: digest(key, field_name, v) if k in ROW_VALUES[name] else v for k, v in row.items()}
        hidden.append(row)
    return hidden


def hide_report(value: dict[str, Any], key: bytes | None) -> dict[str, Any]:
    """The XCom envelope or plan with every value hashed and ``"privacy": true`` added; ``value`` itself when
    ``key`` is ``None`` (privacy off). Applying it twice changes nothing more.

    :param value: an envelope (:func:`~.outcomes.envelope`) or a plan document (:mod:`.plan`).
    :param key: the hashing key, or ``None``.
    """
    if key is None:
        return value
    records = [
        {k: _rows(key, k, v) if k in ROW_VALUES else v for k, v in record.items()}
        if isinstance(record, dict)
        else record
        for record in value.get("records") or ()
    ]
    return {**value, "records": records, "privacy": True}


def _fields(key: bytes, update_data: Any, label: str, timezone: Any) -> Any:
    """``{field_name: hashed wire value}`` of an ``update_data`` argument; one hash of the whole when it cannot
    be read (it is refused at execute with the reason)."""
    try:
        fields = normalize_update_data(update_data, record=label, timezone=timezone)
    except FeishuInvalidInputError:
        return digest(key, label, update_data if isinstance(update_data, str) else repr(update_data))
    return {f.field_name: digest(key, f.field_name, f.value) for f in fields}


def _offboardings(key: bytes, value: Any, timezone: Any) -> Any:
    try:
        entries = as_list("offboardings", value)
    except FeishuInvalidInputError:
        return digest(key, "offboardings", value if isinstance(value, str) else repr(value))
    hidden: list[Any] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            hidden.append(digest(key, "offboardings", repr(entry)))
            continue
        kept = {k: v for k, v in entry.items() if k in ("offboarding_id", "employment_id", "operator_id")}
        if "update_data" in entry:
            kept["update_data"] = _fields(key, entry["update_data"], f"record {index}", timezone)
        kept.update({str(k): digest(key, str(k), repr(v)) for k, v in entry.items() if k not in kept})
        hidden.append(kept)
    return hidden


def hide_arguments(values: dict[str, Any], key: bytes, timezone: Any = None) -> dict[str, Any]:
    """The rendered template fields of :data:`ARGUMENTS` as they may be stored: field names and ids kept, values
    hashed (as :func:`digest` hashes them in XCom, in wire form where they can be read).

    :param values: the rendered values by argument name (those of :data:`ARGUMENTS` the operator has).
    :param key: the hashing key.
    :param timezone: the edit operator's ``timezone`` (datetimes are hashed in the wire form it gives).
    """
    hidden: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            hidden[name] = None
        elif name == "update_data":
            hidden[name] = _fields(key, value, "update_data", timezone)
        elif name == "offboardings":
            hidden[name] = _offboardings(key, value, timezone)
        elif isinstance(value, dict):  # a plan document
            hidden[name] = hide_report(value, key)
        else:  # a plan as JSON text, or something no reader takes (refused at execute)
            hidden[name] = digest(key, name, value if isinstance(value, str) else repr(value))
    return hidden


def is_hashed_plan(plan: Any) -> bool:
    """Whether ``plan`` is a plan document made under privacy (its values are hashes).

    :param plan: the ``plan`` argument as rendered (a document, or its JSON text).
    """
    if isinstance(plan, str):
        try:
            plan = json.loads(plan)
        except json.JSONDecodeError:
            return False
    return isinstance(plan, dict) and plan.get("privacy") is True


def _moved(key: bytes, planned: list[dict[str, Any]], given: list[FieldValue]) -> list[dict[str, Any]]:
    """The fields whose value given now does not hash to the plan's ``after`` (or that only one side has)."""
    now = {f.field_name: f.value for f in given}
    moved = []
    for row in planned:
        name = str(row.get("field_name"))
        value = digest(key, name, now[name]) if name in now else None
        if value != row.get("after"):
            moved.append({"field_name": name, "planned": row.get("after"), "current": value})
    names = {str(row.get("field_name")) for row in planned}
    moved += [
        {"field_name": n, "planned": None, "current": digest(key, n, v)} for n, v in now.items() if n not in names
    ]
    return moved


def plan_records(
    entries: Sequence[dict[str, Any]],
    given: Sequence[Record],
    key: bytes,
    planned_record: Callable[[dict[str, Any], str], Record],
) -> tuple[list[Record], list[dict[str, Any]]]:
    """Apply a hashed edit plan with its values given again: each plan record is matched, by offboarding id, with
    a record given now; it is applied only when every value given hashes to the plan's ``after`` (same fields),
    else it is a ``conflict`` naming the fields, and nothing of it is sent. The plan's ``before`` hashes are
    compared with the values read now by :class:`Hashed`.

    :param entries: the plan's records (checked by :func:`~.plan.read_plan`).
    :param given: the records read from the record arguments.
    :param key: the hashing key.
    :param planned_record: :func:`~.plan.planned_record`.
    :return: the records to apply, and the plan records to check them against.
    :raises FeishuInvalidInputError: a record given that the plan does not list.
    """
    from airflow_provider_feishu_corehr.operators.review import PlanConflictError

    by_id = {r.offboarding_id: r for r in given if r.offboarding_id is not None}
    extra = sorted(set(by_id) - {e.get("offboarding_id") for e in entries})
    if extra:
        shown = ", ".join(extra[:10]) + (f" and {len(extra) - 10} more" if len(extra) > 10 else "")
        raise FeishuInvalidInputError(
            f"the records given with the plan list offboarding(s) the plan does not: {shown}; give the records the "
            "plan was made from (nothing was sent)"
        )
    records: list[Record] = []
    checked: list[dict[str, Any]] = []
    for entry in entries:
        index, offboarding_id = entry["index"], entry.get("offboarding_id")
        rows = entry.get("changes")
        record = by_id.get(str(offboarding_id)) if entry.get("action") != "refused" else None
        if record is None or record.refused is not None or not isinstance(rows, list):
            planned = planned_record(entry, "edit")
            if planned.refused is None:  # the plan lists it, the records given do not (or refused it)
                why = "is not among the records given" if record is None else f"was refused: {record.refused}"
                moved = [{"field_name": "record", "planned": None, "current": None}]
                planned = Record(
                    index,
                    planned.offboarding_id,
                    refused=PlanConflictError(
                        f"record {index}: offboarding {offboarding_id} {why}; not written", moved=moved
                    ),
                )
            records.append(planned)
            checked.append(entry)
            continue
        rows = [r for r in rows if isinstance(r, dict)]
        moved = _moved(key, rows, record.update)
        if moved:
            names = ", ".join(repr(m["field_name"]) for m in moved)
            error = PlanConflictError(
                f"record {index}: offboarding {offboarding_id}: {names}: the value given differs from the approved "
                "plan's (compared by hash); not written",
                moved=moved,
            )
            records.append(Record(index, offboarding_id, refused=error))
            checked.append(entry)
            continue
        now = {f.field_name: f.value for f in record.update}
        changes = [
            {
                **row,
                "after": now[str(row["field_name"])],
                "before": None
                if row.get("before") is None
                else Hashed(key, str(row["field_name"]), str(row.get("before"))),
            }
            for row in rows
        ]
        restored = {**entry, "changes": changes}
        records.append(planned_record(restored, "edit"))
        checked.append(restored)
    return records, checked


def mode(requested: Any, connection: bool) -> bool:
    """Whether privacy is on for a task: the operator's ``privacy`` argument, else the connection's extra.

    :param requested: the operator's ``privacy`` (``None``: the connection's).
    :param connection: the connection's ``privacy`` extra.
    :raises FeishuInvalidInputError: ``privacy`` is not ``None``, ``True`` or ``False``, or ``False`` while the
        connection turns privacy on (a task cannot turn it off).
    """
    if requested is not None and not isinstance(requested, bool):
        raise FeishuInvalidInputError(f"privacy must be True, False or None; got {type(requested).__name__}")
    if requested is False and connection:
        raise FeishuInvalidInputError(
            "privacy=False: the connection's extra privacy is true and a task cannot turn it off; leave privacy unset"
        )
    return bool(requested) or connection


def task_key(requested: Any, settings: ClientSettings) -> bytes | None:
    """The hashing key of a task when privacy is on for it (:func:`mode`), else ``None``.

    :param requested: the operator's ``privacy`` argument.
    :param settings: the connection's client settings (App Secret, extra ``privacy``).
    :raises FeishuInvalidInputError: as :func:`mode`.
    """
    return privacy_key(settings.app_secret) if mode(requested, settings.privacy) else None


HIDDEN_UNREAD = "(hidden: privacy could not be decided, the connection could not be read)"
"""What a value-carrying template field shows when the connection (so the privacy mode and key) could not be read
at render time: nothing is stored in the clear; the task fails at execute reading the connection."""


def hide_rendered(operator: Any, key: bytes | None, *, unread: bool = False) -> None:
    """After Airflow rendered the template fields, under privacy: keep the real values of :data:`ARGUMENTS` on the
    side (for execute, :func:`real_values`) and leave their hashed forms in the attributes Airflow stores. Done
    once per task instance; nothing when ``key`` is ``None`` and ``unread`` is false (privacy off).

    :param operator: the operator (its ``template_fields`` and attributes).
    :param key: the hashing key, or ``None``.
    :param unread: the connection could not be read: store :data:`HIDDEN_UNREAD` instead of any value.
    """
    if operator.__dict__.get("privacy_real") is not None or (key is None and not unread):
        return
    real = {name: getattr(operator, name) for name in ARGUMENTS if name in operator.template_fields}
    if key is None:
        hidden = {name: None if value is None else HIDDEN_UNREAD for name, value in real.items()}
    else:
        hidden = hide_arguments(real, key, getattr(operator, "timezone", None))
    operator.__dict__["privacy_real"] = real
    for name, value in hidden.items():
        setattr(operator, name, value)


@contextmanager
def real_values(operator: Any) -> Iterator[None]:
    """The real values in the operator's attributes for the block (execute), the hashed forms again after.

    :param operator: an operator :func:`hide_rendered` hid the values of (else nothing changes).
    """
    real: dict[str, Any] | None = operator.__dict__.get("privacy_real")
    if real is None:
        yield
        return
    hidden = {name: getattr(operator, name) for name in real}
    for name, value in real.items():
        setattr(operator, name, value)
    try:
        yield
    finally:
        for name, value in hidden.items():
            setattr(operator, name, value)


def planned_records(
    plan: Any,
    entries: list[dict[str, Any]],
    kind: str,
    *,
    key: bytes | None,
    records_given: bool,
    read_records: Callable[[], list[Record]] | None,
    planned_record: Callable[[dict[str, Any], str], Record],
) -> tuple[list[Record], list[dict[str, Any]]]:
    """The records that apply a plan, and the plan records to check them against (:func:`plan_records` for a
    hashed edit plan; every value from the plan otherwise).

    :param plan: the ``plan`` argument.
    :param entries: its records (checked by :func:`~.plan.read_plan`).
    :param kind: ``"edit"`` or ``"revoke"``.
    :param key: the hashing key (privacy on), or ``None``.
    :param records_given: whether record arguments were given next to ``plan``.
    :param read_records: reads them (``None`` at DAG parse: a hashed plan is not applied there).
    :param planned_record: :func:`~.plan.planned_record`.
    :raises FeishuInvalidInputError: a hashed plan applied without privacy or without its records, or records
        given with a plan that does not take them.
    """
    hashed = kind == "edit" and is_hashed_plan(plan)
    if hashed and read_records is not None:
        if key is None:
            raise FeishuInvalidInputError(
                "plan was made in privacy mode (its values are hashes): apply it with privacy on (privacy=True or "
                "the connection's extra privacy)"
            )
        if not records_given:
            raise FeishuInvalidInputError(
                "plan was made in privacy mode: it holds hashes, not values; give the records again (offboardings= "
                "or offboarding_id= with update_data=, from the same source): each value must hash to the plan's"
            )
        return plan_records(entries, read_records(), key, planned_record)
    if records_given and not hashed:
        raise FeishuInvalidInputError("plan replaces the records: give either plan or the records, not both")
    return [planned_record(entry, kind) for entry in entries], list(entries)


def takes_records(plan: Any) -> bool:
    """Whether a ``plan`` argument may come with the records (a hashed edit plan, or one not rendered yet: an
    ``XComArg`` or a template at DAG parse); checked again when it is applied.

    :param plan: the ``plan`` argument.
    """
    return is_hashed_plan(plan) or not isinstance(plan, (dict, str)) or (isinstance(plan, str) and "{{" in plan)
