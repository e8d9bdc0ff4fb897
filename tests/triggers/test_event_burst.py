"""A burst: many records reach a watched status between two polls (docs/events.md, "A burst in one poll").

Airflow 3.3 links asset events that land milliseconds apart to one run only partly, so the watcher yields one event
per poll carrying every record of it, up to a bound; the records over the bound fire with the next poll, first,
and are not remembered before they fired (so a restart in between loses none and repeats none). Driven against the
emulator with real searches; the run itself is ``scripts/e2e_asset_watcher.py`` (a real scheduler).
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import pytest
from airflow import __version__ as airflow_version
from event_helpers import Driver, today_in_beijing
from packaging.version import Version

from airflow_provider_feishu_corehr.triggers import offboarding_events
from airflow_provider_feishu_corehr.triggers.offboarding_events import (
    OffboardingStatusEventTrigger,
    payload_records,
    records_from_asset_events,
    take_records,
)

if TYPE_CHECKING:
    from event_helpers import StoreTable

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

pytestmark = pytest.mark.skipif(Version(airflow_version).major < 3, reason="event-driven scheduling is Airflow 3")


def _watcher(store: Any = None) -> OffboardingStatusEventTrigger:
    """A watcher whose poll reads the whole window (60 s: up to 24 pages a poll; the driver does not wait)."""
    trigger = OffboardingStatusEventTrigger(feishu_conn_id="feishu_default", window_days_back=0, poll_interval=60.0)
    if store is not None:
        trigger.asset_state_store = store
    return trigger


def _add(emu: FeishuEmulator, count: int) -> list[str]:
    today = today_in_beijing()
    return [
        emu.add_offboarding(employment_id=f"698250931346{n:07d}", status="Approved", offboarding_date=today)
        for n in range(count)
    ]


def _asset_events(payloads: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """The run's ``triggering_asset_events`` as Airflow hands them to a task (``extra`` as stored)."""
    events = [type("Event", (), {"extra": {"from_trigger": True, "payload": p}})() for p in payloads]
    return {"feishu_offboarded": events}


def test_a_burst_is_one_event_carrying_every_record(feishu_today: FeishuEmulator) -> None:
    ids = _add(feishu_today, 250)  # 3 search pages

    async def scenario() -> list[list[dict[str, Any]]]:
        driver = Driver(_watcher())
        await driver.poll()  # remembers the window
        for offboarding_id in ids:
            feishu_today.set_status(offboarding_id, "Offboarded")
        steps = []
        for _ in range(2):
            done = len(driver.payloads)
            await driver.poll()
            steps.append(driver.payloads[done:])
        await driver.stop()
        return steps

    (event,), after = asyncio.run(scenario())
    assert after == []  # fired once
    assert (event["version"], event["count"], event["more"]) == (2, 250, 0)
    assert [r["offboarding_id"] for r in event["records"]] == ids  # search order
    assert len(json.dumps(event)) < 250 * 300  # small: about 250 bytes a record
    records = records_from_asset_events(_asset_events([event]))
    assert [r["offboarding_id"] for r in records] == ids
    assert {(r["status"], r["user_id_type"], r["observed_at"]) for r in records} == {
        ("Offboarded", "people_corehr_id", event["observed_at"])
    }


def test_over_the_bound_the_rest_fires_with_the_next_polls_first_and_once(
    feishu_today: FeishuEmulator, store_table: StoreTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(offboarding_events, "MAX_EVENT_RECORDS", 2)
    first = _add(feishu_today, 5)
    late = feishu_today.add_offboarding(
        employment_id="6982509313466199999", status="Approved", offboarding_date=today_in_beijing()
    )
    store = store_table.accessors("feishu_offboarded")

    async def scenario() -> list[list[dict[str, Any]]]:
        steps: list[list[dict[str, Any]]] = []
        driver = Driver(_watcher(store))
        await driver.poll()
        for offboarding_id in first:
            feishu_today.set_status(offboarding_id, "Offboarded")
        for _ in range(2):
            done = len(driver.payloads)
            await driver.poll()
            steps.append(driver.payloads[done:])
        await driver.stop()  # a triggerer restart with one record still over the bound
        feishu_today.set_status(late, "Offboarded")
        driver = Driver(_watcher(store))
        for _ in range(3):
            done = len(driver.payloads)
            await driver.poll()
            steps.append(driver.payloads[done:])
        await driver.stop()
        return steps

    steps = asyncio.run(scenario())
    assert [len(step) for step in steps] == [1, 1, 1, 0, 0]  # one event a poll, none once all fired
    carried = [[r["offboarding_id"] for r in step[0]["records"]] for step in steps if step]
    assert carried[:2] == [first[:2], first[2:4]]  # search order; the bound is 2
    assert carried[2] == [first[4], late]  # after the restart: the one over the bound and the new one, in order
    assert [(s[0]["count"], s[0]["more"]) for s in steps[:2]] == [(2, 3), (2, 1)]
    every = [i for ids in carried for i in ids]
    assert sorted(every) == sorted([*first, late])  # none lost, none twice
    ((_, value),) = store_table.rows.items()
    assert json.loads(value)["seen"] == dict.fromkeys([*first, late], "Offboarded")


def test_records_over_the_bound_go_first_in_the_next_event(
    feishu_today: FeishuEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(offboarding_events, "MAX_EVENT_RECORDS", 2)
    ids = _add(feishu_today, 4)

    async def scenario() -> list[list[str]]:
        driver = Driver(_watcher())
        await driver.poll()
        for offboarding_id in ids[1:]:
            feishu_today.set_status(offboarding_id, "Offboarded")
        await driver.poll()  # ids 1 and 2; id 3 over the bound
        feishu_today.set_status(ids[0], "Offboarded")  # before id 3 in search order
        await driver.poll()
        await driver.stop()
        return [[r["offboarding_id"] for r in p["records"]] for p in driver.payloads]

    assert asyncio.run(scenario()) == [ids[1:3], [ids[3], ids[0]]]  # the one held back first: it cannot starve


def test_take_records_bounds_count_and_bytes() -> None:
    small = [{"offboarding_id": str(n), "fields": {}} for n in range(1500)]
    assert take_records(small) == offboarding_events.MAX_EVENT_RECORDS == 1000
    assert take_records(small[:3]) == 3
    assert take_records([]) == 0
    big = [{"offboarding_id": str(n), "fields": {"note__c": "x" * 100_000}} for n in range(10)]
    assert take_records(big) == 5  # 5 x ~100 KB fit in 512 KiB, the sixth does not
    huge = [{"offboarding_id": "1", "fields": {"note__c": "x" * 2_000_000}}]
    assert take_records(huge) == 1  # one record always goes
    assert take_records(small, max_records=10, max_bytes=10**9) == 10


def test_payload_records_reads_both_shapes() -> None:
    old = {"offboarding_id": "1", "status": "Offboarded", "user_id_type": "open_id", "observed_at": "t"}
    new = {
        "version": 2,
        "observed_at": "t2",
        "user_id_type": "people_corehr_id",
        "count": 2,
        "more": 0,
        "records": [{"offboarding_id": "2", "status": "Offboarded"}, {"offboarding_id": "3", "status": "Approved"}],
    }
    assert payload_records(old) == [old]
    assert payload_records(new) == [
        {"offboarding_id": "2", "status": "Offboarded", "user_id_type": "people_corehr_id", "observed_at": "t2"},
        {"offboarding_id": "3", "status": "Approved", "user_id_type": "people_corehr_id", "observed_at": "t2"},
    ]
    assert payload_records({"something": "else"}) == []
    # a run holding an event stored before the upgrade (one record) and one after (a poll's records)
    assert [r["offboarding_id"] for r in records_from_asset_events(_asset_events([old, new, dict(new)]))] == [
        "1",
        "2",
        "3",
    ]
