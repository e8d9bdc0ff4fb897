"""``POST /open-apis/corehr/v2/offboardings/revoke``.

Checks in order: request (1160102: body not a JSON object, ``offboarding_id`` missing/empty, ``operator_id`` not
a string, unknown ``user_id_type``), record missing (1160201), already ``Withdrawn`` (1160202), modification /
withdrawal approval pending (1160205 / 1160206), ``concurrent_revokes`` left (1160204, one used per revoke),
``department_disabled`` (1160203), ``Rejected`` (1160102, see below).

Revocable: ``Approving``, ``Approved``, ``NoNeedApproval`` and ``Offboarded``. The page is silent on an
offboarding that took effect; the emulator lets it be withdrawn (the employee is reinstated), because the page's
own 1160203 "department disabled" only makes sense for a reinstatement, and refusing would invent a code (see
``docs/decisions.md``). Edits of an ``Offboarded`` record, by contrast, answer the edit page's 1160631.

A revocable record becomes ``Withdrawn``, or, with ``revoke_needs_approval``, keeps its status and enters a
withdrawal approval (``pending_approval="withdrawal"``) until the control API sets its status. A success emits
``corehr.offboarding.updated_v2`` (``updated_fields`` ``["status"]``, or empty when an approval started) and,
with the status change, ``status_updated_v2``.

A ``Rejected`` offboarding never took effect and has nothing to withdraw; the page documents no code for it.
It answers 1160102 "parameter is illegal" (permanent, "check offboarding_id"): not 1160202, which clients treat
as "already withdrawn, done", and not 1160201, which would claim the record does not exist.

Processing time (``FeishuEmulator(processing_time=...)``): a revoke holds its record for that long before the
change is applied; any revoke of a record another write is still processing answers 1160204 "can not been
withrawn in the same time", the page's code for a concurrent revoke. With no processing time (the default)
requests are served one after the other: a second revoke then finds the record withdrawn (1160202).

``operator_id`` is not checked against known people: the revoke page has no code for an unknown operator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_feishu_corehr.testing import wire
from airflow_provider_feishu_corehr.testing.api_pages import USER_ID_TYPES, Endpoint

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing.handlers import Call
    from airflow_provider_feishu_corehr.testing.records import Record

ILLEGAL = 1160102
CONCURRENT = 1160204
REVOCABLE = frozenset({"Approving", "Approved", "NoNeedApproval", "Offboarded"})


def _fail(call: Call, code: int) -> wire.Response:
    return wire.error(Endpoint.REVOKE, code, call.log_id)


def handle(call: Call) -> wire.Response:
    try:
        body = wire.json_object(call.request.body)
    except wire.BadJson:
        return _fail(call, ILLEGAL)
    offboarding_id, operator = body.get("offboarding_id"), body.get("operator_id")
    if call.request.query.get("user_id_type", "people_corehr_id") not in USER_ID_TYPES:
        return _fail(call, ILLEGAL)
    if not isinstance(offboarding_id, str) or not offboarding_id.strip():
        return _fail(call, ILLEGAL)
    if operator is not None and not isinstance(operator, str):
        return _fail(call, ILLEGAL)
    call.offboarding_id = offboarding_id
    store = call.store
    with store.lock:
        record = store.get(offboarding_id)
        if record is None:
            return _fail(call, 1160201)
        if store.busy(offboarding_id):
            return _fail(call, CONCURRENT)
        code = _refusal(record)
        if code is not None:
            return _fail(call, code)
        if call.processing_time <= 0:
            _withdraw(call, record, operator)
            return wire.success({})
        store.claim(offboarding_id)
    call.finish_write(offboarding_id, lambda later: _withdraw(call, later, operator))
    return wire.success({})


def _refusal(record: Record) -> int | None:
    if record.status == "Withdrawn":
        return 1160202
    if record.pending_approval == "modification":
        return 1160205
    if record.pending_approval == "withdrawal":
        return 1160206
    if record.concurrent_revokes > 0:
        record.concurrent_revokes -= 1
        return CONCURRENT
    if record.department_disabled:
        return 1160203
    if record.status not in REVOCABLE:
        return ILLEGAL
    return None


def _withdraw(call: Call, record: Record, operator: str | None) -> None:
    """Withdraw (or start a withdrawal approval); emits the status event (via the store) and ``updated_v2``."""
    if record.revoke_needs_approval:
        record.pending_approval = "withdrawal"
        call.store.updated(record, operator, [])
    else:
        call.store.move(record, "Withdrawn", "revoke")
        call.store.updated(record, operator, ["status"])
