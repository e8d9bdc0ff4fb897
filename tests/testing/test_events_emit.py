"""Which changes emit which events, with which bodies (docs/api-facts.md, "Events"), read through the control API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import requests
from emu_client import Api, assert_error

from airflow_provider_feishu_corehr.testing import ids

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

APPROVED, APPROVING, OFFBOARDED = "7095671727698478604", "7095671727698478605", "7095671727698478606"
STATUS, UPDATED = "corehr.offboarding.status_updated_v2", "corehr.offboarding.updated_v2"
NOTE = "handover_note__c"


def emitted(emu: FeishuEmulator, event_type: str | None = None) -> list[dict[str, Any]]:
    params = {"event_type": event_type} if event_type else {}
    response = requests.get(f"{emu.base_url}/_emulator/events", params=params, timeout=10)
    assert response.status_code == 200
    return [entry["event"] for entry in response.json()["events"]]


def test_revoke_emits_the_status_event_and_updated_v2_with_the_documented_envelope(api: Api) -> None:
    emu = api.emu
    record = emu.record(APPROVED)
    before = emu.clock()["epoch"] * 1000
    assert api.revoke(APPROVED, operator_id="6893014062142064135").json()["code"] == 0
    after = emu.clock()["epoch"] * 1000
    status, updated = emitted(emu)
    for event, event_type in ((status, STATUS), (updated, UPDATED)):
        header = event["header"]
        assert event["schema"] == "2.0"
        assert (header["event_type"], header["app_id"], header["tenant_key"]) == (
            event_type,
            emu.app_id,
            "736588c9260f175d",
        )
        assert header["token"] == "emulator-verification-token"
        assert len(header["event_id"]) == 32 and int(header["event_id"], 16) >= 0
        assert before - 1 <= int(header["create_time"]) <= after  # tenant calendar milliseconds, as a string
    assert status["header"]["event_id"] != updated["header"]["event_id"]
    people = {kind: ids.as_type(record["employment_id"], kind) for kind in ("union_id", "user_id", "open_id")}
    assert status["event"] == {
        "employment_id": record["employment_id"],
        "target_user_id": people,
        "offboarding_id": APPROVED,
        "process_id": record["process_id"],
        "status": 5,
    }
    assert updated["event"] == {
        "tenant_id": "736588c9260f175d",
        "offboarding_info_id": APPROVED,
        "process_id": record["process_id"],
        "checklist_process_id": record["checklist_process_id"] or "",
        "employment_id": record["employment_id"],
        "operator": "6893014062142064135",
        "status": 5,
        "checklist_status": 1,  # AntiBegin
        "updated_time": updated["header"]["create_time"],
        "updated_fields": ["status"],
        "target_user_id": people,
    }


def test_edit_emits_updated_v2_naming_the_fields_and_no_status_event(api: Api) -> None:
    assert api.edit(APPROVED, {NOTE: "keys returned", "offboarding_date": "2026-07-31"}).json()["code"] == 0
    (event,) = emitted(api.emu)
    assert event["header"]["event_type"] == UPDATED
    assert (event["event"]["updated_fields"], event["event"]["status"], event["event"]["operator"]) == (
        [NOTE, "offboarding_date"],
        2,
        "",
    )


def test_refused_and_dropped_writes_emit_nothing(api: Api) -> None:
    emu = api.emu
    assert_error(api.edit(OFFBOARDED, {NOTE: "x"}), "edit", 1160631)
    assert_error(api.edit(APPROVING, {NOTE: "x"}), "edit", 1160623)
    assert_error(api.revoke("7095671727698478608"), "revoke", 1160202)
    emu.inject_fault("revoke", "drop_write")
    assert api.revoke(APPROVED).json()["code"] == 0
    assert emitted(emu) == []


def test_revoke_of_an_offboarded_record_withdraws_it_and_emits_status_5(api: Api) -> None:
    assert api.revoke(OFFBOARDED).json()["code"] == 0
    assert api.emu.get_offboarding(OFFBOARDED)["status"] == "Withdrawn"
    assert [(e["header"]["event_type"], e["event"]["status"]) for e in emitted(api.emu)] == [(STATUS, 5), (UPDATED, 5)]


def test_a_revoke_that_starts_a_withdrawal_approval_emits_updated_v2_only(api: Api) -> None:
    assert api.revoke("7095671727698478614").json()["code"] == 0
    (event,) = emitted(api.emu)
    assert (event["header"]["event_type"], event["event"]["updated_fields"], event["event"]["status"]) == (
        UPDATED,
        [],
        2,
    )


@pytest.mark.feishu_emulator(clock_speed=0, approval_delay=60)
def test_the_clock_and_the_control_api_emit_status_events(api: Api) -> None:
    emu = api.emu
    emu.set_time("2026-07-01 00:00:01")  # past the end of ...604's offboarding date (2026-06-30)
    clock = [e for e in emitted(emu, STATUS) if e["event"]["offboarding_id"] == APPROVED]
    assert [e["event"]["status"] for e in clock] == [3]
    moved = [t for t in emu.transitions() if t["cause"] == "clock"]
    assert len(emitted(emu, STATUS)) == len(moved) and emitted(emu, UPDATED) == []
    response = requests.post(
        f"{emu.base_url}/_emulator/offboardings/7095671727698478623/status", json={"status": "Rejected"}, timeout=10
    )
    assert response.status_code == 200
    last = emitted(emu, STATUS)[-1]["event"]
    assert (last["offboarding_id"], last["status"]) == ("7095671727698478623", 4)


def test_an_approval_ending_on_the_clock_emits_approved_then_offboarded(feishu_emulator: FeishuEmulator) -> None:
    emu = feishu_emulator
    emu.set_clock_speed(0)
    emu.set_approval_delay(60)
    oid = emu.add_offboarding(employment_id="6900000000000000009", status="Approving", offboarding_date="2026-06-01")
    emu.advance_time(86400 * 2)
    mine = [e["event"]["status"] for e in emitted(emu, STATUS) if e["event"]["offboarding_id"] == oid]
    assert mine == [2, 3]
    (first, second) = [e for e in emitted(emu, STATUS) if e["event"]["offboarding_id"] == oid]
    assert int(first["header"]["create_time"]) < int(second["header"]["create_time"])  # the moments of the changes


@pytest.mark.feishu_emulator(apps={"cli_first": "secret-1", "cli_second": "secret-2"})
def test_every_app_gets_its_own_copy(api: Api) -> None:
    assert api.revoke(APPROVED).json()["code"] == 0
    events = emitted(api.emu)
    apps = [(e["header"]["app_id"], e["header"]["event_type"]) for e in events]
    assert apps == [("cli_first", STATUS), ("cli_second", STATUS), ("cli_first", UPDATED), ("cli_second", UPDATED)]
    assert len({e["header"]["event_id"] for e in events}) == 4


def test_reset_forgets_events(api: Api) -> None:
    assert api.revoke(APPROVED).json()["code"] == 0
    assert emitted(api.emu)
    requests.post(f"{api.emu.base_url}/_emulator/reset", json={"keep_tokens": True}, timeout=10)
    assert emitted(api.emu) == []
