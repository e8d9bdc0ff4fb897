"""Field values on the wire (always strings) and the edit endpoint's per-type checks.

Each check returns the Feishu edit code the real API answers for a bad value, or None when the value is fine.
An empty string clears text, hyperlink, enum, multi-enum and person fields; for bool, number, date and
datetime it is not a valid value.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

    from airflow_provider_feishu_corehr.testing.schema import FieldSpec

TEXT_TOO_LONG = 1160618
EXPLANATION_TOO_LONG = 1160604
HYPERLINK = 1160617
ENUM = 1160619
NUMBER = 1160630
DATE = 1160638
BOOL = 1160639
ATTACHMENT = 1160637
PERSON = 1160636
# The two reason explanations have their own code for "over 6000 characters" (edit page, 1160604).
EXPLANATIONS = frozenset({"reason_explanation", "employee_reason_explanation"})

_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_URL = re.compile(r"https?://[^\s/$.?#][^\s]*")
DATE_FORMAT = "%Y-%m-%d"
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def parse_date(value: str) -> date | None:
    try:
        return datetime.strptime(value, DATE_FORMAT).date() if len(value) == 10 else None
    except ValueError:
        return None


def parse_datetime(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, DATETIME_FORMAT) if len(value) == 19 else None
    except ValueError:
        return None


def _length(spec: FieldSpec, value: str) -> int | None:
    if spec.max_length is not None and len(value) > spec.max_length:
        return EXPLANATION_TOO_LONG if spec.name in EXPLANATIONS else TEXT_TOO_LONG
    return None


def _multi(spec: FieldSpec, value: str) -> int | None:
    if value == "":
        return None
    try:
        items = json.loads(value)
    except json.JSONDecodeError:
        return ENUM
    ok = isinstance(items, list) and all(isinstance(i, str) and i in spec.options for i in items)
    return None if ok and len(set(items)) == len(items) else ENUM


_CHECKS: dict[str, Callable[[FieldSpec, str], int | None]] = {
    "text": _length,
    "long_text": _length,
    "hyperlink": lambda s, v: _length(s, v) or (None if v == "" or _URL.fullmatch(v) else HYPERLINK),
    "bool": lambda s, v: None if v in ("true", "false") else BOOL,
    "number": lambda s, v: None if _NUMBER.fullmatch(v) else NUMBER,
    "enum": lambda s, v: None if v == "" or v in s.options else ENUM,
    "multi_enum": _multi,
    "date": lambda s, v: None if parse_date(v) else DATE,
    "datetime": lambda s, v: None if parse_datetime(v) else DATE,
    "month": lambda s, v: None if parse_date(v + "-01") and len(v) == 7 else DATE,
    "attachment": lambda s, v: ATTACHMENT,
}


def check_value(spec: FieldSpec, value: str, employments: Collection[str]) -> int | None:
    """The edit code for ``value`` of field ``spec``, or None if the real API would accept it."""
    if spec.type == "person":
        return None if value == "" or value in employments else PERSON
    return _CHECKS[spec.type](spec, value)


def to_wire(spec: FieldSpec, value: Any) -> str:
    """Seed convenience: Python bool, number and list become the wire string of their type; str is kept."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float) and spec.type == "number":
        return str(value)
    if isinstance(value, list) and spec.type == "multi_enum":
        return json.dumps(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"expected a string for a {spec.type} field, got {type(value).__name__}")


def to_search_value(spec: FieldSpec, value: str) -> Any:
    """How search reports a system field: enums as objects, bools as JSON bools (``add_block_list`` as text)."""
    if spec.type == "enum":
        return {"enum_name": value, "display": [{"lang": "en-US", "value": value}]} if value else None
    if spec.type == "bool" and spec.name != "add_block_list":
        return value == "true"
    return value


def to_custom_value(spec: FieldSpec, value: str) -> str:
    """``custom_fields[].value`` is JSON text: strings are quoted, bool/number/multi-enum are already JSON."""
    return value if spec.type in ("bool", "number", "multi_enum") else json.dumps(value, ensure_ascii=False)
