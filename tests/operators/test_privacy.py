"""Privacy mode (``docs/privacy.md``) on the operators against the emulator: no value in the report or the stored
template fields, hashes that match across runs, a hashed plan applied only with values that hash to it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_feishu_corehr.client import privacy as hashing
from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator, RevokeOffboardingOperator

if TYPE_CHECKING:
    from plan_helpers import Batch

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

CORRECTION = {"offboarding_date": "2027-07-31", "handover_note__c": "Handover to the data team"}


def _key(feishu: FeishuEmulator) -> bytes:
    return hashing.privacy_key(feishu.app_secret)


def _stored(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _values(batch: Batch) -> list[str]:
    """Every HR value of the batch's records (before) and of the correction (after), as text."""
    from plan_helpers import BASE_VALUES

    before = [v if isinstance(v, str) else json.dumps(v) for v in BASE_VALUES.values()]
    return [v for v in (*before, *CORRECTION.values()) if len(v) >= 6]  # short ones ("2", "true") match anything


def test_plan_and_apply_keep_only_ids_names_outcomes_and_hashes(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    records = batch.records(CORRECTION, count=2)
    plan = EditOffboardingOperator(task_id="plan", offboardings=records, plan_only=True, privacy=True).execute(context)
    plan = json.loads(json.dumps(plan))
    text = _stored(plan)
    assert plan["privacy"] is True and plan["counts"] == {"edit": 2, "none": 0, "refused": 0}
    assert [v for v in _values(batch) if v in text] == []
    row = plan["records"][0]["changes"][0]
    assert row["field_name"] == "offboarding_date" and row["change"] == "changed"
    assert row["after"] == hashing.digest(_key(feishu), "offboarding_date", "2027-07-31")
    assert row["before"] == hashing.digest(_key(feishu), "offboarding_date", "2027-06-30")

    # the same values hash the same in a second run
    again = EditOffboardingOperator(task_id="plan2", offboardings=records, plan_only=True, privacy=True).execute(
        context
    )
    assert again["records"] == plan["records"]

    applied = EditOffboardingOperator(
        task_id="apply", plan=plan, offboardings=records, verify=True, privacy=True
    ).execute(context)
    assert [r["outcome"] for r in applied["records"]] == ["edited", "edited"]
    assert applied["privacy"] is True and applied["verification"] == {"verified": 2, "mismatch": 0, "unknown": 0}
    assert [v for v in _values(batch) if v in _stored(applied)] == []
    fields = applied["records"][0]["fields"]
    assert {f["field_name"] for f in fields} == set(CORRECTION)
    assert all(hashing.is_digest(f["value"]) for f in fields)
    assert applied["records"][0]["verify"][0]["expected"] == row["after"]
    for oid in batch.ids[:2]:
        assert batch.value(oid, "offboarding_date") == "2027-07-31"


def test_a_value_that_does_not_hash_to_the_plan_is_a_conflict_and_is_not_sent(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    records = batch.records(CORRECTION, count=2)
    plan = EditOffboardingOperator(task_id="plan", offboardings=records, plan_only=True, privacy=True).execute(context)
    records[1]["update_data"]["handover_note__c"] = "Not what was approved"
    feishu.reset_counters()

    with pytest.raises(AirflowFailException, match=r"record 1: offboarding \d+: 'handover_note__c': the value given"):
        EditOffboardingOperator(task_id="apply", plan=plan, offboardings=records, privacy=True).execute(context)
    value = context["ti"].pushed["return_value"]
    assert [r["outcome"] for r in value["records"]] == ["edited", "conflict"]
    [moved] = value["records"][1]["conflict"]
    assert moved["field_name"] == "handover_note__c"
    assert moved["current"] == hashing.digest(_key(feishu), "handover_note__c", "Not what was approved")
    assert "Not what was approved" not in _stored(value)
    assert feishu.request_count("edit") == 1
    assert batch.value(batch.ids[1], "handover_note__c") == "Handover to the platform team"


def test_a_hashed_plan_needs_its_records_and_privacy(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    records = batch.records(CORRECTION, count=1)
    plan = EditOffboardingOperator(task_id="plan", offboardings=records, plan_only=True, privacy=True).execute(context)
    with pytest.raises(AirflowFailException, match="give the records again"):
        EditOffboardingOperator(task_id="a", plan=plan, privacy=True).execute(context)
    with pytest.raises(AirflowFailException, match="apply it with privacy on"):
        EditOffboardingOperator(task_id="b", plan=plan, offboardings=records).execute(context)
    other = batch.records(CORRECTION)[1:2]
    with pytest.raises(AirflowFailException, match="the plan does not"):
        EditOffboardingOperator(task_id="c", plan=plan, offboardings=records + other, privacy=True).execute(context)
    assert feishu.request_count("edit") == 0


def test_the_connection_turns_privacy_on_and_a_task_cannot_turn_it_off(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    conn = json.loads(os.environ["AIRFLOW_CONN_FEISHU_DEFAULT"])
    conn["extra"] = {**conn.get("extra", {}), "privacy": True}
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_DEFAULT", json.dumps(conn))
    value = RevokeOffboardingOperator(task_id="r", offboarding_id=batch.ids[0]).execute(context)
    assert value["privacy"] is True and value["records"][0]["outcome"] == "revoked"
    edited = EditOffboardingOperator(
        task_id="e", offboarding_id=batch.ids[1], update_data={"reason_explanation": "Private reason"}
    ).execute(context)
    assert "Private reason" not in _stored(edited)
    with pytest.raises(AirflowFailException, match="cannot turn it off"):
        EditOffboardingOperator(
            task_id="f", offboarding_id=batch.ids[2], update_data={"reason_explanation": "x"}, privacy=False
        ).execute(context)


def test_rendered_fields_hold_hashes_and_execute_sends_the_values(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    note = "Rendered hand-over note"
    op = EditOffboardingOperator(
        task_id="render",
        offboardings="{{ records }}",
        privacy=True,
    )
    records = [{"offboarding_id": batch.ids[0], "update_data": {"handover_note__c": note}}]
    op.render_template_fields({**context, "records": json.dumps(records)})
    stored = {name: getattr(op, name) for name in op.template_fields}
    assert note not in _stored(stored)
    hashed = hashing.digest(_key(feishu), "handover_note__c", note)
    assert stored["offboardings"] == [{"offboarding_id": batch.ids[0], "update_data": {"handover_note__c": hashed}}]
    value = op.execute(context)
    assert value["records"][0]["outcome"] == "edited"
    assert batch.value(batch.ids[0], "handover_note__c") == note
    assert note not in _stored({name: getattr(op, name) for name in op.template_fields})  # hidden again after


def test_the_operator_runs_again_in_the_same_process(
    feishu: FeishuEmulator, batch: Batch, context: dict[str, Any]
) -> None:
    """A second execute of the same operator object (a re-run in one process): the key of the first run must not
    shadow the method that decides the mode (it did: TypeError on the second run)."""
    op = RevokeOffboardingOperator(task_id="twice", offboarding_id=batch.ids[0])
    first, second = op.execute(context), op.execute(context)
    assert (first["records"][0]["outcome"], second["records"][0]["outcome"]) == ("revoked", "already_withdrawn")


def test_the_documented_hash_recomputed_with_the_standard_library() -> None:
    """docs/privacy.md's rule, computed without the provider: the key is HMAC-SHA256 of the label keyed with the App
    Secret; the hash is HMAC-SHA256 of the compact JSON ``[field_name, value]``."""
    import hashlib
    import hmac

    key = hmac.new(b"app-secret", b"airflow-provider-feishu-corehr/privacy/v1", hashlib.sha256).digest()
    message = json.dumps(["reason_explanation", "Déménagement"], ensure_ascii=False, separators=(",", ":"))
    expected = "hmac-sha256:" + hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()
    assert hashing.privacy_key("app-secret") == key
    assert hashing.digest(key, "reason_explanation", "Déménagement") == expected
    assert hashing.digest(key, "reason", "Déménagement") != expected  # the field name is part of the message


def test_the_sensor_summary_the_status_event_and_the_watcher_payload_hash_their_values() -> None:
    """The same rule outside the operators (client/privacy.py): dates and extra field values hashed, ids, statuses
    and the observation time kept; nothing changes without a key."""
    from airflow_provider_feishu_corehr.client.models import ClientSettings

    key = hashing.privacy_key("s")
    summary = {
        "offboarding_id": "7",
        "employment_id": "e",
        "status": "Offboarded",
        "offboarding_date": "2027-03-31",
        "expected_offboarding_date": None,
        "checklist_status": "Finished",
    }
    hidden = hashing.hide_summary(summary, key)
    assert hidden == {
        **summary,
        "offboarding_date": hashing.digest(key, "offboarding_date", "2027-03-31"),
    }
    assert hashing.hide_summary(summary, None) == summary
    payload = {
        **summary,
        "apply_initiating_time": "2027-01-04 10:00:00",
        "observed_at": "2027-04-01T00:00:00+00:00",
        "fields": {"reason_explanation": "Moving abroad", "missing": None},
    }
    shown = hashing.hide_payload(payload, key)
    assert shown["privacy"] is True and shown["observed_at"] == payload["observed_at"]
    assert shown["fields"] == {
        "reason_explanation": hashing.digest(key, "reason_explanation", "Moving abroad"),
        "missing": None,
    }
    assert "Moving abroad" not in json.dumps(shown) and "2027-01-04" not in json.dumps(shown)
    settings = ClientSettings(base_url="https://x", app_id="a", app_secret="s")
    assert hashing.key_for(settings) is None
    assert hashing.key_for(ClientSettings(base_url="https://x", app_id="a", app_secret="s", privacy=True)) == key


def test_the_status_trigger_event_hashes_with_the_key() -> None:
    from airflow_provider_feishu_corehr.client.models import OffboardingRecord
    from airflow_provider_feishu_corehr.status.statuses import Outcome
    from airflow_provider_feishu_corehr.status.trigger_event import end_event
    from airflow_provider_feishu_corehr.status.watch import Decision, check_watch

    watch = check_watch(
        employment_id="e1",
        employment_ids=None,
        offboarding_id=None,
        target_statuses=["Offboarded"],
        failure_statuses=None,
        user_id_type=None,
        match="all",
    )
    assert watch is not None
    record = OffboardingRecord("7", "e1", "Offboarded", None, "2027-03-31", None, None)
    key = hashing.privacy_key("s")
    event = end_event(watch, Decision(Outcome.TARGET, {"e1": record}), key)
    assert event["record"]["offboarding_date"] == hashing.digest(key, "offboarding_date", "2027-03-31")
    assert end_event(watch, Decision(Outcome.TARGET, {"e1": record}))["record"]["offboarding_date"] == "2027-03-31"


def test_the_deferred_sensor_hashes_the_event_and_fails_when_privacy_cannot_be_decided(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow_provider_feishu_corehr.sensors.offboarding import OffboardingStatusSensor

    summary = {"offboarding_id": "7", "employment_id": "6982509313466189341", "status": "Offboarded"}
    summary |= {"offboarding_date": "2027-03-31", "expected_offboarding_date": None, "checklist_status": None}
    event = {"status": "success", "record": summary}
    sensor = OffboardingStatusSensor(
        task_id="wait", employment_id="6982509313466189341", target_statuses="Offboarded", feishu_conn_id="feishu_p"
    )
    with pytest.raises(AirflowFailException, match="privacy mode cannot be decided"):  # no such connection
        sensor.execute_complete({}, event)  # type: ignore[arg-type]
    conn = {"conn_type": "feishu", "login": "a", "password": "s", "host": "https://x", "extra": {"privacy": True}}
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_P", json.dumps(conn))
    sensor.__dict__.pop("hook", None)
    hashed = sensor.execute_complete({}, event)  # type: ignore[arg-type]
    assert hashed == {
        **summary,
        "offboarding_date": hashing.digest(hashing.privacy_key("s"), "offboarding_date", "2027-03-31"),
    }
    monkeypatch.delenv("AIRFLOW_CONN_FEISHU_P")
    sensor.__dict__.pop("hook", None)
    assert sensor.execute_complete({}, {"status": "success", "record": hashed}) == hashed  # nothing left to hash
