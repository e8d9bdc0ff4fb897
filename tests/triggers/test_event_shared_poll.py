"""Sibling watchers share one poll through Airflow 3.3's SharedStreamManager (the triggerer's own machinery).

Two watchers on the same connection and window but different statuses subscribe to one manager; the emulator
serves one search per snapshot, and both watchers receive the very same snapshots and fire their own events.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

import pytest
from airflow import __version__ as airflow_version
from event_helpers import AckTriggerer, today_in_beijing, until
from packaging.version import Version

from airflow_provider_feishu_corehr.triggers.offboarding_events import OffboardingStatusEventTrigger, payload_records

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from event_helpers import StoreTable

    from airflow_provider_feishu_corehr.testing import FeishuEmulator
    from airflow_provider_feishu_corehr.triggers.event_poll import Snapshot

shared_stream = pytest.importorskip("airflow.triggers.shared_stream", reason="shared streams are Airflow 3.3+")
pytestmark = pytest.mark.skipif(Version(airflow_version).major < 3, reason="event-driven scheduling is Airflow 3")


class Recording(OffboardingStatusEventTrigger):
    """The watcher, noting every snapshot its filter receives."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.received: list[Snapshot] = []

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async def tap() -> AsyncIterator[Any]:
            async for snapshot in shared_stream:
                self.received.append(snapshot)
                yield snapshot

        async for event in super().filter_shared_stream(tap()):
            yield event


def _watcher(statuses: list[str], **kwargs: Any) -> Recording:
    return Recording(
        feishu_conn_id="feishu_default", statuses=statuses, window_days_back=0, poll_interval=0.3, **kwargs
    )


def test_key_holds_connection_and_window_not_statuses() -> None:
    approved, offboarded = _watcher(["Approved"]), _watcher(["Offboarded"], extra_fields=["reason"])
    assert approved.shared_stream_key() == offboarded.shared_stream_key()
    assert hash(approved.shared_stream_key()) == hash(offboarded.shared_stream_key())
    assert _watcher(["Approved"], window_days_ahead=30).shared_stream_key() != approved.shared_stream_key()
    assert _watcher(["Approved"], tenant_timezone="+00:00").shared_stream_key() != approved.shared_stream_key()
    other_conn = Recording(feishu_conn_id="feishu_other", statuses=["Approved"], window_days_back=0, poll_interval=0.3)
    assert other_conn.shared_stream_key() != approved.shared_stream_key()


def test_two_watchers_share_one_poll_and_fire_their_own_events(feishu_today: FeishuEmulator) -> None:
    today = today_in_beijing()
    approving = feishu_today.add_offboarding(
        employment_id="6982509313466181001", status="Approving", offboarding_date=today
    )
    approved = feishu_today.add_offboarding(
        employment_id="6982509313466181002", status="Approved", offboarding_date=today
    )
    watchers = {1: _watcher(["Approved"]), 2: _watcher(["Offboarded"])}
    events: dict[int, list[tuple[str, str]]] = {1: [], 2: []}

    async def scenario() -> int:
        manager = shared_stream.SharedStreamManager()
        key = watchers[1].shared_stream_key()

        async def consume(trigger_id: int) -> None:
            stream = manager.subscribe(trigger_id=trigger_id, trigger=watchers[trigger_id], key=key)
            async for event in watchers[trigger_id].filter_shared_stream(stream):
                events[trigger_id].extend((r["offboarding_id"], r["status"]) for r in payload_records(event.payload))

        tasks = [asyncio.create_task(consume(i)) for i in watchers]
        deadline = time.monotonic() + 30
        while not all(w.received for w in watchers.values()) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        feishu_today.set_status(approving, "Approved")
        feishu_today.set_status(approved, "Offboarded")
        while not (events[1] and events[2]) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for trigger_id in watchers:
            await manager.unsubscribe(trigger_id, key)
        await manager.stop_all()
        return feishu_today.request_count("search")

    searches = asyncio.run(scenario())
    assert events == {1: [(approving, "Approved")], 2: [(approved, "Offboarded")]}
    one, two = (list(map(id, w.received)) for w in watchers.values())
    shorter, longer = sorted((one, two), key=len)
    assert shorter == longer[: len(shorter)]  # the same snapshot objects, in the same order
    assert len(longer) >= 2
    # one search per poll for both watchers (at most one more poll was in flight when the group stopped)
    assert len(longer) <= searches <= len(longer) + 1


def test_ack_mode_remembers_a_transition_only_once_its_event_is_stored(
    feishu_today: FeishuEmulator, store_table: StoreTable
) -> None:
    oid = feishu_today.add_offboarding(
        employment_id="6982509313466181003", status="Approved", offboarding_date=today_in_beijing()
    )
    table = store_table

    def watcher() -> Recording:
        made = _watcher(["Offboarded"])
        made.asset_state_store = table.accessors("feishu_offboarded")
        return made

    def remembered() -> dict[str, str] | None:
        if not table.rows:
            return None
        (text,) = table.rows.values()
        seen: dict[str, str] = json.loads(text)["seen"]
        return seen

    async def scenario() -> list[list[tuple[str, str]]]:
        crashed = AckTriggerer(watcher(), ("offboarding_id", "status")).start()
        await until("the baseline stored", lambda: remembered() == {})
        feishu_today.set_status(oid, "Offboarded")
        await until("the event", lambda: crashed.records)
        polls = len(crashed.watcher.received)
        await until("two more polls", lambda: len(crashed.watcher.received) >= polls + 2)
        assert remembered() == {}  # the event was never confirmed stored: not remembered
        await crashed.stop()  # the triggerer dies before the supervisor stored the event

        restarted = AckTriggerer(watcher(), ("offboarding_id", "status")).start()
        await until("the event again", lambda: restarted.records)
        assert remembered() == {}
        restarted.confirm()  # this time the supervisor stores it
        await until("the transition remembered", lambda: remembered() == {oid: "Offboarded"})
        polls = len(restarted.watcher.received)
        await until("two more polls", lambda: len(restarted.watcher.received) >= polls + 2)
        await restarted.stop()

        again = AckTriggerer(watcher(), ("offboarding_id", "status")).start()
        await until("three polls", lambda: len(again.watcher.received) >= 3)
        await again.stop()
        return [crashed.records, restarted.records, again.records]

    crashed, restarted, again = asyncio.run(scenario())
    assert crashed == [(oid, "Offboarded")]
    assert restarted == [(oid, "Offboarded")]  # not lost: fired again after the crash
    assert again == []  # stored and remembered: no duplicate after a restart
