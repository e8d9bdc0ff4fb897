"""Argument checks shared by the client, the hook, the operators and the sensor; each raises before any request.

Every check raises :class:`FeishuInvalidInputError` naming the field and the rule, whatever the type of the value.
The id rules (1 to :data:`MAX_ID_LENGTH` printable characters, no whitespace anywhere, not the text of a missing
value; offboarding ids all ASCII digits) are in ``docs/operators.md``, "Input rules"."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.models import OFFBOARDING_STATUSES, USER_ID_TYPES

MAX_ID_LENGTH = 64
"""Longest id accepted (Feishu's ids are 19-digit numbers, or ``ou_`` plus 32 hex characters)."""
MISSING_VALUE_TEXTS = frozenset({"none", "null", "nil", "undefined", "nan"})
MAX_LIST_LENGTH = 100_000
"""Longest list of ids or statuses a hook method accepts (the API takes 100 ids per search)."""


def _where(record: str | None) -> str:
    return f"{record}: " if record else ""


def _type_name(value: Any) -> str:
    return type(value).__name__


def require_id(field: str, value: Any, *, record: str | None = None) -> str:
    """Return ``value`` if it is a plausible id, else raise (the rules are in the module docstring).

    :param field: argument name used in the message, e.g. ``employment_id``.
    :param value: the value to check.
    :param record: optional label of the record being processed (batches), put in front of the message.
    """
    where = _where(record)
    if not isinstance(value, str):
        raise FeishuInvalidInputError(f"{where}{field} must be a string, got {_type_name(value)}")
    if not value.strip():
        raise FeishuInvalidInputError(f"{where}{field} must not be empty or whitespace")
    if len(value) > MAX_ID_LENGTH:
        raise FeishuInvalidInputError(
            f"{where}{field} is {len(value)} characters long; an id has at most {MAX_ID_LENGTH}"
        )
    if value != value.strip():
        raise FeishuInvalidInputError(f"{where}{field} has whitespace before or after the id; remove it")
    bad = next((i for i, ch in enumerate(value) if not ch.isprintable() or ch.isspace()), None)
    if bad is not None:
        raise FeishuInvalidInputError(
            f"{where}{field} contains a space, line break, control or invisible character "
            f"(U+{ord(value[bad]):04X} at position {bad}); an id has none"
        )
    if value.lower() in MISSING_VALUE_TEXTS:
        raise FeishuInvalidInputError(
            f"{where}{field} is the text {value!r}, not an id (a template over a missing value renders this)"
        )
    return value


def require_offboarding_id(field: str, value: Any, *, record: str | None = None) -> str:
    """Like :func:`require_id`, and all ASCII digits (the documented form of offboarding ids).

    :param field: argument name used in the message.
    :param value: the value to check.
    :param record: optional label of the record, put in front of the message.
    """
    checked = require_id(field, value, record=record)
    if not (checked.isascii() and checked.isdigit()):
        raise FeishuInvalidInputError(
            f"{_where(record)}{field} must be all digits like 7095671727698478604 (an offboarding id)"
        )
    return checked


def _not_given(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def optional_id(field: str, value: Any, *, record: str | None = None) -> str | None:
    """Like :func:`require_id`, but ``None`` and ``""`` mean "not given" (e.g. ``operator_id``).

    :param field: argument name used in the message.
    :param value: the value to check.
    :param record: optional label of the record, put in front of the message.
    """
    return None if _not_given(value) else require_id(field, value, record=record)


def optional_offboarding_id(field: str, value: Any) -> str | None:
    """Like :func:`require_offboarding_id`, but ``None`` and ``""`` mean "not given".

    :param field: argument name used in the message.
    :param value: the value to check.
    """
    return None if _not_given(value) else require_offboarding_id(field, value)


def check_user_id_type(value: Any) -> str:
    """Return ``value`` if it is one of the documented ``user_id_type`` values, else raise.

    :param value: the value to check.
    """
    if not isinstance(value, str) or value not in USER_ID_TYPES:
        shown = repr(value) if isinstance(value, str) and len(value) <= MAX_ID_LENGTH else _type_name(value)
        raise FeishuInvalidInputError(f"user_id_type must be one of {', '.join(USER_ID_TYPES)}; got {shown}")
    return value


def optional_user_id_type(value: Any) -> str | None:
    """Like :func:`check_user_id_type`, but ``None`` means "the connection's default".

    :param value: the value to check.
    """
    return None if value is None else check_user_id_type(value)


def as_items(field: str, values: Any) -> tuple[Any, ...]:
    """One string, or an iterable of values (not a mapping, bytes or a lone number), as a tuple; else raise.

    :param field: argument name used in the message.
    :param values: the value to check.
    """
    if isinstance(values, str):
        return (values,)
    if isinstance(values, (bytes, bytearray, dict)) or not isinstance(values, Iterable):
        raise FeishuInvalidInputError(f"{field} must be a string or a list of strings, got {_type_name(values)}")
    items: list[Any] = []
    for item in values:
        items.append(item)
        if len(items) > MAX_LIST_LENGTH:
            raise FeishuInvalidInputError(f"{field} has more than {MAX_LIST_LENGTH} items")
    return tuple(items)


def check_statuses(field: str, values: Any) -> tuple[str, ...]:
    """Return the statuses as a tuple; a single string counts as one status. Unknown names are refused.

    :param field: argument name used in the message, e.g. ``statuses``.
    :param values: the value to check.
    """
    items = as_items(field, values)
    unknown = [v for v in items if not isinstance(v, str) or v not in OFFBOARDING_STATUSES]
    if unknown:
        shown = ", ".join(repr(v) if isinstance(v, str) and len(v) <= 40 else _type_name(v) for v in unknown[:5])
        raise FeishuInvalidInputError(f"{field} has unknown status {shown}; allowed: {', '.join(OFFBOARDING_STATUSES)}")
    return tuple(items)


def check_ids(field: str, values: Any) -> tuple[str, ...]:
    """Ids given as one string or a list of strings, each checked with :func:`require_id`.

    :param field: argument name used in the message, e.g. ``employment_ids``.
    :param values: the value to check.
    """
    return tuple(require_id(f"{field}[{i}]", v) for i, v in enumerate(as_items(field, values)))
