"""``POST /open-apis/corehr/v1/offboardings/search``.

Query: ``page_size`` (required: missing 1160104; not 1-100 1160102), ``page_token`` (from a previous page, else
1160102), ``user_id_type`` (default ``open_id``; person ids in filters and items use it). Body filters, all
optional and AND-ed: ``employment_ids``, ``statuses`` (at most 10, OR-ed), ``reasons``, ``employee_reasons``,
and the ranges ``offboarding_date``, ``expected_offboarding_date`` (``YYYY-MM-DD``), ``apply_initiating_time``,
``apply_finished_time`` (seconds timestamps; record times are in the tenant's time zone, ``+08:00`` by
default). Ranges are inclusive and must come in ``_start``/``_end`` pairs (else 1160104). Items come in
insertion order; the last page has ``page_token: ""``. Keys only the SDK knows (``department_ids``,
``select_fields``, ``filter_str``) are accepted and ignored.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.testing import ids, wire
from airflow_provider_feishu_corehr.testing.api_pages import STATUSES as OFFBOARDING_STATUSES
from airflow_provider_feishu_corehr.testing.api_pages import USER_ID_TYPES, Endpoint
from airflow_provider_feishu_corehr.testing.records import Record, search_item
from airflow_provider_feishu_corehr.testing.values import parse_date, parse_datetime

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing.handlers import Call

INVALID = 1160102
MISSING = 1160104
Filter = Callable[[Record], bool]


class _Refused(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def decode_token(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix == "offset" and number.isdigit():
            return int(number)
    except (ValueError, UnicodeDecodeError):
        pass
    raise _Refused(INVALID)


def _strings(body: dict[str, Any], key: str, limit: int | None = None) -> list[str] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Refused(INVALID)
    if limit is not None and len(value) > limit:
        raise _Refused(INVALID)
    return value


def _range(body: dict[str, Any], base: str, parse: Callable[[str], Any]) -> tuple[Any, Any] | None:
    start, end = body.get(f"{base}_start"), body.get(f"{base}_end")
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise _Refused(MISSING)
    low, high = (parse(v) if isinstance(v, str) else None for v in (start, end))
    if low is None or high is None:
        raise _Refused(INVALID)
    return low, high


def _seconds(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _filters(body: dict[str, Any], call: Call, user_id_type: str) -> list[Filter]:
    found: list[Filter] = []
    employment_ids = _strings(body, "employment_ids")
    if employment_ids is not None:
        people = call.store.people()
        wanted = {ids.to_employment(e, user_id_type, people) for e in employment_ids} - {None}
        found.append(lambda r: r.employment_id in wanted)
    statuses = _strings(body, "statuses", limit=10)
    if statuses:
        if any(s not in OFFBOARDING_STATUSES for s in statuses):
            raise _Refused(INVALID)
        found.append(lambda r: r.status in statuses)
    for key, field in (("reasons", "reason"), ("employee_reasons", "employee_reason")):
        chosen = _strings(body, key)
        if chosen:
            found.append(_value_in(field, set(chosen)))
    timestamp_of = _timestamps(call)
    for base, field, parse in (
        ("offboarding_date", "offboarding_date", parse_date),
        ("expected_offboarding_date", "expected_offboarding_date", parse_date),
        ("apply_initiating_time", "apply_initiating_time", timestamp_of),
        ("apply_finished_time", "apply_finish_time", timestamp_of),
    ):
        bounds = _range(body, base, parse_date if parse is parse_date else _seconds)
        if bounds is not None:
            found.append(_in_range(field, parse, bounds))
    return found


def _timestamps(call: Call) -> Callable[[str], int | None]:
    """Seconds since the epoch of a record time (tenant time zone), None when it is not a time."""
    clock = call.store.clock

    def parse(text: str) -> int | None:
        if parse_datetime(text) is None:
            return None
        return int(clock.epoch_of(text))

    return parse


def _value_in(field: str, allowed: set[str]) -> Filter:
    return lambda record: record.values.get(field) in allowed


def _in_range(field: str, parse: Callable[[str], Any], bounds: tuple[Any, Any]) -> Filter:
    def check(record: Record) -> bool:
        value = parse(record.values.get(field, ""))
        return value is not None and bounds[0] <= value <= bounds[1]

    return check


def handle(call: Call) -> wire.Response:
    query = call.request.query
    try:
        if "page_size" not in query:
            raise _Refused(MISSING)
        size_text = query["page_size"]
        if not size_text.isdigit() or not 1 <= int(size_text) <= 100:
            raise _Refused(INVALID)
        user_id_type = query.get("user_id_type", "open_id")
        if user_id_type not in USER_ID_TYPES:
            raise _Refused(INVALID)
        offset = decode_token(query["page_token"]) if query.get("page_token") else 0
        try:
            body = wire.json_object(call.request.body)
        except wire.BadJson:
            raise _Refused(INVALID) from None
        filters = _filters(body, call, user_id_type)
    except _Refused as refused:
        return wire.error(Endpoint.SEARCH, refused.code, call.log_id)
    size = int(size_text)
    with call.store.lock:
        matches = [r for r in call.store.records() if all(f(r) for f in filters)]
        page = [search_item(r, call.store.schema, user_id_type) for r in matches[offset : offset + size]]
    has_more = offset + size < len(matches)
    return wire.success(
        {"items": page, "page_token": encode_token(offset + size) if has_more else "", "has_more": has_more}
    )
