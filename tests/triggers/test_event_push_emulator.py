"""OffboardingPushTrigger against the emulator's long connection (a real HTTP + WebSocket server): the trigger's
own ``run`` in one event loop, records changed by the control API and the hook, asset events collected as the
triggerer would, the memory in a stand-in of Airflow's asset state store (Airflow's own accessors on 3.3)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import pytest
from airflow import __version__ as airflow_version
from event_helpers import today_in_beijing
from packaging.version import Version

if TYPE_CHECKING:
    from collections.abc import Callable

    from event_helpers import StoreTable

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

pytestmark = pytest.mark.skipif(Version(airflow_version).major < 3, reason="event-driven scheduling is Airflow 3")

EMPLOYMENT = "6982509313466189999"
FAST = {"ReconnectCount": -1, "ReconnectInterval": 1, "ReconnectNonce": 0, "PingInterval": 1}


class Running:
    """One trigger's ``run`` as a task; its events' records collected."""

    def __init__(self, store: StoreTable, **kwargs: Any) -> None:
        from airflow_provider_feishu_corehr.triggers.offboarding_push import OffboardingPushTrigger

        args: dict[str, Any] = {"feishu_conn_id": "feishu_default", "window_days_back": 0, "batch_seconds": 0.3}
        args.update(kwargs)
        self.trigger = OffboardingPushTrigger(**args)
        self.trigger.asset_state_store = store.accessors("feishu_pushed")
        self.payloads: list[dict[str, Any]] = []
        self.task: asyncio.Task[None] | None = None

    async def _consume(self) -> None:
        async for event in self.trigger.run():
            self.payloads.append(event.payload)

    def start(self) -> Running:
        self.task = asyncio.create_task(self._consume())
        return self

    @property
    def records(self) -> list[dict[str, Any]]:
        return [record for payload in self.payloads for record in payload["records"]]

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def until(check: Callable[[], bool], seconds: float = 30.0) -> None:
    """Wait for ``check`` (a condition, not a duration: the bound only keeps a broken test from hanging)."""
    for _ in range(int(seconds * 20)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


def _searches(emu: FeishuEmulator) -> int:
    return sum(1 for r in emu.requests if r.endpoint == "search")


def _add(emu: FeishuEmulator, status: str = "Approved", employment_id: str = EMPLOYMENT) -> str:
    return emu.add_offboarding(employment_id=employment_id, status=status, offboarding_date=today_in_beijing())


def _mine(emu: FeishuEmulator, *offboarding_ids: str) -> list[dict[str, Any]]:
    """The emulator's deliveries of these offboardings' events (the seed's records move with the calendar too)."""
    return [
        e
        for e in emu.events()
        if {e["event"]["event"].get("offboarding_id"), e["event"]["event"].get("offboarding_info_id")}
        & set(offboarding_ids)
    ]


def _delivered(emu: FeishuEmulator, *offboarding_ids: str) -> bool:
    return all(e["state"] in ("acked", "given_up") for e in _mine(emu, *offboarding_ids))


def _records(run: Running, *offboarding_ids: str) -> list[dict[str, Any]]:
    return [r for r in run.records if r["offboarding_id"] in offboarding_ids]


def test_status_change_revoke_and_edit_each_fire_one_event(
    feishu_today: FeishuEmulator, store_table: StoreTable
) -> None:
    emu = feishu_today
    emu.configure_long_connection(client_config=FAST)
    first, second = _add(emu), _add(emu, employment_id="6982509313466189998")
    third = _add(emu, employment_id="6982509313466189997")

    async def scenario() -> Running:
        from airflow_provider_feishu_corehr.client.models import FieldValue
        from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

        run = Running(store_table, statuses=["Offboarded", "Withdrawn"], fields=["reason_explanation"]).start()
        await until(lambda: bool(emu.connections()) and _searches(emu) == 1)
        emu.set_status(first, "Offboarded")
        await until(lambda: len(_records(run, first)) == 1)
        client = await FeishuHook(feishu_conn_id="feishu_default").aget_conn()
        async with client:
            await client.revoke_offboarding(second)
            await until(lambda: len(_records(run, second)) == 1 and _delivered(emu, second))
            await client.edit_offboarding(third, [FieldValue("reason_explanation", "moving")])
            await until(lambda: len(_records(run, third)) == 1 and _delivered(emu, third))
        await asyncio.sleep(1.0)  # let any stray push arrive: none may
        await run.stop()
        return run

    run = asyncio.run(scenario())
    assert [(r["offboarding_id"], r["status"], r["source"]) for r in _records(run, first, second)] == [
        (first, "Offboarded", "push"),
        (second, "Withdrawn", "push"),
    ]
    (edit,) = _records(run, third)
    assert edit["updated_fields"] == ["reason_explanation"] and edit["event_types"] == ["corehr.offboarding.updated_v2"]
    assert {p["version"] for p in run.payloads} == {2}
    assert _searches(emu) == 1  # connected: the only search is the first reconciliation


def test_duplicated_event_fires_once(feishu_today: FeishuEmulator, store_table: StoreTable) -> None:
    emu = feishu_today
    emu.configure_long_connection(client_config=FAST)
    oid = _add(emu)

    async def scenario() -> Running:
        run = Running(store_table).start()
        await until(lambda: bool(emu.connections()) and _searches(emu) == 1)
        emu.inject_event_fault("duplicate", copies=3)
        emu.set_status(oid, "Offboarded")
        await until(lambda: _delivered(emu, oid) and sum(len(e["attempts"]) for e in _mine(emu, oid)) >= 3)
        await asyncio.sleep(1.0)
        await run.stop()
        return run

    run = asyncio.run(scenario())
    assert [(r["offboarding_id"], r["status"]) for r in _records(run, oid)] == [(oid, "Offboarded")]


def test_dropped_connection_reconnects_and_reconciliation_catches_what_was_missed_once(
    feishu_today: FeishuEmulator, store_table: StoreTable
) -> None:
    emu = feishu_today
    emu.configure_long_connection(client_config=FAST, retry_delays=[4])
    oid = _add(emu)

    async def scenario() -> Running:
        run = Running(store_table, reconcile_interval=10.0).start()  # a reconnection reconciles after 1 s at most
        await until(lambda: bool(emu.connections()) and _searches(emu) == 1)
        emu.inject_event_fault("refuse_handshake", count=2)  # a server error: retried at the configured interval
        emu.drop_connections()
        emu.set_status(oid, "Offboarded")  # pushed to no connection: Feishu retries 4 s later
        await until(lambda: len(_records(run, oid)) == 1)
        await until(lambda: _delivered(emu, oid))  # the retry reached the new connection
        await asyncio.sleep(1.0)
        await run.stop()
        return run

    run = asyncio.run(scenario())
    assert [(r["offboarding_id"], r["source"]) for r in _records(run, oid)] == [(oid, "reconcile")]
    ((delivery,),) = [_mine(emu, oid)]
    assert [a["result"] for a in delivery["attempts"]] == ["no_connection", "acked"]


def test_restart_with_the_same_asset_state_fires_nothing_twice(
    feishu_today: FeishuEmulator, store_table: StoreTable
) -> None:
    emu = feishu_today
    emu.configure_long_connection(client_config=FAST)
    fired, while_down = _add(emu), _add(emu, employment_id="6982509313466189998")

    async def scenario() -> tuple[Running, Running]:
        before = Running(store_table).start()
        await until(lambda: bool(emu.connections()) and _searches(emu) == 1)
        emu.set_status(fired, "Offboarded")
        await until(lambda: len(_records(before, fired)) == 1)
        await before.stop()
        await until(lambda: not emu.connections())
        emu.set_status(while_down, "Offboarded")  # nobody connected: Feishu retries it later (15 s)
        after = Running(store_table).start()
        await until(lambda: len(_records(after, while_down)) == 1)
        emu.inject_event_fault("duplicate")  # the first record's event pushed again would be dropped too
        await asyncio.sleep(1.0)
        await after.stop()
        return before, after

    before, after = asyncio.run(scenario())
    assert [r["offboarding_id"] for r in _records(before, fired, while_down)] == [fired]
    assert [(r["offboarding_id"], r["source"]) for r in _records(after, fired, while_down)] == [
        (while_down, "reconcile")
    ]


def test_refused_handshake_backs_off(feishu_today: FeishuEmulator) -> None:
    """A client refusal (connection limit) waits ``refused_wait``; a server refusal the configured nonce, then the
    interval. The waits are recorded by the sleep given to the connection (no clock in the assertion)."""
    from airflow_provider_feishu_corehr.client.longconn_session import Connected, Disconnected, LongConnection
    from airflow_provider_feishu_corehr.client.models import ClientSettings

    emu = feishu_today
    emu.configure_long_connection(
        client_config={"ReconnectCount": 3, "ReconnectInterval": 7, "ReconnectNonce": 10, "PingInterval": 60}
    )
    emu.inject_event_fault("connection_limit")
    emu.inject_event_fault("refuse_handshake", count=2, status=500)
    waits: list[float] = []
    seen: list[Any] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(0)

    async def scenario() -> None:
        settings = ClientSettings(base_url=emu.base_url, app_id=emu.app_id, app_secret=emu.app_secret)
        connection = LongConnection(settings, seen.append, refused_wait=900.0, sleep=sleep, random=lambda: 0.5)
        task = asyncio.create_task(connection.run())
        await until(lambda: any(isinstance(s, Connected) for s in seen))
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    refusals = [s for s in seen if isinstance(s, Disconnected)]
    assert [r.refused for r in refusals] == [False, False, True]  # the emulator's order of its faults
    assert waits[:3] == [5.0, 7.0, 900.0]  # server errors: 0.5 x nonce, then the interval; refused: the long wait
    assert emu.long_connection()["endpoint_requests"] == 4
