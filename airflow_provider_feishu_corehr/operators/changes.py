"""Per-field audit rows of an edit: current value (before) against the desired one (after), and the read-back.

Pure functions (no request, no Airflow import) used by ``only_changed``, ``plan_only``, a plan's apply step and
``verify``. Rows are JSON-only dicts, the form they take in XCom:

* change row: ``{"field_name", "before", "after", "change", "reason"}``; ``change`` is ``"changed"``,
  ``"unchanged"`` or ``"unknown"``; ``before`` is the current value in wire form (``None`` when unknown) and
  ``reason`` says why it is unknown (see :mod:`..client.current`).
* verify row: ``{"field_name", "expected", "read_back", "verify", "reason"}``; ``verify`` is ``"verified"``,
  ``"mismatch"`` or ``"unknown"``.

An unknown value is never reported equal: such a field is ``"unknown"`` and is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.current import NO_EMPLOYMENT_ID, NOT_FOUND, Reading, same, unknown

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from airflow_provider_feishu_corehr.client.current import CurrentOffboarding
    from airflow_provider_feishu_corehr.client.models import FieldValue

CHANGED = "changed"
UNCHANGED = "unchanged"
UNKNOWN = "unknown"
VERIFIED = "verified"
MISMATCH = "mismatch"


def reading_of(
    current: Mapping[str, CurrentOffboarding], offboarding_id: str | None, employment_id: str | None, field_name: str
) -> Reading:
    """The current value of one field of one offboarding, or an unknown reading saying why there is none.

    :param current: what :func:`..client.current.read_current` returned.
    :param offboarding_id: the offboarding.
    :param employment_id: its employment as the record gave it (``None``: it was not looked up).
    :param field_name: the field.
    """
    if employment_id is None:
        return unknown(NO_EMPLOYMENT_ID)
    record = current.get(offboarding_id or "")
    if record is None:
        return unknown(NOT_FOUND)
    return record.read(field_name)


def change_row(field: FieldValue, reading: Reading) -> dict[str, Any]:
    """One change row: how ``field`` (the desired value) relates to ``reading`` (the current value).

    :param field: the desired value in wire form.
    :param reading: the current value.
    """
    equal = same(reading, field.value)
    change = UNKNOWN if equal is None else (UNCHANGED if equal else CHANGED)
    return {
        "field_name": field.field_name,
        "before": reading.value,
        "after": field.value,
        "change": change,
        "reason": reading.reason,
    }


def verify_row(field: FieldValue, reading: Reading) -> dict[str, Any]:
    """One verify row: whether the value read back after a write is the value written.

    :param field: the value written, in wire form.
    :param reading: the value read back.
    """
    equal = same(reading, field.value)
    result = UNKNOWN if equal is None else (VERIFIED if equal else MISMATCH)
    return {
        "field_name": field.field_name,
        "expected": field.value,
        "read_back": reading.value,
        "verify": result,
        "reason": reading.reason,
    }


def to_write(rows: Iterable[Mapping[str, Any]]) -> set[str]:
    """Names of the fields that must be written: changed, or unknown (never assumed equal).

    :param rows: change rows.
    """
    return {row["field_name"] for row in rows if row["change"] != UNCHANGED}


def verification(rows: list[dict[str, Any]]) -> str:
    """The record's verdict: ``mismatch`` if any field mismatches, else ``unknown`` if any is unknown, else
    ``verified``.

    :param rows: verify rows of the record.
    """
    results = {row["verify"] for row in rows}
    if MISMATCH in results:
        return MISMATCH
    return UNKNOWN if UNKNOWN in results or not rows else VERIFIED


def field_counts(records: Iterable[Mapping[str, Any]], key: str, values: tuple[str, ...]) -> dict[str, int]:
    """How many field rows of all ``records`` have each value of ``key`` (zeros included).

    :param records: XCom records with ``"changes"`` or ``"verify"`` lists.
    :param key: ``"change"`` (rows under ``"changes"``) or ``"verify"`` (rows under ``"verify"``).
    :param values: the possible values.
    """
    counts = dict.fromkeys(values, 0)
    source = "changes" if key == "change" else "verify"
    for record in records:
        for row in record.get(source) or ():
            counts[row[key]] = counts.get(row[key], 0) + 1
    return counts
