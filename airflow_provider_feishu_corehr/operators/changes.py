"""Per-field rows of an edit, in their XCom form (``docs/xcom.md``): the change row (current value against the
desired one) and the verify row (the value read back against the one written).

Pure functions, no request and no Airflow import. An unknown value is never equal: such a field is ``unknown``
and is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.current import NO_EMPLOYMENT_ID, NOT_FOUND, Reading, same, unknown

if TYPE_CHECKING:
    from collections.abc import Mapping

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
    return unknown(NOT_FOUND) if record is None else record.read(field_name)


def _compare(field: FieldValue, reading: Reading, equal: str, different: str) -> str:
    verdict = same(reading, field.value)
    return UNKNOWN if verdict is None else (equal if verdict else different)


def change_row(field: FieldValue, reading: Reading, after_display: str | None = None) -> dict[str, Any]:
    """``{"field_name", "before", "after", "change", "reason"}``: how ``field`` relates to the current value; with
    ``before_display`` / ``after_display`` when Feishu gave the option a display name other than its api name.

    :param field: the desired value in wire form.
    :param reading: the current value.
    :param after_display: the display name of the desired option, when the search showed it (:func:`displays`).
    """
    change = _compare(field, reading, UNCHANGED, CHANGED)
    row: dict[str, Any] = {
        "field_name": field.field_name,
        "before": reading.value,
        "after": field.value,
        "change": change,
        "reason": reading.reason,
    }
    if reading.display is not None and reading.display != reading.value:
        row["before_display"] = reading.display
    if after_display is not None and after_display != field.value:
        row["after_display"] = after_display
    return row


def displays(current: Mapping[str, CurrentOffboarding]) -> dict[tuple[str, str], str]:
    """The display name of every option the search showed: ``(field name, option api name) -> display name``.

    An option's display name is the same on every offboarding, so the name seen on one record tells what a
    correction to that option on another record means.

    :param current: what :func:`..client.current.read_current` returned.
    """
    return {
        (name, reading.value): reading.display
        for record in current.values()
        for name, reading in record.fields.items()
        if reading.display is not None and reading.value is not None
    }


def verify_row(field: FieldValue, reading: Reading) -> dict[str, Any]:
    """``{"field_name", "expected", "read_back", "verify", "reason"}``: whether the value read back is the one
    written.

    :param field: the value written, in wire form.
    :param reading: the value read back.
    """
    result = _compare(field, reading, VERIFIED, MISMATCH)
    return {
        "field_name": field.field_name,
        "expected": field.value,
        "read_back": reading.value,
        "verify": result,
        "reason": reading.reason,
    }


def verification(rows: list[dict[str, Any]]) -> str:
    """The record's verdict: ``mismatch`` if any field mismatches, else ``unknown`` if any is unknown (or there
    is no row), else ``verified``.

    :param rows: verify rows of the record.
    """
    results = {row["verify"] for row in rows}
    if MISMATCH in results:
        return MISMATCH
    return UNKNOWN if UNKNOWN in results or not rows else VERIFIED
