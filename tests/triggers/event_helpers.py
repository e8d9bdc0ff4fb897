"""Helpers of the event-watcher tests: a stand-in for Airflow 3.3's ``asset_state_store`` table and a driver
that feeds a watcher's stream one complete snapshot (real searches against the emulator) at a time."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from airflow_provider_feishu_corehr.triggers.event_poll import Snapshot
    from airflow_provider_feishu_corehr.triggers.offboarding_events import OffboardingStatusEventTrigger

BEIJING = dt.timezone(dt.timedelta(hours=8))


def today_in_beijing() -> str:
    """Today's date in the tenant's default time zone (UTC+8), as the window sees it."""
    return dt.datetime.now(BEIJING).date().isoformat()


class StoreTable:
    """Stand-in for the ``asset_state_store`` table: rows keyed by (asset name, key), values kept as JSON text
    (as the database keeps them), shared by every accessor made from it (several triggerers, restarts)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], str] = {}
        self.writes = 0

    def accessors(self, *asset_names: str) -> Any:
        """An object shaped like ``AssetStateStoreAccessors`` for the given watched assets."""
        table = self

        class Accessor:
            def __init__(self, name: str) -> None:
                self.name = name

            async def aget(self, key: str, default: Any = None) -> Any:
                text = table.rows.get((self.name, key))
                return default if text is None else json.loads(text)

            async def aset(self, key: str, value: Any) -> None:
                table.writes += 1
                table.rows[(self.name, key)] = json.dumps(value)

        class Accessors:
            def __init__(self) -> None:
                self._by_name = {n: Accessor(n) for n in asset_names}
                self._by_uri: dict[str, Any] = {}

        return Accessors()


class Driver:
    """Drives one watcher's ``filter_shared_stream`` poll by poll against the emulator, in one event loop.

    ``await driver.poll()`` takes one complete snapshot (real searches) and returns the payloads of the events
    the watcher yielded for it; the watcher runs on as one generator (its in-process memory is kept), as in the
    triggerer. ``await driver.stop()`` ends it (a triggerer restart, when a new driver takes over).
    """

    def __init__(self, trigger: OffboardingStatusEventTrigger) -> None:
        self.trigger = trigger
        self.snapshots: list[Snapshot] = []
        self._queue: asyncio.Queue[Snapshot] = asyncio.Queue()
        self._idle = asyncio.Event()
        self._events: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None

    async def _stream(self) -> AsyncIterator[Snapshot]:
        while True:
            if self._queue.empty():
                self._idle.set()
            snapshot = await self._queue.get()
            self._idle.clear()
            yield snapshot

    async def _consume(self) -> None:
        async for event in self.trigger.filter_shared_stream(self._stream()):
            self._events.append(event.payload)

    async def feed(self, snapshot: Snapshot) -> list[dict[str, Any]]:
        """Hand one snapshot to the watcher; return the payloads it yielded for it."""
        if self._task is None:
            self._task = asyncio.create_task(self._consume())
        done = len(self._events)
        self._idle.clear()
        self._queue.put_nowait(snapshot)
        await asyncio.wait_for(self._idle.wait(), timeout=30)
        if self._task.done():
            self._task.result()  # re-raise what ended the watcher
        return self._events[done:]

    async def poll(self) -> list[dict[str, Any]]:
        """Take one complete snapshot of the watcher's window (real searches) and feed it."""
        from airflow_provider_feishu_corehr.triggers.event_poll import connect, take_snapshot

        client = await connect(self.trigger.feishu_conn_id)
        async with client:
            snapshot = await take_snapshot(
                client, self.trigger.window, self.trigger.user_id_type, dt.datetime.now(dt.UTC)
            )
        self.snapshots.append(snapshot)
        return await self.feed(snapshot)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
