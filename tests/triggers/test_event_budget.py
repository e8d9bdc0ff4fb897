"""The asset watcher's share of the app's search budget (issue 18 part 4): a poll reads at most
``poll_page_cap`` pages; a larger window is read in a sweep over several polls, said once, with no event lost or
repeated because a poll stopped early.

The real poll loop (``trigger.snapshots()``, real sleeps) and the Driver run against the emulator; the emulator's
request log counts the searches of every poll.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
from airflow import __version__ as airflow_version
from event_helpers import Driver, today_in_beijing
from packaging.version import Version

from airflow_provider_feishu_corehr.client.models import ClientSettings
from airflow_provider_feishu_corehr.client.paging import parse_record
from airflow_provider_feishu_corehr.triggers.event_memory import Remembered, SweepMarks, memory_for
from airflow_provider_feishu_corehr.triggers.event_poll import poll_page_cap
from airflow_provider_feishu_corehr.triggers.offboarding_events import (
    OffboardingStatusEventTrigger,
    payload_records,
    transitions,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from event_helpers import StoreTable

    from airflow_provider_feishu_corehr.testing import FeishuEmulator
    from airflow_provider_feishu_corehr.triggers.event_poll import Snapshot

AIRFLOW_3 = Version(airflow_version).major >= 3
SETTINGS = ClientSettings(base_url="http://127.0.0.1:1", app_id="a", app_secret="s")
CUT = "holds more than one poll may read"


# -- the page cap: one rule --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "poll_interval", "cap"),
    [
        ({}, 300.0, 24),  # a quarter of the 97 searches a minute the client paces to
        ({}, 60.0, 24),
        ({}, 30.0, 12),  # a shorter interval: a quarter of what the interval holds
        ({}, 1.0, 1),  # never below one page
        ({"rate_limit_share": 0.5}, 300.0, 12),  # this process's share of the app's budget
        ({"rate_limits": {"search": None}}, 300.0, 24),  # limiter off: the documented rate still bounds a poll
        ({"rate_limits": {"search": (600, 60.0)}}, 300.0, 145),  # the connection's own search rate
        ({"max_pages": 5}, 300.0, 5),  # max_pages below the share: the smaller bound wins
        ({"rate_limits": {"search": (100_000, 60.0)}}, 300.0, 1000),  # and max_pages above it never raises it
    ],
)
def test_poll_page_cap_is_a_quarter_of_a_minutes_search_budget(
    changes: dict[str, Any], poll_interval: float, cap: int
) -> None:
    assert poll_page_cap(dataclasses.replace(SETTINGS, **changes), poll_interval) == cap


# -- what a part of a sweep keeps -------------------------------------------------------------------------------


def _record(offboarding_id: str, status: str = "Offboarded") -> Any:
    return parse_record({"offboarding_id": offboarding_id, "status": status})


def test_a_part_that_does_not_end_the_sweep_forgets_nothing_it_did_not_read() -> None:
    seen = {"1": "Offboarded", "2": "Offboarded", "3": "Offboarded"}
    marks = SweepMarks()
    keep = marks.keep(seen, ["1", "4"], "s1", 1, ends=False)
    fired, after = transitions(seen, [_record("1"), _record("4", "Withdrawn")], ["Offboarded"], keep)
    assert fired == [] and after == seen  # 2 and 3 may be on the pages still to read
    keep = marks.keep(seen, ["1"], "s1", 1, ends=False)
    fired, after = transitions(seen, [_record("1", "Withdrawn")], ["Offboarded"], keep)
    assert after == {"2": "Offboarded", "3": "Offboarded"}  # seen in an unwatched status: forgotten at once


def test_an_id_missed_by_one_sweep_of_several_polls_is_kept_and_forgotten_after_two() -> None:
    seen = {"1": "Offboarded", "2": "Offboarded"}
    marks = SweepMarks()
    for sweep, forgotten in (("s1", False), ("s2", True)):
        marks.keep(seen, ["1"], sweep, 1, ends=False)
        keep = marks.keep(seen, [], sweep, 2, ends=True)
        fired, after = transitions(seen, [], ["Offboarded"], keep)
        assert fired == []
        assert ("2" not in after) is forgotten, sweep
        assert after.get("1") == "Offboarded"  # read in the sweep's first part: stays
        seen = after


def test_a_sweep_of_one_poll_forgets_at_once_as_before() -> None:
    marks = SweepMarks()
    keep = marks.keep({"1": "Offboarded"}, [], "s1", 1, ends=True)
    assert transitions({"1": "Offboarded"}, [], ["Offboarded"], keep) == ([], {})


# -- against the emulator ---------------------------------------------------------------------------------------

pytestmark_3 = pytest.mark.skipif(not AIRFLOW_3, reason="event-driven scheduling is Airflow 3")


def _seed(emu: FeishuEmulator, count: int, status: str = "Approved", base: int = 0) -> list[str]:
    return [
        emu.add_offboarding(
            employment_id=f"69825093134{base + n:08d}", status=status, offboarding_date=today_in_beijing()
        )
        for n in range(count)
    ]


@pytestmark_3
@pytest.mark.feishu_emulator(rate_limits="off")
def test_the_poll_loop_reads_a_large_window_in_bounded_polls_without_loss_or_repeat(
    feishu_emulator: FeishuEmulator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """350 records (4 pages); the connection's search rate gives a cap of 2 pages a poll at a 0.2 s interval
    (a quarter of 48.5 searches a second over 0.2 s). The trigger's own poll loop runs with real sleeps."""
    conn = json.loads(feishu_emulator.airflow_conn_json())
    conn["extra"] = {**conn.get("extra", {}), "rate_limits": {"search": [3000, 60]}, "backoff_base": 0.01}
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_DEFAULT", json.dumps(conn))
    ids = _seed(feishu_emulator, 350)
    trigger = OffboardingStatusEventTrigger(feishu_conn_id="feishu_default", window_days_back=0, poll_interval=0.2)
    assert poll_page_cap(dataclasses.replace(SETTINGS, rate_limits={"search": (3000, 60.0)}), 0.2) == 2
    late: list[str] = []
    searches: list[int] = []
    parts: list[tuple[int, bool]] = []

    async def counted(polls: int) -> AsyncIterator[Snapshot]:
        done = 0
        async for snapshot in trigger.snapshots():
            searches.append(feishu_emulator.request_count("search") - done)
            done += searches[-1]
            parts.append((snapshot.part, snapshot.ends_sweep))
            if len(parts) == 2:  # the first sweep (a baseline) has read the whole window
                for oid in ids:
                    feishu_emulator.set_status(oid, "Offboarded")
            if len(parts) == 3:  # a record added behind the cut while the second sweep runs
                late.extend(_seed(feishu_emulator, 1, status="Offboarded", base=900))
            yield snapshot
            if len(parts) == polls:
                return

    async def scenario() -> list[tuple[int, str]]:
        events: list[tuple[int, str]] = []
        async for event in trigger.filter_shared_stream(counted(8)):
            events.extend((len(parts), r["offboarding_id"]) for r in payload_records(event.payload))
        return events

    with caplog.at_level(logging.INFO, logger="airflow_provider_feishu_corehr"):
        events = asyncio.run(scenario())

    assert searches == [2] * 8  # every poll: at most the cap, never the whole window
    assert parts == [(1, False), (2, True)] * 4
    fired = Counter(oid for _, oid in events)
    assert set(fired) == {*ids, *late} and set(fired.values()) == {1}  # every record once, none repeated
    by_poll = Counter(poll for poll, _ in events)
    assert by_poll == {3: 200, 4: 151}  # pages 1-2 in the third poll, pages 3-4 (and the late one) in the fourth
    warnings = [r.getMessage() for r in caplog.records if CUT in r.getMessage()]
    assert len(warnings) == 1, warnings  # once per poll loop, not on every cut poll
    (warning,) = warnings
    assert "200 record(s) in 2 page(s)" in warning and "at most 2 search(es) a poll" in warning
    assert "Narrow the window" in warning and "poll_interval to 60s" in warning


@pytestmark_3
def test_a_record_whose_place_moved_between_two_polls_of_a_sweep_does_not_fire_again(
    feishu: FeishuEmulator,
) -> None:
    """Cap 1 (the documented rate at a 1 s interval): 150 records are 2 polls a sweep. A record of page 1 leaves the
    window between the two polls of the second sweep, so record 101 moves to page 1 after page 1 was read and page
    2 no longer holds it: that sweep misses it. It is kept (missed once), read again by the third sweep, and never
    fires again; the record that left is forgotten after two sweeps missed it, and fires when it comes back."""
    ids = _seed(feishu, 150, status="Offboarded")

    async def scenario() -> list[list[str]]:
        driver = Driver(
            OffboardingStatusEventTrigger(feishu_conn_id="feishu_default", window_days_back=0, poll_interval=1.0)
        )
        steps = [await driver.poll(), await driver.poll(), await driver.poll()]  # baseline, then sweep 2 part 1
        feishu.update_offboarding(ids[0], offboarding_date="2001-01-01")  # leaves the window
        steps += [await driver.poll()]  # sweep 2 part 2: ids[100] is now on page 1, already read
        missed = {r.offboarding_id for r in driver.snapshots[2].records + driver.snapshots[3].records}
        assert ids[100] not in missed
        steps += [await driver.poll() for _ in range(4)]  # sweeps 3 and 4
        feishu.update_offboarding(ids[0], offboarding_date=today_in_beijing())  # comes back
        steps += [await driver.poll() for _ in range(4)]
        await driver.stop()
        return [[e["offboarding_id"] for e in step] for step in steps]

    steps = asyncio.run(scenario())
    assert [len(step) for step in steps[:8]] == [0] * 8  # the baseline and no repeat of the moved record
    assert [oid for step in steps[8:] for oid in step] == [ids[0]]  # the record that left and came back: once


def test_a_first_sweep_not_ended_is_stored_partial_and_read_back(store_table: StoreTable) -> None:
    """A triggerer that stops during a first sweep of several polls: the next one goes on only remembering."""
    memory = memory_for(store_table.accessors("feishu_offboarded"), {"watcher": 1})
    partial = Remembered(at="2026-03-01T00:00:00.000000+00:00", seen={"1": "Offboarded"}, partial=True)
    asyncio.run(memory.save(partial))
    assert asyncio.run(memory.load()) == partial
    (row,) = store_table.rows.values()
    assert json.loads(row) == {"v": 1, "at": partial.at, "seen": partial.seen, "partial": True}
    asyncio.run(memory.save(dataclasses.replace(partial, partial=False)))
    (row,) = store_table.rows.values()
    assert "partial" not in json.loads(row)  # the value of a complete memory is as before
