"""Edits whose outcome is unknown, settled inside the task by reading them back (``operators/edit_settle.py``), and
retried tries that read first, against the emulator's fault injection: a 5xx whose write landed
(``after_processing=True``) or did not, and a real DAG run with Airflow retries."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException
from operator_seed import APPROVED
from plan_helpers import BASE_VALUES
from recording_ti import RecordingTI

from airflow_provider_feishu_corehr.operators.edit_settle import EditSettler
from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator

if TYPE_CHECKING:
    from collections.abc import Sequence

    from plan_helpers import Batch

    from airflow_provider_feishu_corehr.operators.records import Record
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

NOTE = "handover_note__c"
MONTHS = "severance_months__c"
DAGS = Path(__file__).parent / "dags"
WANTED = {NOTE: "Handover to the data team", MONTHS: 3}


class RetriedTI(RecordingTI):
    """The task instance of a retried try."""

    try_number = 2


def _edit(batch: Batch, ti: RecordingTI, count: int = 1, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("max_workers", 1)  # records sent in order: an injected fault is taken by record 0
    operator = EditOffboardingOperator(task_id="e", offboardings=batch.records(WANTED, count=count), **kwargs)
    result: dict[str, Any] = operator.execute({"ti": ti})  # type: ignore[arg-type]
    return result


def test_an_unknown_edit_that_landed_is_edited_by_read_back(batch: Batch, ti: RecordingTI) -> None:
    batch.emu.inject_fault("edit", "http_500", after_processing=True)  # applied, answer lost
    report = _edit(batch, ti)
    record = report["records"][0]
    assert (record["outcome"], record["settled_by"], record["error"]) == ("edited", "read_back", None)
    assert record["fields"] == [{"field_name": NOTE, "value": WANTED[NOTE]}, {"field_name": MONTHS, "value": "3"}]
    assert batch.emu.request_count("edit") == 1  # not sent again
    assert batch.emu.request_count("search") == 1  # the read-back
    assert batch.value(batch.ids[0], NOTE) == WANTED[NOTE]


def test_an_unknown_edit_that_did_not_land_is_sent_again_when_the_before_values_are_known(
    batch: Batch, ti: RecordingTI
) -> None:
    batch.emu.inject_fault("edit", "http_503")  # not applied, answer lost
    report = _edit(batch, ti, count=2, only_changed=True)
    assert [(r["outcome"], r["settled_by"]) for r in report["records"]] == [("edited", "resent"), ("edited", None)]
    assert report["mode"] == "only_changed"
    assert batch.emu.request_count("edit") == 3
    assert batch.emu.request_count("search") == 2  # the review, then one read-back
    assert [batch.value(i, NOTE) for i in batch.ids[:2]] == [WANTED[NOTE]] * 2


def test_sent_again_at_most_settle_rounds_times(batch: Batch, ti: RecordingTI) -> None:
    batch.emu.inject_fault("edit", "http_503", count=4)  # the first send and every re-send answer lost
    with pytest.raises(AirflowException) as info:
        _edit(batch, ti, only_changed=True)
    assert not isinstance(info.value, AirflowFailException)
    record = ti.pushed["return_value"]["records"][0]
    assert record["outcome"] == "unknown"
    assert batch.emu.request_count("edit") == 4  # the send and 3 rounds
    assert batch.emu.request_count("search") == 4  # the review and one read-back per round
    assert batch.value(batch.ids[0], NOTE) == BASE_VALUES[NOTE]


def _another_writer(monkeypatch: pytest.MonkeyPatch, emu: FeishuEmulator, offboarding_id: str, **values: Any) -> None:
    """Someone else writes ``values`` after our send and before the read-back (no server can time that)."""
    real = EditSettler.look_up

    def look_up(self: EditSettler, records: Sequence[Record]) -> None:
        emu.update_offboarding(offboarding_id, **values)
        real(self, records)

    monkeypatch.setattr(EditSettler, "look_up", look_up)


def test_mixed_values_are_unknown_with_the_values_seen(
    batch: Batch, ti: RecordingTI, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch.emu.inject_fault("edit", "http_503")
    _another_writer(monkeypatch, batch.emu, batch.ids[0], **{NOTE: WANTED[NOTE]})  # one field only
    with pytest.raises(AirflowException) as info:
        _edit(batch, ti, only_changed=True)
    assert not isinstance(info.value, AirflowFailException)
    record = ti.pushed["return_value"]["records"][0]
    assert (record["outcome"], record["settled_by"]) == ("unknown", None)
    assert record["seen"] == [
        {"field_name": NOTE, "value": WANTED[NOTE], "reason": None},
        {"field_name": MONTHS, "value": "2", "reason": None},
    ]
    assert record["error"]["message"].startswith("outcome unknown:")
    assert batch.emu.request_count("edit") == 1


def test_a_value_neither_sent_nor_read_before_is_a_conflict(
    batch: Batch, ti: RecordingTI, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch.emu.inject_fault("edit", "http_503")
    _another_writer(monkeypatch, batch.emu, batch.ids[0], **{NOTE: "Someone else's note"})
    with pytest.raises(AirflowFailException):  # another try would overwrite the other writer: no retry
        _edit(batch, ti, only_changed=True)
    report = ti.pushed["return_value"]
    record = report["records"][0]
    assert record["outcome"] == "conflict"
    assert report["counts"]["conflict"] == 1
    assert {"field_name": NOTE, "value": "Someone else's note", "reason": None} in record["seen"]
    assert "neither sent nor read before" in record["error"]["message"]
    assert batch.emu.request_count("edit") == 1


def test_direct_edit_that_did_not_land_is_unknown_without_before_values(batch: Batch, ti: RecordingTI) -> None:
    batch.emu.inject_fault("edit", "http_503")
    with pytest.raises(AirflowException):
        _edit(batch, ti)
    record = ti.pushed["return_value"]["records"][0]
    assert record["outcome"] == "unknown"
    assert [row["value"] for row in record["seen"]] == [BASE_VALUES[NOTE], "2"]
    assert batch.emu.request_count("edit") == 1  # a retry reads first and sends it (next test)


def test_without_employment_id_an_unknown_edit_is_sent_again(fast_feishu: FeishuEmulator, ti: RecordingTI) -> None:
    fast_feishu.inject_fault("edit", "http_503")
    operator = EditOffboardingOperator(task_id="e", offboarding_id=APPROVED, update_data={NOTE: "resent"})
    record = operator.execute({"ti": ti})["records"][0]  # type: ignore[arg-type]
    assert (record["outcome"], record["settled_by"]) == ("edited", "resent")
    assert fast_feishu.request_count("edit") == 2
    assert fast_feishu.request_count("search") == 0  # nothing to read back with
    assert fast_feishu.record(APPROVED)[NOTE] == "resent"


def test_a_retried_try_reads_first_and_sends_only_what_is_left(batch: Batch) -> None:
    batch.emu.update_offboarding(batch.ids[1], **{NOTE: WANTED[NOTE], MONTHS: 3})  # applied by an earlier try
    batch.emu.update_offboarding(batch.ids[2], **{NOTE: WANTED[NOTE]})  # half of it
    ti = RetriedTI()
    report = _edit(batch, ti, count=3)
    assert report["mode"] == "only_changed"
    assert [r["outcome"] for r in report["records"]] == ["edited", "unchanged", "edited"]
    assert [r["field_names"] for r in report["records"]] == [[NOTE, MONTHS], [], [MONTHS]]
    assert batch.emu.request_count("search") == 1
    assert batch.emu.request_count("edit") == 2


def test_airflow_retry_does_not_send_again_what_the_first_try_applied(batch: Batch, run_dag: Any) -> None:
    from airflow.utils.session import create_session

    batch.emu.inject_fault("edit", "http_503", count=2)  # the first two records: not applied, answers lost
    dag_run = run_dag(
        DAGS / "operators_edit_retry.py", "feishu_operators_edit_retry", run_conf={"records": batch.records(WANTED)}
    )
    with create_session() as session:
        tis = {ti.task_id: ti for ti in dag_run.get_task_instances(session=session)}
        assert (str(tis["edit"].state), tis["edit"].try_number) == ("success", 2)
    edits = [r.offboarding_id for r in batch.emu.requests if r.endpoint == "edit"]
    assert len(edits) == 7  # try 1: five records; try 2: only the two that did not land
    assert sorted(edits[5:]) == sorted(batch.ids[:2])
    assert [(batch.value(i, NOTE), batch.value(i, MONTHS)) for i in batch.ids] == [(WANTED[NOTE], "3")] * 5
