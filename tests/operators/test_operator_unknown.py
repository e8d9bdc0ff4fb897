"""Records whose write may have reached Feishu without a definite answer: ``unknown`` with advice, never
``failed``; a revoke is settled by one final revoke when it can be.

The emulator applies a write and then loses the answer (``after_processing=True``). Where the client's
``outcome_unknown`` flag is needed and the client on this branch does not set it yet, the operation's per-record
send (:meth:`Revoke.send`, :meth:`Edit.send`) raises the flagged error itself after the real request went through
(the server cannot set a client flag).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException
from operator_seed import APPROVED, EDITABLE, NO_NEED_APPROVAL

from airflow_provider_feishu_corehr.client.errors import FeishuTransientError
from airflow_provider_feishu_corehr.operators.edit import Edit
from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator, RevokeOffboardingOperator
from airflow_provider_feishu_corehr.operators.revoke import Revoke

if TYPE_CHECKING:
    from recording_ti import RecordingTI

    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook
    from airflow_provider_feishu_corehr.operators.records import Record
    from airflow_provider_feishu_corehr.testing import FeishuEmulator


def _lost_answer(endpoint: str) -> FeishuTransientError:
    return FeishuTransientError(
        "Service Unavailable; retry budget spent", code=503, http_status=503, endpoint=endpoint, outcome_unknown=True
    )


def test_revoke_applied_but_every_answer_lost_is_settled_as_revoked(
    fast_feishu: FeishuEmulator, ti: RecordingTI
) -> None:
    # Both attempts of the call (max_attempts=2) are processed, both answers lost: the first revoked it, the
    # second found it withdrawn. The final revoke answers 1160202: withdrawn after our attempt means revoked.
    fast_feishu.inject_fault("revoke", "http_503", count=2, after_processing=True)
    result = RevokeOffboardingOperator(task_id="r", offboarding_id=APPROVED).execute({"ti": ti})
    assert result["counts"]["revoked"] == result["total"] == 1
    record = result["records"][0]
    assert (record["outcome"], record["error"]) == ("revoked", None)
    assert fast_feishu.get_offboarding(APPROVED)["status"] == "Withdrawn"
    assert fast_feishu.request_count("revoke") == 3
    assert fast_feishu.request_count("revoke", http_status=503) == 2
    assert fast_feishu.request_count("revoke", code=1160202) == 1  # the final revoke


def test_revoke_batch_settles_what_it_can(
    fast_feishu: FeishuEmulator, ti: RecordingTI, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [fast_feishu.add_offboarding(employment_id=f"69600000000000000{i:02d}") for i in range(6)]
    real_send = Revoke.send

    def send(self: Revoke, hook: FeishuHook, record: Record, user_id_type: str | None) -> dict[str, Any]:
        real_send(self, hook, record, user_id_type)  # Feishu applies it ...
        if record.offboarding_id in ids[:3]:
            raise _lost_answer("revoke")  # ... and the answer is lost
        return {"outcome": "revoked", "log_id": None}

    monkeypatch.setattr(Revoke, "send", send)
    operator = RevokeOffboardingOperator(task_id="r", offboarding_id=ids, max_workers=1)
    report = operator.execute({"ti": ti})  # every record settled: the task succeeds
    assert [r["outcome"] for r in report["records"]] == ["revoked"] * 6
    assert report["counts"]["unknown"] == 0
    assert fast_feishu.request_count("revoke", code=1160202) == 3  # one final revoke per unsettled record


def test_revoke_that_cannot_be_settled_is_unknown_with_advice(
    fast_feishu: FeishuEmulator, ti: RecordingTI, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_send = Revoke.send

    def send(self: Revoke, hook: FeishuHook, record: Record, user_id_type: str | None) -> dict[str, Any]:
        real_send(self, hook, record, user_id_type)
        fast_feishu.inject_fault("revoke", "http_503", count=10)  # the final revoke meets an outage
        raise _lost_answer("revoke")

    monkeypatch.setattr(Revoke, "send", send)
    with pytest.raises(AirflowException) as info:
        RevokeOffboardingOperator(task_id="r", offboarding_id=NO_NEED_APPROVAL).execute({"ti": ti})
    assert not isinstance(info.value, AirflowFailException)  # another try may settle it
    assert ti.pushed["return_value"]["counts"]["unknown"] == ti.pushed["return_value"]["total"] == 1
    pushed = ti.pushed["return_value"]["records"][0]
    assert pushed["outcome"] == "unknown"
    assert pushed["error"]["kind"] == "transient"
    assert pushed["error"]["permanent"] is False
    assert pushed["error"]["message"].startswith("outcome unknown:")
    assert "status Withdrawn means it was revoked" in pushed["error"]["advice"]
    assert fast_feishu.get_offboarding(NO_NEED_APPROVAL)["status"] == "Withdrawn"  # it was applied after all


def test_edit_with_an_unknown_outcome_is_unknown_not_failed(
    fast_feishu: FeishuEmulator, ti: RecordingTI, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_send = Edit.send

    def send(self: Edit, hook: FeishuHook, record: Record, user_id_type: str | None) -> dict[str, Any]:
        if record.offboarding_id == EDITABLE:
            real_send(self, hook, record, user_id_type)
            raise _lost_answer("edit")
        return real_send(self, hook, record, user_id_type)

    monkeypatch.setattr(Edit, "send", send)
    operator = EditOffboardingOperator(
        task_id="e", offboarding_id=[APPROVED, EDITABLE], update_data={"handover_note__c": "late"}
    )
    with pytest.raises(AirflowException) as info:
        operator.execute({"ti": ti})
    assert not isinstance(info.value, AirflowFailException)
    report = ti.pushed["return_value"]
    assert [r["outcome"] for r in report["records"]] == ["edited", "unknown"]
    assert report["counts"] == {"edited": 1, "unchanged": 0, "conflict": 0, "failed": 0, "unknown": 1, "not_sent": 0}
    error = report["records"][1]["error"]
    assert "Read the offboarding's fields back" in error["advice"]
    # no employment_id to read it back: sent again in each of the 3 settle rounds (every answer lost here)
    assert fast_feishu.request_count("edit") == 5
    assert fast_feishu.record(EDITABLE)["handover_note__c"] == "late"
    assert json.loads(json.dumps(report)) == report


def test_revoke_with_known_employment_ids_is_settled_by_one_look_up(
    fast_feishu: FeishuEmulator, ti: RecordingTI, monkeypatch: pytest.MonkeyPatch
) -> None:
    employments = [f"69610000000000000{i:02d}" for i in range(4)]
    ids = [fast_feishu.add_offboarding(employment_id=e) for e in employments]
    records = [{"offboarding_id": i, "employment_id": e} for i, e in zip(ids, employments, strict=True)]
    real_send = Revoke.send

    def send(self: Revoke, hook: FeishuHook, record: Record, user_id_type: str | None) -> dict[str, Any]:
        real_send(self, hook, record, user_id_type)
        if record.offboarding_id == ids[-1]:
            fast_feishu.inject_fault("revoke", "http_503", count=50)  # the revoke endpoint is down from now on
        raise _lost_answer("revoke")

    monkeypatch.setattr(Revoke, "send", send)
    report = RevokeOffboardingOperator(task_id="r", offboardings=records, max_workers=1).execute({"ti": ti})
    assert [r["outcome"] for r in report["records"]] == ["revoked"] * 4
    assert [r["employment_id"] for r in report["records"]] == employments
    assert fast_feishu.request_count("search") == 1  # one look-up for the four records
    assert fast_feishu.request_count("revoke") == 4  # no final revoke was needed


def test_an_unexpected_error_after_the_request_was_sent_is_unknown(
    fast_feishu: FeishuEmulator, ti: RecordingTI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bug after the request went out (here: reading the answer) cannot say whether Feishu applied the write.
    from airflow_provider_feishu_corehr.client import api

    def broken_parse(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("cannot read the answer")

    monkeypatch.setattr(api, "parse_revoke", broken_parse)
    with pytest.raises(AirflowException) as info:
        RevokeOffboardingOperator(task_id="r", offboarding_id=APPROVED).execute({"ti": ti})
    assert not isinstance(info.value, AirflowFailException)
    pushed = ti.pushed["return_value"]["records"][0]
    assert pushed["outcome"] == "unknown"
    assert "unexpected RuntimeError" in pushed["error"]["message"]
    assert "cannot read the answer" not in json.dumps(ti.pushed)  # its text stays in the task log
    assert fast_feishu.get_offboarding(APPROVED)["status"] == "Withdrawn"  # it was applied
