"""One table of bad inputs across the operators and the hook: each is refused with ``FeishuInvalidInputError``
whose message names the field, and the emulator receives no request at all (not even a token request).

Operators are built with the value as a static argument (checked when the DAG is parsed); the rendered path (the
same checks after templating) is covered row by row in ``tests/operators/test_operator_validation.py``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.models import FieldValue
from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook
from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator, RevokeOffboardingOperator

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

OID = "7095671727698478604"
EID = "6982509313466189341"
NOTE = {"handover_note__c": "to the platform team"}
FV = [FieldValue("handover_note__c", "x")]

# Texts that are not ids under any user_id_type.
NOT_IDS: list[Any] = [
    "",
    " ",
    "\t",
    "\n",
    "None",
    "none",
    "NULL",
    "null",
    "undefined",
    "nan",
    "NaN",
    "nil",
    f"{OID}\n",
    f"\n{OID}",
    f"{OID}\r\n",
    f"{OID[:9]}\n{OID[9:]}",
    f"{OID[:9]}\t{OID[9:]}",
    f"{OID[:9]} {OID[9:]}",
    f" {OID}",
    f"{OID} ",
    f"{OID[:9]}\u200b{OID[9:]}",
    f"\u200b{OID}",
    f"{OID}\u200d",
    f"\ufeff{OID}",
    f"{OID}\u2028",
    f"{OID}\x00",
    f"{OID[:4]}\x1b{OID[4:]}",
    f"{OID}\x7f",
    f"\u00a0{OID}",
    f"{OID}\u3000",
    f"{OID}\u202e",
    "1" * 65,
    "9" * 100_000,
    7095671727698478604,
    70956717.5,
    True,
    b"7095671727698478604",
    [OID],
    {"id": OID},
]
# Not an offboarding id (those are all ASCII digits), although some could be another id type.
NOT_OFFBOARDING_IDS: list[Any] = [
    "\uff17\uff10\uff19\uff15",
    "abc",
    "7095-6717",
    "0x1F",
    "1e10",
    "-1",
    "+7095671727698478604",
    "7095671727698478604.0",
    "ou_7dab8a3d3cdcc9da365777c7ad535d62",
    "\u0667\u0660\u0669",
]


def _revoke_op(**kwargs: Any) -> Callable[[], Any]:
    return lambda: RevokeOffboardingOperator(task_id="t", **kwargs)


def _edit_op(**kwargs: Any) -> Callable[[], Any]:
    return lambda: EditOffboardingOperator(task_id="t", **kwargs)


def _hook(method: str, *args: Any, **kwargs: Any) -> Callable[[], Any]:
    def call() -> Any:
        result = getattr(FeishuHook(), method)(*args, **kwargs)
        return list(result) if method == "search_offboardings" else result

    return call


ROWS: list[tuple[str, Callable[[], Any], str]] = []


def _add(name: str, call: Callable[[], Any], field: str) -> None:
    ROWS.append((name, call, field))


for n, bad in enumerate(NOT_IDS):
    if bad != [OID]:  # a list is a batch for the operators
        _add(f"revoke-op-id-{n}", _revoke_op(offboarding_id=bad), "offboarding_id")
    _add(f"hook-revoke-id-{n}", _hook("revoke_offboarding", bad), "offboarding_id")
    _add(f"hook-edit-id-{n}", _hook("edit_offboarding", bad, FV), "offboarding_id")
    _add(f"hook-get-employment-{n}", _hook("get_offboarding", bad), "employment_id")
    if isinstance(bad, str):
        _add(f"revoke-op-list-{n}", _revoke_op(offboarding_id=[OID, bad]), "offboarding_id")
        _add(
            f"edit-op-records-{n}",
            _edit_op(offboardings=[{"offboarding_id": bad, "update_data": NOTE}]),
            "offboarding_id",
        )
        _add(f"hook-search-employment-{n}", _hook("search_offboardings", employment_ids=[EID, bad]), "employment_ids")
        _add(f"hook-lookup-{n}", _hook("lookup_offboardings", [bad]), "employment_ids")
        if bad:  # "" means "not given" for optional ids
            _add(f"revoke-op-operator-{n}", _revoke_op(offboarding_id=OID, operator_id=bad), "operator_id")
            _add(f"hook-get-offboarding-{n}", _hook("get_offboarding", EID, offboarding_id=bad), "offboarding_id")
for n, bad in enumerate(NOT_OFFBOARDING_IDS):
    _add(f"revoke-op-digits-{n}", _revoke_op(offboarding_id=bad), "offboarding_id")
    _add(f"edit-op-digits-{n}", _edit_op(offboarding_id=bad, update_data=NOTE), "offboarding_id")
    _add(f"hook-revoke-digits-{n}", _hook("revoke_offboarding", bad), "offboarding_id")

OTHER: list[tuple[str, Callable[[], Any], str]] = [
    ("hook-search-statuses-int", _hook("search_offboardings", statuses=5), "statuses"),
    ("hook-search-statuses-item", _hook("search_offboardings", statuses=["Approved", 5]), "statuses"),
    ("hook-search-statuses-bytes", _hook("search_offboardings", statuses=b"Approved"), "statuses"),
    ("hook-search-statuses-dict", _hook("search_offboardings", statuses={"Approved": 1}), "statuses"),
    ("hook-search-statuses-name", _hook("search_offboardings", statuses="approved"), "statuses"),
    ("hook-search-statuses-11", _hook("search_offboardings", statuses=["Approved"] * 11), "statuses"),
    ("hook-search-employment-int", _hook("search_offboardings", employment_ids=5), "employment_ids"),
    ("hook-search-employment-empty", _hook("search_offboardings", employment_ids=[]), "employment_ids"),
    ("hook-search-employment-dict", _hook("search_offboardings", employment_ids={EID: 1}), "employment_ids"),
    ("hook-search-employment-bytes", _hook("search_offboardings", employment_ids=b"69"), "employment_ids"),
    ("hook-search-page-size-0", _hook("search_offboardings", page_size=0), "page_size"),
    ("hook-search-page-size-101", _hook("search_offboardings", page_size=101), "page_size"),
    ("hook-search-page-size-text", _hook("search_offboardings", page_size="10"), "page_size"),
    ("hook-search-page-size-bool", _hook("search_offboardings", page_size=True), "page_size"),
    ("hook-search-user-id-type", _hook("search_offboardings", user_id_type="email"), "user_id_type"),
    ("hook-search-user-id-type-int", _hook("search_offboardings", user_id_type=5), "user_id_type"),
    ("hook-search-user-id-type-list", _hook("search_offboardings", user_id_type=["open_id"]), "user_id_type"),
    (
        "hook-search-date-alone",
        _hook("search_offboardings", offboarding_date_start="2026-01-01"),
        "offboarding_date_start",
    ),
    (
        "hook-search-date-invalid",
        _hook("search_offboardings", offboarding_date_start="2026-13-01", offboarding_date_end="2026-12-31"),
        "offboarding_date_start",
    ),
    (
        "hook-search-date-int",
        _hook("search_offboardings", offboarding_date_start=5, offboarding_date_end=6),
        "offboarding_date_start",
    ),
    (
        "hook-search-date-order",
        _hook(
            "search_offboardings",
            expected_offboarding_date_start=dt.date(2026, 2, 1),
            expected_offboarding_date_end=dt.date(2026, 1, 1),
        ),
        "expected_offboarding_date_start",
    ),
    ("hook-edit-update-dict", _hook("edit_offboarding", OID, {"handover_note__c": "x"}), "update_data"),
    ("hook-edit-update-text", _hook("edit_offboarding", OID, "handover_note__c"), "update_data"),
    ("hook-edit-update-empty", _hook("edit_offboarding", OID, []), "update_data"),
    ("hook-edit-update-none", _hook("edit_offboarding", OID, None), "update_data"),
    ("hook-edit-update-item", _hook("edit_offboarding", OID, [{"field_name": "a", "value": "b"}]), "update_data"),
    ("hook-edit-operator", _hook("edit_offboarding", OID, FV, operator_id="null"), "operator_id"),
    ("hook-edit-user-id-type", _hook("edit_offboarding", OID, FV, user_id_type="mail"), "user_id_type"),
    ("hook-revoke-operator-int", _hook("revoke_offboarding", OID, operator_id=5), "operator_id"),
    ("hook-revoke-user-id-type", _hook("revoke_offboarding", OID, user_id_type=""), "user_id_type"),
    ("hook-lookup-int", _hook("lookup_offboardings", 5), "employment_ids"),
    ("hook-lookup-none", _hook("lookup_offboardings", None), "employment_ids"),
    ("hook-lookup-item-none", _hook("lookup_offboardings", [None]), "employment_ids"),
    ("hook-get-user-id-type", _hook("get_offboarding", EID, user_id_type="ID"), "user_id_type"),
    ("revoke-op-max-workers-0", _revoke_op(offboarding_id=OID, max_workers=0), "max_workers"),
    ("revoke-op-max-workers-text", _revoke_op(offboarding_id=OID, max_workers="4"), "max_workers"),
    ("revoke-op-max-workers-float", _revoke_op(offboarding_id=OID, max_workers=2.0), "max_workers"),
    ("revoke-op-flag", _revoke_op(offboarding_id=OID, fail_if_already_withdrawn="no"), "fail_if_already_withdrawn"),
    ("revoke-op-user-id-type", _revoke_op(offboarding_id=OID, user_id_type="OPEN_ID"), "user_id_type"),
    ("revoke-op-list-json", _revoke_op(offboarding_id='["7095671727698478604",'), "offboarding_id"),
    ("revoke-op-list-none", _revoke_op(offboarding_id=None), "offboarding_id"),
    ("revoke-op-list-dict", _revoke_op(offboarding_id={"a": OID}), "offboarding_id"),
    ("edit-op-timezone", _edit_op(offboarding_id=OID, update_data=NOTE, timezone="Mars/Base"), "timezone"),
    ("edit-op-timezone-int", _edit_op(offboarding_id=OID, update_data=NOTE, timezone=8), "timezone"),
    ("edit-op-update-none-value", _edit_op(offboarding_id=OID, update_data={"a__c": None}), "a__c"),
    ("edit-op-update-bytes", _edit_op(offboarding_id=OID, update_data={"a__c": b"x"}), "a__c"),
    ("edit-op-update-name-int", _edit_op(offboarding_id=OID, update_data={5: "x"}), "field name"),
    ("edit-op-update-int", _edit_op(offboarding_id=OID, update_data=5), "update_data"),
    ("edit-op-update-text", _edit_op(offboarding_id=OID, update_data="[1"), "update_data"),
    ("edit-op-records-int", _edit_op(offboardings=5), "offboardings"),
    ("edit-op-records-item", _edit_op(offboardings=[5]), "must be a mapping with offboarding_id"),
    ("edit-op-records-key", _edit_op(offboardings=[{"offboarding_id": OID, "update_data": NOTE, "x": 1}]), "'x'"),
    (
        "edit-op-records-operator",
        _edit_op(offboardings=[{"offboarding_id": OID, "update_data": NOTE, "operator_id": "None"}]),
        "operator_id",
    ),
]
ROWS.extend(OTHER)


def test_the_table_has_more_than_150_distinct_bad_inputs() -> None:
    assert len({name for name, _, _ in ROWS}) == len(ROWS) > 150


@pytest.mark.parametrize(("call", "field"), [(c, f) for _, c, f in ROWS], ids=[n for n, _, _ in ROWS])
def test_bad_input_is_refused_naming_the_field_before_any_request(
    feishu_connection: FeishuEmulator, call: Callable[[], Any], field: str
) -> None:
    with pytest.raises(FeishuInvalidInputError) as info:
        call()
    message = str(info.value)
    assert field in message, message
    assert len(message) < 2_000  # never the 100,000-character value
    assert feishu_connection.request_count() == 0, [r.endpoint for r in feishu_connection.requests]


def _xcom_size(ti_push: dict[str, Any]) -> int:
    return len(json.dumps(ti_push["return_value"]))


@pytest.mark.parametrize("copies", [1000, 2000])
def test_many_copies_of_one_id_give_a_small_linear_report(feishu_connection: FeishuEmulator, copies: int) -> None:
    from recording_ti import RecordingTI

    operator = RevokeOffboardingOperator(task_id="t", offboarding_id="{{ params.ids }}")
    operator.offboarding_id = [OID] * copies
    ti = RecordingTI()
    with pytest.raises(AirflowFailException, match="is listed"):
        operator.execute({"ti": ti})  # type: ignore[arg-type]
    report = ti.pushed["return_value"]
    assert report["counts"]["failed"] == copies
    per_record = _xcom_size(ti.pushed) / copies
    assert per_record < 500, per_record  # each message names 5 positions at most, whatever the count
    assert f"listed {copies} times" in report["records"][-1]["error"]["message"]
    assert feishu_connection.request_count() == 0
