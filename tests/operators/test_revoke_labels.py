"""A revoke's outcome says what happened (issue 18, part 2), against the emulator's faults.

- A 1160202 answering a retry of our own revoke (an earlier attempt may have reached Feishu) is ``revoked``
  (``settled_by`` ``already_withdrawn_after_retry``), also with ``fail_if_already_withdrawn=True``.
- A settling revoke that is itself ambiguous leads to one more batched look-up: ``Withdrawn`` is ``revoked``
  (``settled_by`` ``look_up``), anything else ``unknown``; never ``failed``.
- Found withdrawn when nothing of ours can have reached Feishu: ``already_withdrawn`` (someone else withdrew it).
- An edit answered code 0 without its ``data`` is not ``edited`` with empty fields: it is an unreadable answer.

The connection of ``fast_feishu`` allows 2 attempts per call.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException
from operator_seed import APPROVED, EMPLOYMENT, WITHDRAWN

from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator, RevokeOffboardingOperator

if TYPE_CHECKING:
    from recording_ti import RecordingTI

    from airflow_provider_feishu_corehr.testing import FeishuEmulator


def _only(report: dict[str, Any]) -> dict[str, Any]:
    assert report["total"] == 1
    record: dict[str, Any] = report["records"][0]
    return record


# -- our own revoke, answered 1160202 on the retry ------------------------------------------------------------


@pytest.mark.parametrize("fault", ["http_503", "reset", "bad_json", "html_502"])
@pytest.mark.parametrize("fail_if_already_withdrawn", [False, True])
def test_own_revoke_whose_answer_was_lost_is_revoked_not_already_withdrawn(
    fast_feishu: FeishuEmulator,
    ti: RecordingTI,
    fault: str,
    fail_if_already_withdrawn: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The first attempt is applied and its answer lost; the retry answers 1160202: that is our revoke.
    # Three attempts: a pooled connection the server closed after the fault may fail the next attempt before it
    # reaches the emulator (seen once in a loaded full run); the answer must still come within the call.
    conn = json.loads(fast_feishu.airflow_conn_json())
    conn["extra"] = {"rate_limits": "off", "max_attempts": 3, "backoff_base": 0.01, "backoff_max": 0.05}
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_DEFAULT", json.dumps(conn))
    fast_feishu.inject_fault("revoke", fault, count=1, after_processing=True)
    operator = RevokeOffboardingOperator(
        task_id="r", offboarding_id=APPROVED, fail_if_already_withdrawn=fail_if_already_withdrawn
    )
    report = operator.execute({"ti": ti})  # succeeds: never a failed record, never AirflowFailException
    record = _only(report)
    assert (record["outcome"], record["settled_by"], record["error"]) == (
        "revoked",
        "already_withdrawn_after_retry",
        None,
    )
    assert report["counts"]["revoked"] == 1 and report["counts"]["already_withdrawn"] == 0
    assert record["log_id"]  # the log id of the answer that confirmed it
    assert fast_feishu.request_count("revoke") == 2
    assert fast_feishu.request_count("revoke", code=1160202) == 1
    assert fast_feishu.get_offboarding(APPROVED)["status"] == "Withdrawn"


def test_withdrawn_before_the_task_is_still_already_withdrawn(fast_feishu: FeishuEmulator, ti: RecordingTI) -> None:
    # No ambiguous attempt: the first answer is 1160202, so someone else withdrew it.
    record = _only(RevokeOffboardingOperator(task_id="r", offboarding_id=WITHDRAWN).execute({"ti": ti}))
    assert (record["outcome"], record["settled_by"]) == ("already_withdrawn", None)


def test_withdrawn_before_the_task_fails_with_fail_if_already_withdrawn(
    fast_feishu: FeishuEmulator, ti: RecordingTI
) -> None:
    # A refused rate-limit attempt is definite (nothing applied): the retry's 1160202 is not ours.
    fast_feishu.inject_fault("revoke", "rate_limit_429", count=1, reset=0)
    operator = RevokeOffboardingOperator(task_id="r", offboarding_id=WITHDRAWN, fail_if_already_withdrawn=True)
    with pytest.raises(AirflowFailException):
        operator.execute({"ti": ti})
    record = _only(ti.pushed["return_value"])
    assert (record["outcome"], record["error"]["code"]) == ("failed", 1160202)


# -- settling: the final revoke is ambiguous too ----------------------------------------------------------------


def test_ambiguous_settling_revoke_is_looked_up_again_and_revoked(fast_feishu: FeishuEmulator, ti: RecordingTI) -> None:
    employment = "6960000000000000101"
    offboarding = fast_feishu.add_offboarding(employment_id=employment)
    # the call: two 503s not applied (unknown); the first look-up finds it Approved; the final revoke: applied
    # on its first attempt, both answers lost (ambiguous); the second look-up finds it Withdrawn
    fast_feishu.inject_fault("revoke", "http_503", count=2)
    fast_feishu.inject_fault("revoke", "http_503", count=2, after_processing=True)
    operator = RevokeOffboardingOperator(
        task_id="r", offboardings=[{"offboarding_id": offboarding, "employment_id": employment}]
    )
    record = _only(operator.execute({"ti": ti}))
    assert (record["outcome"], record["settled_by"], record["error"]) == ("revoked", "look_up", None)
    assert fast_feishu.request_count("revoke") == 4  # the call's two attempts, the final revoke's two
    assert fast_feishu.request_count("search") == 2  # one look-up before the final revoke, one after it


def test_ambiguous_settling_revoke_not_found_withdrawn_is_unknown(fast_feishu: FeishuEmulator, ti: RecordingTI) -> None:
    employment = "6960000000000000102"
    offboarding = fast_feishu.add_offboarding(employment_id=employment)
    fast_feishu.inject_fault("revoke", "http_503", count=4)  # nothing applied, every answer a 503
    operator = RevokeOffboardingOperator(
        task_id="r", offboardings=[{"offboarding_id": offboarding, "employment_id": employment}]
    )
    with pytest.raises(AirflowException) as info:
        operator.execute({"ti": ti})
    assert not isinstance(info.value, AirflowFailException)
    record = _only(ti.pushed["return_value"])
    assert (record["outcome"], record["settled_by"]) == ("unknown", None)
    assert record["error"]["message"].startswith("outcome unknown:")
    assert fast_feishu.request_count("revoke") == 4  # one final revoke only
    assert fast_feishu.request_count("search") == 2
    assert fast_feishu.get_offboarding(offboarding)["status"] == "Approved"


def test_definite_failure_then_ambiguous_settling_revoke_is_unknown_not_failed(
    fast_feishu: FeishuEmulator, ti: RecordingTI
) -> None:
    # The call meets a documented system error twice (a definite answer: not applied, transient). The final
    # revoke meets 503s after processing: it revoked the record without an answer. Without an employment id it
    # cannot be looked up: unknown (it was "failed" before).
    fast_feishu.inject_fault("revoke", "system_error", count=2)
    fast_feishu.inject_fault("revoke", "http_503", count=2, after_processing=True)
    with pytest.raises(AirflowException) as info:
        RevokeOffboardingOperator(task_id="r", offboarding_id=APPROVED).execute({"ti": ti})
    assert not isinstance(info.value, AirflowFailException)
    record = _only(ti.pushed["return_value"])
    assert record["outcome"] == "unknown"
    assert record["error"]["code"] == 503 and record["error"]["permanent"] is False
    assert "status Withdrawn means it was revoked" in record["error"]["advice"]
    assert fast_feishu.get_offboarding(APPROVED)["status"] == "Withdrawn"
    assert fast_feishu.request_count("search") == 0


@pytest.mark.parametrize(("fail_if_already_withdrawn", "outcome"), [(False, "already_withdrawn"), (True, "failed")])
def test_definite_failure_then_settling_revoke_answering_1160202_is_already_withdrawn(
    fast_feishu: FeishuEmulator, ti: RecordingTI, fail_if_already_withdrawn: bool, outcome: str
) -> None:
    # Nothing of ours reached Feishu (two system errors), and the final revoke answers 1160202 at once:
    # it was withdrawn before this task, not by it.
    fast_feishu.inject_fault("revoke", "system_error", count=2)
    operator = RevokeOffboardingOperator(
        task_id="r", offboarding_id=WITHDRAWN, fail_if_already_withdrawn=fail_if_already_withdrawn
    )
    if fail_if_already_withdrawn:
        with pytest.raises(AirflowFailException):
            operator.execute({"ti": ti})
        report = ti.pushed["return_value"]
    else:
        report = operator.execute({"ti": ti})
    record = _only(report)
    assert (record["outcome"], record["settled_by"]) == (outcome, "final_revoke")
    if fail_if_already_withdrawn:
        assert (record["error"]["code"], record["error"]["permanent"]) == (1160202, True)


def test_unknown_revoke_found_withdrawn_by_the_first_look_up_is_revoked(
    fast_feishu: FeishuEmulator, ti: RecordingTI
) -> None:
    fast_feishu.inject_fault("revoke", "http_503", count=2, after_processing=True)
    operator = RevokeOffboardingOperator(
        task_id="r", offboardings=[{"offboarding_id": APPROVED, "employment_id": EMPLOYMENT}]
    )
    record = _only(operator.execute({"ti": ti}))
    assert (record["outcome"], record["settled_by"]) == ("revoked", "look_up")
    assert fast_feishu.request_count("revoke") == 2  # no final revoke


# -- an edit answered code 0 without its data --------------------------------------------------------------------


def test_edit_answered_without_data_is_not_edited_with_empty_fields(
    fast_feishu: FeishuEmulator, ti: RecordingTI
) -> None:
    employment = "6960000000000000103"
    offboarding = fast_feishu.add_offboarding(employment_id=employment)
    fast_feishu.inject_fault("edit", "no_data", count=1)
    operator = EditOffboardingOperator(
        task_id="e",
        offboardings=[
            {
                "offboarding_id": offboarding,
                "employment_id": employment,
                "update_data": {"offboarding_date": "2027-03-31"},
            }
        ],
    )
    try:
        report = operator.execute({"ti": ti})
    except AirflowException:
        report = ti.pushed["return_value"]
    record = _only(report)
    assert fast_feishu.request_count("edit") == 1  # an edit is never re-sent by the client
    assert fast_feishu.record(offboarding)["offboarding_date"] == "2027-03-31"  # it was applied
    if record["outcome"] == "edited":  # settled by reading it back (the edit settler)
        assert record["settled_by"] == "read_back"
        assert record["fields"] == [{"field_name": "offboarding_date", "value": "2027-03-31"}]
    else:  # no settler: the answer could not be read, the record is unknown
        assert record["outcome"] == "unknown"
        assert "without the echoed fields" in record["error"]["message"]
