"""``update_data`` of the edit endpoint: Python values to wire strings, and the checks made before any request.

:func:`normalize_update_data` takes a mapping ``{field_name: value}``, the API's list ``[{"field_name", "value"}]``
(or :class:`FieldValue` items) or the JSON text of either, and returns the wire form or raises one
:class:`FeishuInvalidInputError` listing every problem (record, field, rule; never a value: values may be personal
data). The conversion rules are :func:`_convert`'s (summed up in docs/reference.md, ``EditOffboardingOperator``); the
limits are the edit page's (``docs/api-facts.md``, "Edit"). A timezone-aware datetime is converted to ``timezone``
when one is given and refused otherwise: its wall clock in its own zone (often UTC) would shift the time silently.

Names and value forms are checked against the documented fields (:mod:`.field_catalogue`): a name that is neither a
documented field nor a custom field (``__c``) is refused with the closest documented name, a documented field that
cannot be edited is refused, and a value whose form is wrong for its field's documented type (:func:`form_rule`) is
refused. A custom field's type is not known here: only the rules every value has apply to it. A privacy hash (the
value of a plan made in privacy mode) has no form to check: the records given again with that plan are checked."""

from __future__ import annotations

import datetime as dt
import json
import math
import numbers
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from airflow_provider_feishu_corehr.client import field_catalogue as catalogue
from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.field_catalogue import FieldType
from airflow_provider_feishu_corehr.client.models import FieldValue
from airflow_provider_feishu_corehr.client.privacy import is_digest

MAX_UPDATE_ENTRIES = 10_000
MAX_TEXT_LENGTH = 6_000
REASON_EXPLANATION_FIELDS = frozenset({"reason_explanation", "employee_reason_explanation", "block_reason_explanation"})

# The edit page's list of non-editable fields (docs/api-facts.md, "Edit"): the endpoint refuses them (1160623).
NON_EDITABLE_FIELDS = catalogue.NON_EDITABLE

_MAX_LISTED_PROBLEMS = 50
_LIST_ENTRY_KEYS = frozenset({"field_name", "value"})


class _Refused(Exception):
    """A value cannot be converted; the text is the rule, without the value."""


def to_wire_value(
    value: Any,
    *,
    field_name: str = "value",
    record: str | None = None,
    timezone: dt.tzinfo | None = None,
) -> str:
    """Convert one Python value to the edit endpoint's string form (table in the module docstring).

    :param value: the Python value.
    :param field_name: field name used in the error message.
    :param record: label of the record, put in front of the error message.
    :param timezone: zone that timezone-aware datetimes are converted to; without it they are refused.
    :raises FeishuInvalidInputError: naming the record, the field and the rule (never the value).
    """
    try:
        return _convert(value, timezone)
    except _Refused as refused:
        where = f"{record}: " if record else ""
        raise FeishuInvalidInputError(f"{where}field {field_name!r}: {refused}") from None


def _convert(value: Any, timezone: dt.tzinfo | None) -> str:
    # Order matters: bool is an int, datetime is a date.
    if isinstance(value, str):
        return value
    if value is None:
        raise _Refused("value is None; send an empty string to clear a text field, or leave the field out")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Refused(f"number is {value!r}; only finite numbers can be sent")
        text = repr(value)
        return format(Decimal(text), "f") if "e" in text or "E" in text else text
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _Refused("number is NaN or infinite; only finite numbers can be sent")
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return _format_datetime(value, timezone)
    if isinstance(value, dt.date):
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    if isinstance(value, (list, tuple)):
        return _format_options(value)
    raise _Refused(
        f"value of type {type(value).__name__} is not supported; use str, bool, int, float, Decimal, "
        "date, datetime or a list of option names"
    )


def _format_datetime(value: dt.datetime, timezone: dt.tzinfo | None) -> str:
    if value.tzinfo is not None and value.utcoffset() is not None:
        if timezone is None:
            raise _Refused(
                "datetime is timezone-aware but the API takes a wall-clock time without zone; "
                "pass a naive datetime or set the time zone to convert to (operator argument 'timezone')"
            )
        value = value.astimezone(timezone)
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value.hour:02d}:{value.minute:02d}:{value.second:02d}"


def _format_options(values: list[Any] | tuple[Any, ...]) -> str:
    for index, item in enumerate(values):
        if not isinstance(item, str):
            raise _Refused(f"option [{index}] is {type(item).__name__}; a list value must hold option names (str)")
        if not item.strip():
            raise _Refused(f"option [{index}] is empty; option names must not be empty")
    return json.dumps(list(values), ensure_ascii=False, separators=(",", ":"))


def parse_update_data(update_data: Any, *, record: str) -> list[tuple[str, Any, Any]]:
    """Turn any accepted ``update_data`` form into ``(position, field_name, value)`` triples, values untouched.

    ``position`` labels the entry in messages (``update_data['x']`` or ``update_data[3]``). Only the form is
    checked here; names and values are checked by :func:`normalize_update_data`.

    :raises FeishuInvalidInputError: when the form itself is wrong.
    """
    if isinstance(update_data, str):
        try:
            update_data = json.loads(update_data)
        except json.JSONDecodeError as err:
            raise FeishuInvalidInputError(
                f"{record}: update_data is text but not valid JSON ({err.msg} at line {err.lineno} column "
                f"{err.colno}); pass a mapping, a list of {{field_name, value}} or their JSON"
            ) from None
        if not isinstance(update_data, (dict, list)):
            raise FeishuInvalidInputError(
                f"{record}: update_data JSON must be an object or an array, got {type(update_data).__name__}"
            )
    if isinstance(update_data, Mapping):
        return [(f"update_data[{name!r}]", name, value) for name, value in update_data.items()]
    if isinstance(update_data, (list, tuple)):
        return [_parse_list_entry(index, entry, record) for index, entry in enumerate(update_data)]
    if update_data is None:
        raise FeishuInvalidInputError(f"{record}: update_data is required")
    raise FeishuInvalidInputError(
        f"{record}: update_data must be a mapping {{field_name: value}}, a list of {{field_name, value}} or their "
        f"JSON text, got {type(update_data).__name__}"
    )


def _parse_list_entry(index: int, entry: Any, record: str) -> tuple[str, Any, Any]:
    position = f"update_data[{index}]"
    if isinstance(entry, FieldValue):
        return position, entry.field_name, entry.value
    if not isinstance(entry, Mapping):
        raise FeishuInvalidInputError(
            f"{record}: {position} must be a mapping with keys field_name and value, got {type(entry).__name__}"
        )
    keys = set(entry)
    missing = sorted(_LIST_ENTRY_KEYS - keys)
    unknown = sorted(map(str, keys - _LIST_ENTRY_KEYS))
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown key(s) {', '.join(map(repr, unknown))}")
        raise FeishuInvalidInputError(
            f"{record}: {position} must have exactly the keys field_name and value ({'; '.join(parts)})"
        )
    return position, entry["field_name"], entry["value"]


def normalize_update_data(
    update_data: Any,
    *,
    record: str,
    timezone: dt.tzinfo | None = None,
) -> list[FieldValue]:
    """Validate ``update_data`` and return it in wire form, in the caller's order.

    :param update_data: a mapping ``{field_name: value}``, a list of ``{"field_name", "value"}`` (or
        :class:`FieldValue`), or the JSON text of either.
    :param record: label of the record for messages, e.g. ``"offboarding 7095671727698478604"``.
    :param timezone: zone that timezone-aware datetimes are converted to; without it they are refused.
    :raises FeishuInvalidInputError: one error listing every problem found, each naming the record, the field
        and the rule.
    """
    entries = parse_update_data(update_data, record=record)
    if not entries:
        raise FeishuInvalidInputError(f"{record}: update_data must not be empty (the API requires at least one field)")
    if len(entries) > MAX_UPDATE_ENTRIES:
        raise FeishuInvalidInputError(
            f"{record}: update_data has {len(entries)} entries; the API accepts at most {MAX_UPDATE_ENTRIES}"
        )
    problems: list[str] = []
    seen: dict[str, str] = {}
    result: list[FieldValue] = []
    for position, raw_name, value in entries:
        name = _check_field_name(position, raw_name, seen, problems)
        label = f"field {name!r}" if name is not None else position
        try:
            wire = _convert(value, timezone)
        except _Refused as refused:
            problems.append(f"{label}: {refused}")
            continue
        if len(wire) > MAX_TEXT_LENGTH:
            problems.append(f"{label}: {_length_rule(name, len(wire))}")
            continue
        if name is None:
            continue
        rule = None if is_digest(wire) else form_rule(name, wire)  # a hashed plan's value: its records are checked
        if rule is not None:
            problems.append(f"{label}: {rule}")
            continue
        result.append(FieldValue(field_name=name, value=wire))
    if problems:
        raise FeishuInvalidInputError(_problem_text(record, problems))
    return result


def _check_field_name(position: str, raw_name: Any, seen: dict[str, str], problems: list[str]) -> str | None:
    if not isinstance(raw_name, str):
        problems.append(f"{position}: field name must be a string, got {type(raw_name).__name__}")
        return None
    name = raw_name.strip()
    if not name:
        problems.append(f"{position}: field name must not be empty or whitespace")
        return None
    if name.lower() in NON_EDITABLE_FIELDS:
        problems.append(f"field {name!r}: not editable (the edit API documents it as a non-editable field)")
        return None
    field = catalogue.documented(name)
    if field is not None and not field.editable:
        problems.append(f"field {name!r}: not editable ({field.why_not})")
        return None
    if field is None and not catalogue.is_custom(name):
        hint = catalogue.suggestion(name)
        problems.append(
            f"field {name!r}: not a documented offboarding field nor a custom field (custom field api names end in "
            f"{catalogue.CUSTOM_SUFFIX})" + (f"; did you mean {hint!r}?" if hint else "")
        )
        return None
    if name in seen:
        problems.append(f"field {name!r}: given more than once ({seen[name]} and {position}); give each field once")
        return None
    seen[name] = position
    return name


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_FORM_RULES = {
    FieldType.DATE: "a date is written YYYY-MM-DD and must be a real date, e.g. 2026-07-31 (Feishu error 1160638)",
    FieldType.DATETIME: (
        "a date-time is written YYYY-MM-DD HH:mm:ss and must be a real time, e.g. 2026-07-31 18:00:00 "
        "(Feishu error 1160638)"
    ),
    FieldType.BOOLEAN: 'a boolean is "true" or "false" (Python True / False are converted; Feishu error 1160639)',
    FieldType.NUMBER: "a number is decimal text such as 12 or -1.5 (Feishu error 1160630)",
    FieldType.ENUM: (
        "a single-option field takes one option api name, without spaces around it, not a list or a JSON array "
        "(Feishu error 1160619)"
    ),
    FieldType.MULTI_OPTION: (
        'a multi-option field takes a JSON array of option api names such as ["a","b"], or a list of names '
        "(Feishu error 1160619)"
    ),
}


def _real(text: str, pattern: re.Pattern[str], parse: Callable[[str], object]) -> bool:
    if not pattern.fullmatch(text):
        return False
    try:  # the pattern fixed the form; the parse checks the calendar and the clock (2026-02-30, 24:00:00)
        parse(text)
    except ValueError:
        return False
    return True


def _options(text: str) -> bool:
    if text == "":
        return True  # clears the field
    try:
        items = json.loads(text)
    except json.JSONDecodeError:
        return False
    return isinstance(items, list) and all(isinstance(i, str) and i.strip() for i in items)


_KIND_WORDS = {
    FieldType.DATE: "date",
    FieldType.DATETIME: "date-time",
    FieldType.BOOLEAN: "boolean",
    FieldType.NUMBER: "number",
    FieldType.ENUM: "single-option",
    FieldType.MULTI_OPTION: "multi-option",
}
_FORM_CHECKS = {
    FieldType.DATE: lambda text: _real(text, _DATE, dt.date.fromisoformat),
    FieldType.DATETIME: lambda text: _real(text, _DATETIME, dt.datetime.fromisoformat),
    FieldType.BOOLEAN: lambda text: text in ("true", "false"),
    FieldType.NUMBER: lambda text: _NUMBER.fullmatch(text) is not None,
    FieldType.ENUM: lambda text: text == text.strip() and not text.startswith("["),
    FieldType.MULTI_OPTION: _options,
}


def form_rule(field_name: str, wire: str) -> str | None:
    """The rule ``wire`` breaks for the documented type of ``field_name``, ``None`` when its form is right.

    Only documented fields have a known type; a custom field (``__c``) and text fields have no form rule here (the
    length rules are :func:`normalize_update_data`'s).

    :param field_name: the api name.
    :param wire: the value in wire form (:func:`to_wire_value`).
    :return: the rule, without the value, or ``None``.
    """
    field = catalogue.documented(field_name)
    return None if field is None or field.type is None else type_rule(field.type, wire)


def type_rule(field_type: FieldType, wire: str) -> str | None:
    """The rule ``wire`` breaks as a value of ``field_type``, ``None`` when its form is right (or the type has no
    form rule: text, person, and the types that are never editable). An empty value clears an option field and is
    no date, boolean or number.

    :param field_type: the documented type.
    :param wire: the value in wire form.
    """
    check = _FORM_CHECKS.get(field_type)
    if check is None or check(wire):
        return None
    return f"not a valid {_KIND_WORDS[field_type]} value: {_FORM_RULES[field_type]}"


def _length_rule(name: str | None, length: int) -> str:
    if name in REASON_EXPLANATION_FIELDS:
        return (
            f"text is {length} characters; reason explanations are limited to {MAX_TEXT_LENGTH} (Feishu error 1160604)"
        )
    return (
        f"text is {length} characters; the API accepts at most {MAX_TEXT_LENGTH} (multi-line text; single-line "
        "text fields take 255, Feishu error 1160618)"
    )


def _problem_text(record: str, problems: list[str]) -> str:
    if len(problems) == 1:
        return f"{record}: {problems[0]}"
    shown = problems[:_MAX_LISTED_PROBLEMS]
    lines = [f"{record}: update_data has {len(problems)} problems:", *(f"  - {p}" for p in shown)]
    if len(problems) > len(shown):
        lines.append(f"  - ... and {len(problems) - len(shown)} more")
    return "\n".join(lines)
