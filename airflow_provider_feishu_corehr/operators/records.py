"""The records to send: one :class:`Record` per input position, read from the operator's arguments.

Whatever the input (one id, a list of ids or its JSON text, an ``XComArg``, ``offboardings`` records, a plan:
:mod:`.plan`), it becomes one record per position; a record that cannot be sent carries the reason in
``refused`` and is reported, never dropped. An id listed more than once is refused at every position.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.validation import MAX_ID_LENGTH, optional_id, require_offboarding_id

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_feishu_corehr.client.models import FieldValue

_POSITIONS_SHOWN = 5
_REFUSED_SHOWN = 10


@dataclass(frozen=True)
class Record:
    """One record to send, or one refused before sending (``refused`` set).

    :param index: its position in the task's input.
    :param offboarding_id: the offboarding (``None`` when the input gave none usable).
    :param operator_id: the operator of the write (``None``: the system operator).
    :param update: the fields an edit sets, in wire form (empty for a revoke).
    :param employment_id: its employment, when known: lets the operator read the current state.
    :param refused: why it is not sent.
    """

    index: int
    offboarding_id: str | None
    operator_id: str | None = None
    update: list[FieldValue] = field(default_factory=list)
    employment_id: str | None = None
    refused: FeishuInvalidInputError | None = None

    @property
    def field_names(self) -> list[str]:
        """The names of the fields to set."""
        return [f.field_name for f in self.update]


def refused_text(records: Sequence[Record]) -> str:
    """The reasons of the refused records, at most ten listed.

    :param records: the task's records.
    """
    errors = [str(r.refused) for r in records if r.refused is not None]
    listed = "\n".join(f"  - {e}" for e in errors[:_REFUSED_SHOWN])
    more = f"\n  - ... and {len(errors) - _REFUSED_SHOWN} more" if len(errors) > _REFUSED_SHOWN else ""
    return f"{len(errors)} record(s) refused:\n{listed}{more}"


def as_list(name: str, value: Any) -> list[Any]:
    """A list from a sequence or its JSON text (a rendered template); anything else is refused.

    :param name: the argument, for the message.
    :param value: its value.
    """
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            hint = (
                " (it looks like a Python list rendered as text: pass the XComArg itself, e.g. task.output, "
                "or set render_template_as_native_obj=True on the DAG)"
                if value.lstrip().startswith("[")
                else ""
            )
            raise FeishuInvalidInputError(
                f"{name} is text but not a JSON array ({err.msg} at line {err.lineno} column {err.colno}){hint}"
            ) from None
        if not isinstance(value, list):
            raise FeishuInvalidInputError(f"{name} JSON must be an array, got {type(value).__name__}")
    if isinstance(value, (Mapping, bytes, bytearray)) or not isinstance(value, Sequence):
        raise FeishuInvalidInputError(f"{name} must be a list (or its JSON text), got {type(value).__name__}")
    return list(value)


def is_one_id(value: Any) -> bool:
    """Whether ``offboarding_id`` names one record: a plain string (JSON array text is a list).

    :param value: the ``offboarding_id`` argument.
    """
    return isinstance(value, str) and not value.lstrip().startswith("[")


def shown_id(raw: Any) -> str | None:
    """The id of a refused record as XCom shows it: the text given, unless it is not text or absurdly long.

    :param raw: the id as given.
    """
    return raw if isinstance(raw, str) and len(raw) <= MAX_ID_LENGTH else None


def id_records(
    value: Any, *, operator_id: str | None, update: list[FieldValue] | None = None, employment_id: str | None = None
) -> list[Record]:
    """One record per id of ``offboarding_id`` (one id, or a list or its JSON text), all with the same operator
    and fields; a bad id is refused.

    :param value: the ``offboarding_id`` argument.
    :param operator_id: the operator's ``operator_id``.
    :param update: the fields every record sets (edit).
    :param employment_id: the employment of a single id (``employment_id`` argument).
    """
    one_id, update = is_one_id(value), update or []
    if value is None:
        raise FeishuInvalidInputError("offboarding_id is required")
    if not one_id and (isinstance(value, (Mapping, bytes)) or not isinstance(value, Sequence)):
        raise FeishuInvalidInputError(
            f"offboarding_id must be an id (str) or a list of ids, got {type(value).__name__}"
        )
    records = []
    for index, raw in enumerate([value] if one_id else as_list("offboarding_id", value)):
        try:
            record = None if one_id else f"record {index}"
            offboarding_id = require_offboarding_id("offboarding_id", raw, record=record)
        except FeishuInvalidInputError as err:
            records.append(Record(index, shown_id(raw), update=update, refused=err))
        else:
            records.append(Record(index, offboarding_id, operator_id, update, employment_id))
    return _mark_duplicates(records)


def entry_records(
    value: Any,
    *,
    keys: tuple[str, ...],
    operator_id: str | None,
    fields: Callable[[Any, str], list[FieldValue]] | None = None,
) -> list[Record]:
    """One record per entry of ``offboardings`` (a list or its JSON text); each entry is checked on its own and a
    bad one is refused.

    :param value: the ``offboardings`` argument: mappings with ``offboarding_id`` and only the ``keys``.
    :param keys: the allowed keys, ``offboarding_id`` first.
    :param operator_id: the operator's ``operator_id``, for entries without their own.
    :param fields: reads an entry's ``update_data`` given its label (edit); ``None`` for a revoke.
    """
    records = []
    for index, entry in enumerate(as_list("offboardings", value)):
        label = f"record {index}"
        try:
            if not isinstance(entry, dict):
                raise FeishuInvalidInputError(
                    f"{label}: must be a mapping with {' and '.join(keys[:2])}, got {type(entry).__name__}"
                )
            unknown = sorted(map(str, set(entry) - set(keys)))
            if unknown:
                raise FeishuInvalidInputError(
                    f"{label}: unknown key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(keys)}"
                )
            offboarding_id = require_offboarding_id("offboarding_id", entry.get("offboarding_id"), record=label)
            employment_id = optional_id("employment_id", entry.get("employment_id"), record=label)
            own = entry.get("operator_id")
            operator = operator_id if own is None else optional_id("operator_id", own, record=label)
            update = fields(entry.get("update_data"), f"{label} (offboarding {offboarding_id})") if fields else []
        except FeishuInvalidInputError as err:
            raw = entry.get("offboarding_id") if isinstance(entry, dict) else None
            records.append(Record(index, shown_id(raw), refused=err))
        else:
            records.append(Record(index, offboarding_id, operator, update, employment_id))
    return _mark_duplicates(records)


def _mark_duplicates(records: list[Record]) -> list[Record]:
    """Refuse every occurrence of an id listed more than once; the message does not grow with the copies."""
    counts = Counter(r.offboarding_id for r in records if r.refused is None)
    positions: dict[str, list[int]] = {}
    for r in records:
        if r.refused is None and r.offboarding_id is not None and counts[r.offboarding_id] > 1:
            positions.setdefault(r.offboarding_id, []).append(r.index)
    marked = []
    for r in records:
        where = positions.get(r.offboarding_id or "") if r.refused is None else None
        if where:
            shown = ", ".join(map(str, where[:_POSITIONS_SHOWN]))
            more = f" and {len(where) - _POSITIONS_SHOWN} more" if len(where) > _POSITIONS_SHOWN else ""
            error = FeishuInvalidInputError(
                f"record {r.index}: offboarding_id: offboarding {r.offboarding_id} is listed {len(where)} times "
                f"(records {shown}{more}); none of them was sent: list each offboarding once"
            )
            r = Record(r.index, r.offboarding_id, update=r.update, refused=error)
        marked.append(r)
    return marked
