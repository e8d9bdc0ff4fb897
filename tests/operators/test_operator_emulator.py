"""The operators against the emulator, called directly (``execute``): outcomes, XCom values, emulator state."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pendulum
import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException
from operator_seed import (
    APPROVED,
    APPROVING,
    EDITABLE,
    EMPLOYMENT,
    NO_NEED_APPROVAL,
    OFFBOARDED,
    REJECTED,
    UNKNOWN,
    WITHDRAWN,
)

from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator, RevokeOffboardingOperator

if TYPE_CHECKING:
    from recording_ti import RecordingTI

    from airflow_provider_feishu_corehr.testing import FeishuEmulator


def _status(emu: FeishuEmulator, offboarding_id: str) -> str:
    return str(emu.get_offboarding(offboarding_id)["status"])


def _last_log_id(emu: FeishuEmulator, endpoint: str) -> str | None:
    return [r for r in emu.requests if r.endpoint == endpoint][-1].log_id


def _revoke_counts(**counts: int) -> dict[str, int]:
    """The revoke envelope's counts: every outcome, zeros included."""
    keys = ("revoked", "already_withdrawn", "skipped", "conflict", "failed", "unknown", "not_sent")
    assert set(counts) <= set(keys)
    return {key: counts.get(key, 0) for key in keys}


def _edit_counts(**counts: int) -> dict[str, int]:
    """The edit envelope's counts: every outcome, zeros included."""
    keys = ("edited", "unchanged", "conflict", "failed", "unknown", "not_sent")
    assert set(counts) <= set(keys)
    return {key: counts.get(key, 0) for key in keys}


def _one(value: dict[str, Any]) -> dict[str, Any]:
    """The record of a one-id task's envelope."""
    assert value["total"] == 1 and len(value["records"]) == 1
    record: dict[str, Any] = value["records"][0]
    return record


# -- revoke ---------------------------------------------------------------------------------------------------


def test_revoke_one_record(fast_feishu: FeishuEmulator, ti: RecordingTI) -> None:
    result = RevokeOffboardingOperator(task_id="r", offboarding_id=APPROVED).execute({"ti": ti})
    # one id gives the same envelope as a list: one record, every key present
    assert result == {
        "operation": "revoke",
        "mode": "direct",
        "user_id_type": None,
        "total": 1,
        "counts": _revoke_counts(revoked=1),
        "verification": None,
        "records": [
            {
                "index": 0,
                "offboarding_id": APPROVED,
                "employment_id": None,
                "outcome": "revoked",
                "log_id": _last_log_id(fast_feishu, "revoke"),
                "error": None,
                "status": None,
                "reason": None,
                "conflict": None,
                "settled_by": None,
            }
        ],
    }
    assert result["records"][0]["log_id"]
    assert _status(fast_feishu, APPROVED) == "Withdrawn"
    assert json.loads(json.dumps(result)) == result
    assert ti.pushed == {}  # success: Airflow pushes the return value itself


def test_revoke_is_idempotent(fast_feishu: FeishuEmulator, ti: RecordingTI) -> None:
    operator = RevokeOffboardingOperator(task_id="r", offboarding_id=NO_NEED_APPROVAL)
    first = operator.execute({"ti": ti})
    second = operator.execute({"ti": ti})  # a re-run, or a retry after the first attempt went through
    assert (_one(first)["outcome"], _one(second)["outcome"]) == ("revoked", "already_withdrawn")
    assert _one(second)["error"] is None
    assert second["counts"] == _revoke_counts(already_withdrawn=1)
    assert fast_feishu.request_count("revoke") == 2
    assert fast_feishu.request_count("revoke", code=1160202) == 1
    assert _status(fast_feishu, NO_NEED_APPROVAL) == "Withdrawn"


def test_fail_if_already_withdrawn(fast_feishu: FeishuEmulator, ti: RecordingTI) -> None:
    operator = RevokeOffboardingOperator(task_id="r", offboarding_id=WITHDRAWN, fail_if_already_withdrawn=True)
    with pytest.raises(AirflowFailException, match="1160202"):
        operator.execute({"ti": ti})
    assert ti.pushed["return_value"]["counts"] == _revoke_counts(failed=1)
    pushed = _one(ti.pushed["return_value"])
    assert pushed["outcome"] == "failed"
    assert pushed["error"]["code"] == 1160202
    assert pushed["error"]["kind"] == "business"
    assert pushed["log_id"] == pushed["error"]["log_id"] == _last_log_id(fast_feishu, "revoke")


def test_revoke_of_an_unknown_offboarding_fails_without_task_retry(
    fast_feishu: FeishuEmulator, ti: RecordingTI
) -> None:
    with pytest.raises(
        AirflowFailException, match=rf"Revoke failed for 1 of 1 offboarding\(s\)(?s:.*)offboarding {UNKNOWN}: .*1160201"
    ):
        RevokeOffboardingOperator(task_id="r", offboarding_id=UNKNOWN).execute({"ti": ti})
    error = _one(ti.pushed["return_value"])["error"]
    assert error["code"] == 1160201
    assert error["permanent"] is True
    assert error["message"] == "offboarding is not exist"
    assert fast_feishu.request_count("revoke") == 1  # business errors are not retried


def test_transient_failure_leaves_task_retries_to_airflow(fast_feishu: FeishuEmulator, ti: RecordingTI) -> None:
    fast_feishu.inject_fault("revoke", "http_503", count=10)
    with pytest.raises(AirflowException) as info:
        RevokeOffboardingOperator(task_id="r", offboarding_id=APPROVED).execute({"ti": ti})
    assert not isinstance(info.value, AirflowFailException)
    record = _one(ti.pushed["return_value"])
    assert record["error"]["kind"] == "transient"
    assert record["error"]["permanent"] is False
    # the connection's retry budget (max_attempts=2), then one final revoke (with its budget) to settle it
    assert fast_feishu.request_count("revoke") == 4
    # an HTTP 503 to a write may have been applied (the client cannot tell), and the final revoke met 503s too:
    # the record is reported unknown, not failed, although this emulator fault answered before processing
    assert record["outcome"] == "unknown"
    assert _status(fast_feishu, APPROVED) == "Approved"


def test_revoke_with_operator_and_user_id_type(fast_feishu: FeishuEmulator, ti: RecordingTI) -> None:
    operator_open_id = fast_feishu.employment_id_as(EMPLOYMENT, "open_id")
    result = RevokeOffboardingOperator(
        task_id="r", offboarding_id=APPROVED, operator_id=operator_open_id, user_id_type="open_id"
    ).execute({"ti": ti})
    assert _one(result)["outcome"] == "revoked"
    assert result["user_id_type"] == "open_id"


def test_unexpected_error_text_stays_out_of_xcom(
    fast_feishu: FeishuEmulator, ti: RecordingTI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bug, not a Feishu answer (the server cannot produce it): its text may quote anything, so XCom, which
    # the secret masker does not redact, names only its type. The other record is still revoked.
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

    real_revoke = FeishuHook.revoke_offboarding

    def revoke(self: FeishuHook, offboarding_id: str, **kwargs: Any) -> Any:
        if offboarding_id == OFFBOARDED:
            raise RuntimeError("personal value and t-some-token in the text")
        return real_revoke(self, offboarding_id, **kwargs)

    monkeypatch.setattr(FeishuHook, "revoke_offboarding", revoke)
    with pytest.raises(AirflowException) as info:
        RevokeOffboardingOperator(task_id="r", offboarding_id=[APPROVED, OFFBOARDED]).execute({"ti": ti})
    assert not isinstance(info.value, AirflowFailException)  # unexpected: another try may pass
    records = ti.pushed["return_value"]["records"]
    assert [r["outcome"] for r in records] == ["revoked", "failed"]
    assert records[1]["error"] == {
        "kind": "unexpected",
        "code": None,
        "message": "unexpected RuntimeError (see the task log)",
        "advice": None,
        "log_id": None,
        "permanent": False,
    }
    assert "t-some-token" not in json.dumps(ti.pushed)


def test_revoke_batch_mixed(fast_feishu: FeishuEmulator, ti: RecordingTI) -> None:
    ids = [APPROVED, WITHDRAWN, UNKNOWN, "  ", REJECTED, OFFBOARDED, NO_NEED_APPROVAL, APPROVING]
    with pytest.raises(AirflowFailException) as info:
        # A static list with a blank id is a DAG error; rendered from a template, the blank id fails alone.
        operator = RevokeOffboardingOperator(task_id="r", offboarding_id="{{ params.ids }}", max_workers=3)
        operator.offboarding_id = ids
        operator.execute({"ti": ti})
    report = ti.pushed["return_value"]
    assert report["total"] == 8
    outcomes = [(r["index"], r["offboarding_id"], r["outcome"]) for r in report["records"]]
    assert outcomes == [
        (0, APPROVED, "revoked"),
        (1, WITHDRAWN, "already_withdrawn"),
        (2, UNKNOWN, "failed"),
        (3, "  ", "failed"),
        (4, REJECTED, "failed"),
        (5, OFFBOARDED, "revoked"),
        (6, NO_NEED_APPROVAL, "revoked"),
        (7, APPROVING, "revoked"),
    ]
    assert report["counts"] == _revoke_counts(revoked=4, already_withdrawn=1, failed=3)
    errors = {r["index"]: r["error"] for r in report["records"] if r["error"]}
    assert errors[2]["code"] == 1160201
    assert errors[3]["kind"] == "invalid_input"
    assert errors[4]["code"] == 1160102
    assert fast_feishu.request_count("revoke") == 7  # the blank id was never sent
    assert "Revoke failed for 3 of 8 offboarding(s)" in str(info.value)
    for offboarding_id in (APPROVED, OFFBOARDED, NO_NEED_APPROVAL, APPROVING):
        assert _status(fast_feishu, offboarding_id) == "Withdrawn"
    assert _status(fast_feishu, REJECTED) == "Rejected"


def test_revoke_batch_all_fine_returns_the_report(fast_feishu: FeishuEmulator, ti: RecordingTI) -> None:
    ids = [fast_feishu.add_offboarding(employment_id=f"69000000000000000{i:02d}") for i in range(12)]
    report = RevokeOffboardingOperator(task_id="r", offboarding_id=json.dumps(ids)).execute({"ti": ti})
    assert report["counts"] == _revoke_counts(revoked=12)
    assert [r["offboarding_id"] for r in report["records"]] == ids
    assert all(_status(fast_feishu, i) == "Withdrawn" for i in ids)
    assert ti.pushed == {}


def test_empty_batch_revokes_nothing(fast_feishu: FeishuEmulator, ti: RecordingTI) -> None:
    report = RevokeOffboardingOperator(task_id="r", offboarding_id=[]).execute({"ti": ti})
    assert report == {
        "operation": "revoke",
        "mode": "direct",
        "user_id_type": None,
        "total": 0,
        "counts": _revoke_counts(),
        "verification": None,
        "records": [],
    }
    assert fast_feishu.request_count() == 0


def test_revoke_with_documented_rate_limits(feishu_connection: FeishuEmulator, ti: RecordingTI) -> None:
    """The plugin's fixture: documented limits on both sides; a small batch goes through without a 429."""
    ids = [feishu_connection.add_offboarding(employment_id=f"69100000000000000{i:02d}") for i in range(25)]
    report = RevokeOffboardingOperator(task_id="r", offboarding_id=ids, max_workers=8).execute({"ti": ti})
    assert report["counts"]["revoked"] == 25
    assert feishu_connection.request_count("revoke", http_status=429) == 0


# -- edit -----------------------------------------------------------------------------------------------------


def test_edit_converts_python_values(fast_feishu: FeishuEmulator, ti: RecordingTI) -> None:
    update = {
        "offboarding_date": pendulum.date(2026, 4, 15),
        "last_attendance_date": dt.date(2026, 4, 14),
        "apply_finish_time": pendulum.naive(2026, 2, 11, 9, 30, 5),
        "exit_interview_time__c": pendulum.datetime(2026, 4, 1, 2, 0, 0),  # UTC -> Asia/Shanghai wall-clock
        "exit_interview_done__c": True,
        "retain_account": False,
        "severance_months__c": Decimal("2.50"),
        "exit_tags__c": ["tag_alumni", "tag_knowledge_transfer"],
        "exit_channel__c": "channel_manager",
        "handover_note__c": "Handover to the data team",
    }
    result = EditOffboardingOperator(
        task_id="e", offboarding_id=EDITABLE, update_data=update, timezone="Asia/Shanghai"
    ).execute({"ti": ti})
    assert result["operation"] == "edit" and result["counts"] == _edit_counts(edited=1)
    record = _one(result)
    expected = {
        "offboarding_date": "2026-04-15",
        "last_attendance_date": "2026-04-14",
        "apply_finish_time": "2026-02-11 09:30:05",
        "exit_interview_time__c": "2026-04-01 10:00:00",
        "exit_interview_done__c": "true",
        "retain_account": "false",
        "severance_months__c": "2.50",
        "exit_tags__c": '["tag_alumni","tag_knowledge_transfer"]',
        "exit_channel__c": "channel_manager",
        "handover_note__c": "Handover to the data team",
    }
    assert record["outcome"] == "edited"
    assert record["field_names"] == list(update)
    assert {f["field_name"]: f["value"] for f in record["fields"]} == expected
    assert record["log_id"] == _last_log_id(fast_feishu, "edit")
    stored = fast_feishu.record(EDITABLE)
    for name, value in expected.items():
        assert json.loads(stored[name]) == json.loads(value) if name == "exit_tags__c" else stored[name] == value


def test_edit_float_and_int(fast_feishu: FeishuEmulator, ti: RecordingTI) -> None:
    for value, wire in ((3, "3"), (1.5, "1.5"), (1e16, "10000000000000000")):
        EditOffboardingOperator(
            task_id="e", offboarding_id=APPROVED, update_data={"severance_months__c": value}
        ).execute({"ti": ti})
        assert fast_feishu.record(APPROVED)["severance_months__c"] == wire


def test_edit_api_list_form_and_json_text(fast_feishu: FeishuEmulator, ti: RecordingTI) -> None:
    as_list = [{"field_name": "handover_note__c", "value": "from list"}]
    EditOffboardingOperator(task_id="e", offboarding_id=APPROVED, update_data=as_list).execute({"ti": ti})
    assert fast_feishu.record(APPROVED)["handover_note__c"] == "from list"
    as_json = json.dumps({"handover_note__c": "from json", "exit_interview_done__c": True})
    result = EditOffboardingOperator(task_id="e", offboarding_id=APPROVED, update_data=as_json).execute({"ti": ti})
    assert _one(result)["field_names"] == ["handover_note__c", "exit_interview_done__c"]
    assert fast_feishu.record(APPROVED)["exit_interview_done__c"] == "true"


def test_edit_business_error_is_permanent(fast_feishu: FeishuEmulator, ti: RecordingTI) -> None:
    with pytest.raises(AirflowFailException, match="1160623"):
        EditOffboardingOperator(task_id="e", offboarding_id=APPROVING, update_data={"handover_note__c": "x"}).execute(
            {"ti": ti}
        )
    assert ti.pushed["return_value"]["counts"] == _edit_counts(failed=1)
    pushed = _one(ti.pushed["return_value"])
    assert pushed["outcome"] == "failed"
    assert pushed["fields"] is None
    assert pushed["field_names"] == ["handover_note__c"]
    assert pushed["error"]["code"] == 1160623


def test_edit_same_change_on_many_records(fast_feishu: FeishuEmulator, ti: RecordingTI) -> None:
    ids = [APPROVED, EDITABLE, NO_NEED_APPROVAL]
    report = EditOffboardingOperator(task_id="e", offboarding_id=ids, update_data={"retain_account": True}).execute(
        {"ti": ti}
    )
    assert report["counts"] == _edit_counts(edited=3)
    assert all(fast_feishu.record(i)["retain_account"] == "true" for i in ids)


def test_edit_records_with_their_own_operator(fast_feishu: FeishuEmulator, ti: RecordingTI) -> None:
    records = [
        {"offboarding_id": APPROVED, "update_data": {"handover_note__c": "a"}, "operator_id": EMPLOYMENT},
        {"offboarding_id": EDITABLE, "update_data": [{"field_name": "handover_note__c", "value": "b"}]},
        {"offboarding_id": APPROVED.replace("4", "9"), "update_data": {"handover_note__c": "c"}},
        {"offboarding_id": NO_NEED_APPROVAL, "update_data": {"handover_note__c": "d"}, "operator_id": "404"},
    ]
    with pytest.raises(AirflowFailException) as info:
        EditOffboardingOperator(task_id="e", offboardings=records, operator_id=EMPLOYMENT).execute({"ti": ti})
    report = ti.pushed["return_value"]
    assert [r["outcome"] for r in report["records"]] == ["edited", "edited", "failed", "failed"]
    assert report["records"][2]["error"]["code"] == 1160625
    assert report["records"][3]["error"]["code"] == 1160624
    assert "Edit failed for 2 of 4" in str(info.value)
    assert fast_feishu.record(APPROVED)["handover_note__c"] == "a"
    assert fast_feishu.record(EDITABLE)["handover_note__c"] == "b"


# -- a batch against an outage stops early; business errors never stop it ---------------------------------------


def test_batch_stops_after_ten_systemic_failures_in_a_row(fast_feishu: FeishuEmulator, ti: RecordingTI) -> None:
    ids = [fast_feishu.add_offboarding(employment_id=f"69400000000000000{i:02d}") for i in range(30)]
    fast_feishu.inject_fault("edit", "http_503", count=1000)
    operator = EditOffboardingOperator(
        task_id="e", offboarding_id=ids, update_data={"handover_note__c": "x"}, max_workers=1
    )
    with pytest.raises(AirflowException) as info:
        operator.execute({"ti": ti})
    assert not isinstance(info.value, AirflowFailException)  # an outage: Airflow may retry the task
    records = ti.pushed["return_value"]["records"]
    assert [r["error"]["kind"] for r in records] == ["transient"] * 10 + ["not_sent"] * 20
    # an HTTP 503 to an edit may have been applied: unknown, never failed (docs/transport.md)
    assert [r["outcome"] for r in records] == ["unknown"] * 10 + ["not_sent"] * 20
    assert records[10]["error"]["permanent"] is False
    assert "10 records in a row failed with transient errors" in records[10]["error"]["message"]
    # ten records, one attempt each: an edit is not re-sent after an HTTP 5xx (the edit defence, docs/transport.md)
    assert fast_feishu.request_count("edit") == 10


def test_batch_with_a_wrong_secret_sends_no_record(
    fast_feishu: FeishuEmulator, ti: RecordingTI, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = json.loads(fast_feishu.airflow_conn_json())
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_WRONG", json.dumps({**conn, "password": "not-the-secret"}))
    operator = RevokeOffboardingOperator(
        task_id="r", offboarding_id=[APPROVED, OFFBOARDED, NO_NEED_APPROVAL], feishu_conn_id="feishu_wrong"
    )
    with pytest.raises(AirflowFailException, match="no tenant access token could be obtained"):
        operator.execute({"ti": ti})
    records = ti.pushed["return_value"]["records"]
    assert [r["error"]["kind"] for r in records] == ["not_sent"] * 3
    assert all(r["error"]["permanent"] for r in records)
    assert fast_feishu.request_count("revoke") == 0
    assert fast_feishu.request_count("token") == 1
    assert "not-the-secret" not in json.dumps(ti.pushed)


def test_business_errors_in_a_row_do_not_stop_a_batch(fast_feishu: FeishuEmulator, ti: RecordingTI) -> None:
    unknown = [f"70000000000000001{i:02d}" for i in range(15)]
    with pytest.raises(AirflowFailException):
        RevokeOffboardingOperator(task_id="r", offboarding_id=[*unknown, APPROVED], max_workers=1).execute({"ti": ti})
    report = ti.pushed["return_value"]
    assert report["counts"] == _revoke_counts(revoked=1, failed=15)
    assert fast_feishu.request_count("revoke") == 16
