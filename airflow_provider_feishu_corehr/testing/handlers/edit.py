"""``POST /open-apis/corehr/v2/offboardings/edit``.

Request checks (1160102): body a JSON object, ``offboarding_id`` a non-empty string, ``update_data`` a list of
1 to 10,000 ``{"field_name": str, "value": str}`` objects with distinct names, ``operator_id`` a string if given,
known ``user_id_type``. Then: record missing 1160625, operator unknown 1160624 (``operator_id`` in
``user_id_type``), then :mod:`.edit_rules`. Success changes the record (an empty value clears the field) and
echoes ``update_data`` as ``data.data`` and emits ``corehr.offboarding.updated_v2`` (``updated_fields``: the
names sent). An ``Offboarded`` record answers 1160631 (see :mod:`.edit_rules`).

Processing time (``FeishuEmulator(processing_time=...)``): an accepted edit holds its record that long before
the change is applied. The edit page documents no code for a concurrent edit, so an edit of a record another
write is processing waits its turn (as behind a row lock) and is then checked against the record as it is
(after a concurrent revoke: 1160623). A revoke arriving meanwhile answers 1160204 (see :mod:`.revoke`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.testing import ids, wire
from airflow_provider_feishu_corehr.testing.api_pages import MAX_UPDATE_ENTRIES, USER_ID_TYPES, Endpoint
from airflow_provider_feishu_corehr.testing.handlers import edit_rules

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing.handlers import Call
    from airflow_provider_feishu_corehr.testing.records import Record
    from airflow_provider_feishu_corehr.testing.state import Store

ILLEGAL = 1160102
MAX_ITEMS = MAX_UPDATE_ENTRIES
WAIT = 60.0  # seconds an edit waits for a busy record at most


def _fail(call: Call, code: int) -> wire.Response:
    return wire.error(Endpoint.EDIT, code, call.log_id)


def parse_updates(raw: Any) -> dict[str, str] | None:
    """``update_data`` as an ordered name -> value dict, or None when it breaks the request rules."""
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_ITEMS:
        return None
    updates: dict[str, str] = {}
    for item in raw:
        if not isinstance(item, dict):
            return None
        name, value = item.get("field_name"), item.get("value")
        if not isinstance(name, str) or not name or not isinstance(value, str) or name in updates:
            return None
        updates[name] = value
    return updates


def handle(call: Call) -> wire.Response:
    try:
        body = wire.json_object(call.request.body)
    except wire.BadJson:
        return _fail(call, ILLEGAL)
    user_id_type = call.request.query.get("user_id_type", "people_corehr_id")
    offboarding_id, operator = body.get("offboarding_id"), body.get("operator_id")
    updates = parse_updates(body.get("update_data"))
    if user_id_type not in USER_ID_TYPES or updates is None:
        return _fail(call, ILLEGAL)
    if not isinstance(offboarding_id, str) or not offboarding_id.strip():
        return _fail(call, ILLEGAL)
    if operator is not None and not isinstance(operator, str):
        return _fail(call, ILLEGAL)
    call.offboarding_id = offboarding_id
    store = call.store
    with store.lock:
        if not store.released.wait_for(lambda: not store.busy(offboarding_id) or call.stopping.is_set(), WAIT):
            return _fail(call, 1160103)  # the record stayed busy: a system problem, as Feishu would report it
        record = store.get(offboarding_id)
        if record is None:
            return _fail(call, 1160625)
        people = store.people()
        if operator and ids.to_employment(operator, user_id_type, people) is None:
            return _fail(call, 1160624)
        code = edit_rules.check(record, updates, store.schema, people)
        if code is not None:
            return _fail(call, code)
        if call.processing_time <= 0:
            _apply(store, record, updates, operator)
            return _echo(updates)
        store.claim(offboarding_id)
    call.finish_write(offboarding_id, lambda later: _apply(store, later, updates, operator))
    return _echo(updates)


def _apply(store: Store, record: Record, updates: dict[str, str], operator: str | None) -> None:
    """Write the values (an empty one clears its field) and emit ``corehr.offboarding.updated_v2``."""
    values = record.values
    for name, value in updates.items():
        if value == "":
            values.pop(name, None)
        else:
            values[name] = value
    if "offboarding_date" in updates:
        store.touch()  # the day it takes effect moved
    store.updated(record, operator, list(updates))


def _echo(updates: dict[str, str]) -> wire.Response:
    return wire.success({"data": [{"field_name": name, "value": value} for name, value in updates.items()]})
