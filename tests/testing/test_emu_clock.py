"""Time moves statuses: the tenant calendar, its control routes and CLI flags, over plain HTTP."""

from __future__ import annotations

import calendar
import time
from typing import TYPE_CHECKING, Any

import pytest
import requests
from emu_client import Api

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

APPROVED = "7095671727698478604"  # offboarding date 2026-06-30
APPROVING = "7095671727698478605"  # offboarding date 2026-07-15
NO_NEED = "7095671727698478609"  # NoNeedApproval, 2026-10-31
STOPPED = pytest.mark.feishu_emulator(clock_speed=0)  # the calendar moves only when told: exact times


def clock(emu: FeishuEmulator, body: dict[str, Any] | None = None) -> requests.Response:
    url = f"{emu.base_url}/_emulator/clock"
    if body is None:
        return requests.get(url, timeout=10)
    return requests.post(url, json=body, timeout=10)


def statuses(api: Api) -> dict[str, str]:
    """Statuses as search shows them (with a new token: a jump of the clock expires the old one)."""
    api._token = None
    return {item["offboarding_id"]: item["status"] for item in api.search().json()["data"]["items"]}


def transitions(emu: FeishuEmulator) -> list[dict[str, Any]]:
    response = requests.get(f"{emu.base_url}/_emulator/transitions", timeout=10)
    assert response.status_code == 200
    transitions: list[dict[str, Any]] = response.json()["transitions"]
    return transitions


@STOPPED
def test_the_default_seed_starts_before_every_pending_offboarding_date(api: Api) -> None:
    body = clock(api.emu).json()
    assert (body["tenant_time"], body["timezone"], body["speed"]) == ("2026-06-01 09:00:00", "+08:00", 0)
    assert body["epoch"] == calendar.timegm((2026, 6, 1, 1, 0, 0))  # 09:00 at UTC+8
    assert statuses(api)[APPROVED] == "Approved"


@STOPPED
def test_approved_becomes_offboarded_at_midnight_ending_its_date(api: Api) -> None:
    assert clock(api.emu, {"set": "2026-06-30 23:59:59"}).json()["tenant_time"] == "2026-06-30 23:59:59"
    assert statuses(api)[APPROVED] == "Approved"
    assert clock(api.emu, {"advance": 1}).status_code == 200
    assert statuses(api)[APPROVED] == "Offboarded"
    assert transitions(api.emu) == [
        {
            "offboarding_id": APPROVED,
            "from": "Approved",
            "to": "Offboarded",
            "cause": "clock",
            "tenant_time": "2026-07-01 00:00:00",
        }
    ]
    assert api.emu.record(APPROVED)["status"] == "Offboarded"


@STOPPED
def test_a_400_day_jump_offboards_every_approved_record_and_nothing_else(api: Api) -> None:
    before = statuses(api)
    assert clock(api.emu, {"advance": 400 * 86400}).status_code == 200
    after = statuses(api)
    moved = {oid for oid in before if before[oid] != after[oid]}
    assert moved and all(after[oid] == "Offboarded" for oid in moved)
    assert all(before[oid] in ("Approved", "NoNeedApproval") for oid in moved)
    assert {APPROVED, NO_NEED} <= moved
    pending = {"7095671727698478612", "7095671727698478613"}  # modification / withdrawal approval pending
    untouched = {oid for oid, status in before.items() if status in ("Approving", "Rejected", "Withdrawn")}
    assert not moved & (pending | untouched)
    assert {t["cause"] for t in transitions(api.emu)} == {"clock"}


@pytest.mark.feishu_emulator(clock_speed=0, tenant_timezone="-05:00", clock_start="2026-06-30 23:00:00")
def test_the_day_ends_in_the_tenant_time_zone(api: Api) -> None:
    assert clock(api.emu).json()["epoch"] == calendar.timegm((2026, 7, 1, 4, 0, 0))
    assert statuses(api)[APPROVED] == "Approved"  # already 2026-07-01 in Beijing, not yet in the tenant's zone
    clock(api.emu, {"advance": 3600})
    assert statuses(api)[APPROVED] == "Offboarded"
    assert transitions(api.emu)[0]["tenant_time"] == "2026-07-01 00:00:00"


@pytest.mark.feishu_emulator(clock_speed=0, approval_delay=3600)
def test_an_approval_delay_moves_approving_to_approved(api: Api) -> None:
    clock(api.emu, {"advance": 3599})
    assert statuses(api)[APPROVING] == "Approving"
    clock(api.emu, {"advance": 1})
    item = api.emu.get_offboarding(APPROVING)
    assert item["status"] == "Approved"  # and not Offboarded: its date (2026-07-15) is still ahead
    assert item["application_info"]["apply_finish_time"] == "2026-06-01 10:00:00"
    clock(api.emu, {"set": "2026-07-16"})
    assert statuses(api)[APPROVING] == "Offboarded"
    assert [(t["from"], t["to"]) for t in transitions(api.emu) if t["offboarding_id"] == APPROVING] == [
        ("Approving", "Approved"),
        ("Approved", "Offboarded"),
    ]


@STOPPED
def test_without_an_approval_delay_only_a_person_ends_an_approval(api: Api) -> None:
    clock(api.emu, {"advance": 30 * 86400})
    assert statuses(api)[APPROVING] == "Approving"
    body = clock(api.emu, {"approval_delay": 0}).json()
    assert body["approval_delay"] == 0
    assert statuses(api)[APPROVING] == "Approved"


@STOPPED
def test_records_are_stamped_with_tenant_time(api: Api) -> None:
    added = requests.post(f"{api.emu.base_url}/_emulator/offboardings", json={"employment_id": "6900"}, timeout=10)
    item = api.emu.get_offboarding(added.json()["offboarding_id"])
    assert item["application_info"]["apply_initiating_time"] == "2026-06-01 09:00:00"


@pytest.mark.feishu_emulator(clock_start="2026-06-30 23:59:59")
def test_the_calendar_runs_at_the_speed_factor(feishu_emulator: FeishuEmulator) -> None:
    api = Api(feishu_emulator)
    assert statuses(api)[APPROVED] == "Approved"
    clock(feishu_emulator, {"speed": 3600})  # an hour a second: midnight comes at once
    deadline = time.monotonic() + 10
    while statuses(api)[APPROVED] != "Offboarded" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert statuses(api)[APPROVED] == "Offboarded"
    assert clock(feishu_emulator).json()["speed"] == 3600


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"set": "2026-01-01 00:00:00"}, "only moves forward"),
        ({"set": "tomorrow"}, "YYYY-MM-DD HH:MM:SS"),
        ({"advance": -1}, ">= 0"),
        ({"speed": "fast"}, "clock speed"),
        ({"approval_delay": -5}, "approval_delay"),
        ({"rewind": 5}, "unknown: rewind"),
        ({}, "give any of"),
    ],
)
def test_bad_clock_calls_answer_400_naming_the_problem(
    feishu_emulator: FeishuEmulator, body: dict[str, Any], message: str
) -> None:
    response = clock(feishu_emulator, body)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_bad_clock_settings_are_refused() -> None:
    from airflow_provider_feishu_corehr.testing import EmulatorError, FeishuEmulator

    for kwargs, message in (
        ({"tenant_timezone": "Mars/Olympus"}, "unknown"),
        ({"tenant_timezone": "+15:00"}, "out of range"),
        ({"clock_start": "June"}, "YYYY-MM-DD"),
        ({"clock_speed": -1}, "clock speed"),
        ({"approval_delay": "1h"}, "approval_delay"),
        ({"processing_time": -0.5}, "processing_time"),
    ):
        with pytest.raises(EmulatorError, match=message):
            FeishuEmulator(**kwargs)


@STOPPED
def test_moving_the_offboarding_date_into_the_past_takes_effect_at_once(api: Api) -> None:
    assert statuses(api)[APPROVED] == "Approved"  # the emulator has looked at every record's next moment
    assert api.edit(APPROVED, {"offboarding_date": "2026-05-29"}).json()["code"] == 0
    assert statuses(api)[APPROVED] == "Offboarded"
    assert transitions(api.emu)[-1]["tenant_time"] == "2026-05-30 00:00:00"
