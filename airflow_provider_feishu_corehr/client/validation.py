"""Argument checks shared by the client, the hook and the operators: each raises before any request is sent."""

from __future__ import annotations

from typing import Any

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.models import OFFBOARDING_STATUSES, USER_ID_TYPES


def require_id(field: str, value: Any, *, record: str | None = None) -> str:
    """Return ``value`` stripped, or raise when it is not a non-empty string.

    :param field: argument name used in the message, e.g. ``offboarding_id``.
    :param value: the value to check.
    :param record: optional label of the record being processed (batches), put in front of the message.
    """
    where = f"{record}: " if record else ""
    if not isinstance(value, str):
        raise FeishuInvalidInputError(f"{where}{field} must be a string, got {type(value).__name__}")
    stripped = value.strip()
    if not stripped:
        raise FeishuInvalidInputError(f"{where}{field} must not be empty or whitespace")
    return stripped


def optional_id(field: str, value: Any, *, record: str | None = None) -> str | None:
    """Like :func:`require_id`, but ``None`` and ``""`` mean "not given" (e.g. ``operator_id``)."""
    if value is None or value == "":
        return None
    return require_id(field, value, record=record)


def check_user_id_type(value: Any) -> str:
    """Return ``value`` if it is one of the documented ``user_id_type`` values, else raise."""
    if value not in USER_ID_TYPES:
        raise FeishuInvalidInputError(f"user_id_type must be one of {', '.join(USER_ID_TYPES)}; got {value!r}")
    return str(value)


def check_statuses(field: str, values: Any) -> tuple[str, ...]:
    """Return the statuses as a tuple; a single string counts as one status. Unknown names are refused."""
    items = (values,) if isinstance(values, str) else tuple(values)
    unknown = [v for v in items if v not in OFFBOARDING_STATUSES]
    if unknown:
        raise FeishuInvalidInputError(
            f"{field} has unknown status {', '.join(map(repr, unknown))}; allowed: {', '.join(OFFBOARDING_STATUSES)}"
        )
    return items
