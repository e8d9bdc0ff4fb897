"""The push watcher in Airflow 3.3's shared stream, ack mode (the triggerer's own ``SharedStreamManager``, the
emulator's long connection): its memory is written only once the triggerer confirmed the events stored.

Found on a real deployment (scripts/e2e_push_events.py): written right after the yield, the memory reached the
database through the supervisor at once while the event waited up to a second in the trigger runner; a triggerer
killed in between lost the change (remembered as fired, never stored, and Feishu had its acknowledgement).
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import pytest
from airflow import __version__ as airflow_version
from event_helpers import AckTriggerer, today_in_beijing, until
from packaging.version import Version

if TYPE_CHECKING:
    from event_helpers import StoreTable

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

shared_stream = pytest.importorskip("airflow.triggers.shared_stream", reason="shared streams are Airflow 3.3+")
pytestmark = pytest.mark.skipif(Version(airflow_version).major < 3, reason="event-driven scheduling is Airflow 3")

FAST = {"ReconnectCount": -1, "ReconnectInterval": 1, "ReconnectNonce": 0, "PingInterval": 1}


def _watcher(**kwargs: Any) -> Any:
    from airflow_provider_feishu_corehr.triggers.offboarding_push import OffboardingPushTrigger

    args: dict[str, Any] = {"feishu_conn_id": "feishu_default", "window_days_back": 0, "batch_seconds": 0.3}
    return OffboardingPushTrigger(**{**args, **kwargs})


def test_key_holds_the_connection_and_window_not_the_statuses() -> None:
    offboarded, approved = _watcher(), _watcher(statuses=["Approved"], fields=["reason_explanation"])
    assert offboarded.shared_stream_key() == approved.shared_stream_key()
    assert hash(offboarded.shared_stream_key()) == hash(approved.shared_stream_key())
    assert _watcher(window_days_ahead=30).shared_stream_key() != offboarded.shared_stream_key()
    assert _watcher(reconcile_interval=60).shared_stream_key() != offboarded.shared_stream_key()
    assert _watcher(batch_seconds=1).shared_stream_key() != offboarded.shared_stream_key()


def test_ack_mode_remembers_a_pushed_change_only_once_its_event_is_stored(
    feishu_today: FeishuEmulator, store_table: StoreTable
) -> None:
    emu = feishu_today
    emu.configure_long_connection(client_config=FAST)
    oid = emu.add_offboarding(
        employment_id="6982509313466181004", status="Approved", offboarding_date=today_in_beijing()
    )
    table = store_table

    def watcher() -> Any:
        made = _watcher()
        made.asset_state_store = table.accessors("feishu_pushed")
        return made

    def remembered() -> dict[str, str] | None:
        if not table.rows:
            return None
        (text,) = table.rows.values()
        seen: dict[str, str] = json.loads(text)["seen"]
        return seen

    def searches() -> int:
        return emu.request_count("search")

    async def scenario() -> list[list[tuple[str, str]]]:
        killed = AckTriggerer(watcher(), ("offboarding_id", "source")).start()
        await until("the baseline stored", lambda: remembered() == {} and emu.connections())
        emu.set_status(oid, "Offboarded")
        await until("the pushed event", lambda: killed.records)
        await asyncio.sleep(1.5)  # written right after the yield, the memory would hold it by now
        assert remembered() == {}  # the event was never confirmed stored: not remembered
        await killed.stop()  # the triggerer dies before its supervisor stored the event
        await until("the connection closed", lambda: not emu.connections())

        restarted = AckTriggerer(watcher(), ("offboarding_id", "source")).start()
        count = searches()
        await until("the reconciliation's event", lambda: restarted.records and searches() > count)
        assert remembered() == {}
        restarted.confirm()  # this time the supervisor stores it
        await until("the change remembered", lambda: remembered() == {oid: "Offboarded"})
        await restarted.stop()
        await until("the connection closed", lambda: not emu.connections())

        again = AckTriggerer(watcher(), ("offboarding_id", "source")).start()
        count = searches()
        await until("the reconciliation at start", lambda: searches() > count and emu.connections())
        emu.inject_event_fault("duplicate")
        emu.set_status(oid, "Offboarded")  # the same status pushed again (a new event id): remembered, no fire
        await until("the push acknowledged", lambda: all(e["state"] == "acked" for e in emu.events()))
        await asyncio.sleep(1.0)
        await again.stop()
        return [[r for r in t.records if r[0] == oid] for t in (killed, restarted, again)]

    # the seed's records move with the calendar too (pushed as well): only this record's are compared
    killed, restarted, again = asyncio.run(scenario())
    assert killed == [(oid, "push")]
    assert restarted == [(oid, "reconcile")]  # not lost: reconciliation fires it after the restart
    assert again == []  # stored and remembered: nothing twice
