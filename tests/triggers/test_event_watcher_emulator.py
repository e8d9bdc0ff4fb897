"""OffboardingStatusEventTrigger driven poll by poll against the emulator: records move by the control API
(``set_status``) or by the emulator's tenant calendar, the watcher's stream is fed complete snapshots of real searches.

What is shown: one event per transition (not again on the next polls), a record that leaves and re-enters a
status fires again, a restart with persisted memory fires no duplicate (and does fire what moved while it was
down), two triggerers sharing the memory fire once, paging over 250 records costs ceil(n/100) searches a poll.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import TYPE_CHECKING, Any

import pytest
from airflow import __version__ as airflow_version
from event_helpers import Driver, today_in_beijing
from packaging.version import Version

from airflow_provider_feishu_corehr.triggers.offboarding_events import OffboardingStatusEventTrigger

if TYPE_CHECKING:
    from event_helpers import StoreTable

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

pytestmark = pytest.mark.skipif(Version(airflow_version).major < 3, reason="event-driven scheduling is Airflow 3")

EMPLOYMENT = "6982509313466189999"


def _watcher(**kwargs: Any) -> OffboardingStatusEventTrigger:
    args: dict[str, Any] = {"feishu_conn_id": "feishu_default", "window_days_back": 0, "poll_interval": 1.0}
    args.update(kwargs)
    return OffboardingStatusEventTrigger(**args)


def _add_today(emu: FeishuEmulator, employment_id: str = EMPLOYMENT, status: str = "Approved", **fields: Any) -> str:
    return emu.add_offboarding(
        employment_id=employment_id, status=status, offboarding_date=today_in_beijing(), **fields
    )


def _ids(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["offboarding_id"], e["status"]) for e in events]


def test_fires_once_per_transition_and_again_after_re_entry(feishu_today: FeishuEmulator) -> None:
    oid = _add_today(feishu_today)
    already = _add_today(feishu_today, "6982509313466189998", status="Offboarded")

    async def scenario() -> list[list[tuple[str, str]]]:
        driver = Driver(_watcher())
        steps = [await driver.poll()]  # baseline: `already` is remembered, not fired
        feishu_today.set_status(oid, "Offboarded")
        steps += [await driver.poll(), await driver.poll(), await driver.poll()]
        feishu_today.set_status(oid, "Withdrawn")
        steps.append(await driver.poll())
        feishu_today.set_status(oid, "Offboarded")
        steps += [await driver.poll(), await driver.poll()]
        await driver.stop()
        return [_ids(s) for s in steps]

    steps = asyncio.run(scenario())
    assert steps == [[], [(oid, "Offboarded")], [], [], [], [(oid, "Offboarded")], []]
    assert already not in {i for step in steps for i, _ in step}


def test_payload_is_small_json_with_what_a_task_needs(feishu_today: FeishuEmulator) -> None:
    oid = _add_today(feishu_today, reason_explanation="moving abroad")

    async def scenario() -> list[dict[str, Any]]:
        driver = Driver(_watcher(extra_fields=["reason_explanation", "not_a_field"]))
        await driver.poll()
        feishu_today.set_status(oid, "Offboarded")
        events = await driver.poll()
        await driver.stop()
        return events

    (payload,) = asyncio.run(scenario())
    record = feishu_today.get_offboarding(oid)
    assert json.loads(json.dumps(payload)) == payload
    assert len(json.dumps(payload)) < 1024
    assert payload["offboarding_id"] == oid
    assert payload["employment_id"] == EMPLOYMENT
    assert payload["status"] == "Offboarded"
    assert payload["offboarding_date"] == record["offboarding_info"]["offboarding_date"] == today_in_beijing()
    assert payload["apply_initiating_time"] == record["application_info"]["apply_initiating_time"]
    assert payload["fields"] == {"reason_explanation": "moving abroad", "not_a_field": None}
    assert payload["observed_at"].endswith("+00:00")
    assert payload["user_id_type"] == "people_corehr_id"  # the connection's default, as the ids are given


def test_fire_existing_fires_records_already_there_on_the_first_poll(feishu_today: FeishuEmulator) -> None:
    oid = _add_today(feishu_today, status="Offboarded")

    async def scenario() -> list[list[tuple[str, str]]]:
        driver = Driver(_watcher(fire_existing=True))
        steps = [_ids(await driver.poll()), _ids(await driver.poll())]
        await driver.stop()
        return steps

    assert asyncio.run(scenario()) == [[(oid, "Offboarded")], []]


def test_moving_between_two_watched_statuses_fires_for_each(feishu_today: FeishuEmulator) -> None:
    oid = _add_today(feishu_today, status="Approving")

    async def scenario() -> list[list[tuple[str, str]]]:
        driver = Driver(_watcher(statuses=["Approved", "Offboarded"]))
        steps = [await driver.poll()]
        feishu_today.set_status(oid, "Approved")
        steps.append(await driver.poll())
        feishu_today.set_status(oid, "Offboarded")
        steps += [await driver.poll(), await driver.poll()]
        await driver.stop()
        return [_ids(s) for s in steps]

    assert asyncio.run(scenario()) == [[], [(oid, "Approved")], [(oid, "Offboarded")], []]


def test_restart_with_persisted_memory_fires_no_duplicate(
    feishu_today: FeishuEmulator, store_table: StoreTable
) -> None:
    first, second = _add_today(feishu_today), _add_today(feishu_today, "6982509313466189997")
    table = store_table

    def triggerer() -> Driver:  # a triggerer (re)starting the watcher: a new trigger object, the same store
        trigger = _watcher()
        trigger.asset_state_store = table.accessors("feishu_offboarded")
        return Driver(trigger)

    async def scenario() -> list[list[tuple[str, str]]]:
        before = triggerer()
        steps = [await before.poll()]
        feishu_today.set_status(first, "Offboarded")
        steps.append(await before.poll())
        await before.stop()
        feishu_today.set_status(second, "Offboarded")  # moves while no triggerer runs
        after = triggerer()
        steps += [await after.poll(), await after.poll()]
        await after.stop()
        return [_ids(s) for s in steps]

    assert asyncio.run(scenario()) == [[], [(first, "Offboarded")], [(second, "Offboarded")], []]
    ((asset, key),) = table.rows
    assert asset == "feishu_offboarded" and key.startswith("feishu_corehr.offboarding_events.")
    stored = json.loads(table.rows[(asset, key)])
    assert stored["v"] == 1 and stored["seen"] == {first: "Offboarded", second: "Offboarded"}


def test_without_persisted_memory_a_restart_re_baselines(feishu_today: FeishuEmulator) -> None:
    """Airflow 3.0-3.2 (no asset_state_store): no duplicate either, but a move while down is not fired."""
    first, second = _add_today(feishu_today), _add_today(feishu_today, "6982509313466189997")

    async def scenario() -> list[list[tuple[str, str]]]:
        before = Driver(_watcher())
        steps = [await before.poll()]
        feishu_today.set_status(first, "Offboarded")
        steps.append(await before.poll())
        await before.stop()
        feishu_today.set_status(second, "Offboarded")
        after = Driver(_watcher())
        steps += [await after.poll(), await after.poll()]
        await after.stop()
        return [_ids(s) for s in steps]

    assert asyncio.run(scenario()) == [[], [(first, "Offboarded")], [], []]


def test_two_triggerers_sharing_the_memory_fire_once(feishu_today: FeishuEmulator, store_table: StoreTable) -> None:
    """HA hand-over or overlap: both run the watcher in turn; the second reads what the first stored."""
    oid = _add_today(feishu_today)
    table = store_table

    def triggerer() -> Driver:
        trigger = _watcher()
        trigger.asset_state_store = table.accessors("feishu_offboarded")
        return Driver(trigger)

    async def scenario() -> list[tuple[str, str]]:
        one, two = triggerer(), triggerer()
        await one.poll()
        await two.poll()
        feishu_today.set_status(oid, "Offboarded")
        events = await one.poll() + await two.poll() + await two.poll() + await one.poll()
        await one.stop()
        await two.stop()
        return _ids(events)

    assert asyncio.run(scenario()) == [(oid, "Offboarded")]


@pytest.mark.feishu_emulator(rate_limits="off")
def test_paging_over_250_records_costs_one_search_per_100(feishu_today: FeishuEmulator) -> None:
    added = [_add_today(feishu_today, f"69825093134662{n:05d}") for n in range(260)]
    in_window = sum(
        1 for r in feishu_today.offboardings() if r["offboarding_info"].get("offboarding_date") == today_in_beijing()
    )
    assert in_window >= 260

    async def scenario() -> tuple[list[dict[str, Any]], list[int], list[dict[str, Any]]]:
        driver = Driver(_watcher(poll_interval=300))  # a page cap of 24: the 3 pages fit in one poll
        await driver.poll()
        for oid in added[:250]:
            feishu_today.set_status(oid, "Offboarded")
        feishu_today.reset_counters()
        fired = await driver.poll()
        searches = [feishu_today.request_count("search")]
        again = await driver.poll()
        searches.append(feishu_today.request_count("search") - searches[0])
        await driver.stop()
        return fired, searches, again

    fired, searches, again = asyncio.run(scenario())
    assert sorted(e["offboarding_id"] for e in fired) == sorted(added[:250])
    assert again == []
    assert searches == [math.ceil(in_window / 100)] * 2


def test_application_time_window_selects_by_when_the_offboarding_was_applied_for(feishu_today: FeishuEmulator) -> None:
    recent = feishu_today.add_offboarding(employment_id=EMPLOYMENT, status="Approved")  # applied now
    old = feishu_today.add_offboarding(
        employment_id="6982509313466189997", status="Approved", apply_initiating_time="2020-01-01 10:00:00"
    )

    async def scenario() -> list[tuple[str, str]]:
        driver = Driver(_watcher(window_fields="apply_initiating_time", window_days_back=1))
        await driver.poll()
        feishu_today.set_status(recent, "Offboarded")
        feishu_today.set_status(old, "Offboarded")
        events = await driver.poll()
        await driver.stop()
        return _ids(events)

    assert asyncio.run(scenario()) == [(recent, "Offboarded")]


@pytest.mark.feishu_emulator(rate_limits={"search": (10, 1.0)})
def test_polls_keep_to_the_search_budget_through_the_client_limiter(
    feishu_emulator: FeishuEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The emulator enforces 10 searches/s (the documented 100/min, scaled); polls of 3 pages each go through the
    client's search limiter at the same rate: no HTTP 429. The baseline, the limiter off, runs into 429s."""
    for n in range(260):
        _add_today(feishu_emulator, f"69825093134663{n:05d}")

    def polls(rate_limits: Any) -> tuple[int, int]:
        conn = json.loads(feishu_emulator.airflow_conn_json())
        conn["extra"] = {**conn.get("extra", {}), "rate_limits": rate_limits, "backoff_base": 0.01}
        monkeypatch.setenv("AIRFLOW_CONN_FEISHU_DEFAULT", json.dumps(conn))
        feishu_emulator.advance_time(5)  # the emulator's rate windows of an earlier run have passed
        feishu_emulator.reset_counters()

        async def scenario() -> None:
            driver = Driver(_watcher(poll_interval=300))  # 3 pages fit in one poll at both rates
            for _ in range(6):
                await driver.poll()
            await driver.stop()

        asyncio.run(scenario())
        return feishu_emulator.request_count("search", code=0), feishu_emulator.request_count("search", http_status=429)

    paced_ok, paced_429 = polls({"search": [10, 1.0]})
    unpaced_ok, unpaced_429 = polls("off")
    assert unpaced_ok == paced_ok == 6 * 3
    assert unpaced_429 > 0  # the baseline: without the limiter the pages outrun the budget
    assert paced_429 == 0


def test_the_emulator_clock_moves_a_record_to_offboarded_and_it_fires_once(feishu_today: FeishuEmulator) -> None:
    """No control-API status change: the tenant calendar passes the end of the offboarding date."""
    oid = _add_today(feishu_today)

    async def scenario() -> list[list[tuple[str, str]]]:
        driver = Driver(_watcher(window_days_back=1))
        steps = [await driver.poll()]
        feishu_today.advance_time(24 * 3600)  # past midnight at the end of today, tenant time
        steps += [await driver.poll(), await driver.poll()]
        await driver.stop()
        return [_ids(s) for s in steps]

    assert asyncio.run(scenario()) == [[], [(oid, "Offboarded")], []]
    moved = [t for t in feishu_today.transitions() if t.get("offboarding_id") == oid]
    assert [(t.get("to"), t.get("cause")) for t in moved] == [("Offboarded", "clock")], moved
