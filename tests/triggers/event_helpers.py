"""Helpers of the event-watcher tests: a stand-in for Airflow 3.3's ``asset_state_store`` table and a driver
that feeds a watcher's stream one poll (real searches against the emulator) at a time."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import pytest

    from airflow_provider_feishu_corehr.triggers.event_poll import Snapshot, Sweep
    from airflow_provider_feishu_corehr.triggers.offboarding_events import OffboardingStatusEventTrigger

BEIJING = dt.timezone(dt.timedelta(hours=8))


def today_in_beijing() -> str:
    """Today's date in the tenant's default time zone (UTC+8), as the window sees it."""
    return dt.datetime.now(BEIJING).date().isoformat()


class StoreTable:
    """Stand-in for the ``asset_state_store`` table: rows keyed by (asset name, key), values kept as JSON text
    (as the database keeps them), shared by every store made from it (several triggerers, restarts).

    On Airflow 3.3+ :meth:`accessors` gives Airflow's own ``AssetStateStoreAccessors``: its reads and writes reach
    this table through a stand-in of the supervisor channel (the triggerer's supervisor does the same against the
    database). Before 3.3 (no store in Airflow) it gives an object with the store's documented single-asset
    ``aget`` / ``aset``.

    :param monkeypatch: installs the channel stand-in for the test.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.rows: dict[tuple[str, str], str] = {}
        self.writes = 0
        try:
            from airflow.sdk.execution_time import task_runner
            from airflow.sdk.execution_time.context import AssetStateStoreAccessors
        except ImportError:
            self._airflow_store: Any = None
        else:
            self._airflow_store = AssetStateStoreAccessors
            monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", self, raising=False)

    def read(self, name: str, key: str) -> Any:
        """The stored value of ``key`` on asset ``name`` (``None``: no row)."""
        text = self.rows.get((name, key))
        return None if text is None else json.loads(text)

    def write(self, name: str, key: str, value: Any) -> None:
        """Store ``value`` under ``key`` on asset ``name``."""
        self.writes += 1
        self.rows[(name, key)] = json.dumps(value)

    async def asend(self, msg: Any) -> Any:
        """The supervisor's side of Airflow's asset-store messages, by asset name (what watchers use)."""
        from airflow.sdk.exceptions import ErrorType
        from airflow.sdk.execution_time import comms

        if isinstance(msg, comms.GetAssetStateStoreByName):
            value = self.read(msg.name, msg.key)
            if value is None:
                return comms.ErrorResponse(error=ErrorType.ASSET_STORE_NOT_FOUND)
            return comms.AssetStateStoreResult(value=value)
        if isinstance(msg, comms.SetAssetStateStoreByName):
            self.write(msg.name, msg.key, msg.value)
            return None
        raise AssertionError(f"unexpected message {type(msg).__name__}")

    def accessors(self, *asset_names: str) -> Any:
        """The ``asset_state_store`` the triggerer gives a watcher of these assets."""
        if self._airflow_store is not None:
            from airflow.sdk import Asset

            return self._airflow_store(inlets=[Asset(name=name) for name in asset_names])
        (name,) = asset_names  # before 3.3 only the one-asset form is exercised
        table = self

        class OneAsset:
            async def aget(self, key: str, default: Any = None) -> Any:
                value = table.read(name, key)
                return default if value is None else value

            async def aset(self, key: str, value: Any) -> None:
                table.write(name, key, value)

        return OneAsset()


class Driver:
    """Drives one watcher's ``filter_shared_stream`` poll by poll against the emulator, in one event loop.

    ``await driver.poll()`` takes one poll (real searches) and returns the records of the events (per record, as
    ``payload_records`` gives them) the watcher yielded for it, the events' payloads are in ``payloads``; the
    watcher runs on as one generator (its in-process memory is kept), as in the triggerer. ``await driver.stop()``
    ends it (a triggerer restart, when a new driver takes over).
    """

    def __init__(self, trigger: OffboardingStatusEventTrigger) -> None:
        self.trigger = trigger
        self.snapshots: list[Snapshot] = []
        self._queue: asyncio.Queue[Snapshot] = asyncio.Queue()
        self._idle = asyncio.Event()
        self._events: list[dict[str, Any]] = []
        self.payloads: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self.sweep: Sweep | None = None

    async def _stream(self) -> AsyncIterator[Snapshot]:
        while True:
            if self._queue.empty():
                self._idle.set()
            snapshot = await self._queue.get()
            self._idle.clear()
            yield snapshot

    async def _consume(self) -> None:
        from airflow_provider_feishu_corehr.triggers.offboarding_events import payload_records

        async for event in self.trigger.filter_shared_stream(self._stream()):
            self.payloads.append(event.payload)
            self._events.extend(payload_records(event.payload))

    async def feed(self, snapshot: Snapshot) -> list[dict[str, Any]]:
        """Hand one snapshot to the watcher; return the records of the events it yielded for it."""
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
        """Take one poll as the trigger's poll loop does (real searches: the whole window when it fits in the
        trigger's page cap, else the next part of a sweep) and feed it."""
        from airflow_provider_feishu_corehr.triggers.event_poll import Sweep, connect, poll_page_cap

        client = await connect(self.trigger.feishu_conn_id)
        async with client:
            now = dt.datetime.now(dt.UTC)
            if self.sweep is None:
                self.sweep = Sweep.begin(client, self.trigger.window, self.trigger.user_id_type, now)
            cap = poll_page_cap(client.settings, self.trigger.poll_interval)
            snapshot, error = await self.sweep.read(client, cap, now)
        if error is not None:
            raise error
        assert snapshot is not None
        if snapshot.ends_sweep:
            self.sweep = None
        self.snapshots.append(snapshot)
        return await self.feed(snapshot)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class AckTriggerer:
    """What a 3.3 triggerer does with a watcher in ack mode: subscribe it to a ``SharedStreamManager``, bind each
    event it yields, and confirm the events stored (``confirm()``; never called = killed before storing them).

    :param watcher: the watcher trigger (shared-stream capable).
    :param keys: the two record keys kept per record in ``records`` (e.g. ``("offboarding_id", "status")``).
    """

    def __init__(self, watcher: Any, keys: tuple[str, str]) -> None:
        from airflow.triggers import shared_stream  # Airflow 3.3+; the tests that use it skip before

        from airflow_provider_feishu_corehr.triggers.offboarding_events import payload_records

        self.watcher = watcher
        self.manager = shared_stream.SharedStreamManager()
        self.key = watcher.shared_stream_key()
        self.records: list[tuple[str, str]] = []
        self.seqs: list[int] = []
        self.task: asyncio.Task[None] | None = None
        self._keys = keys
        self._payload_records = payload_records

    def start(self) -> AckTriggerer:
        """Start consuming (inside a running event loop)."""

        async def consume() -> None:
            stream = self.manager.subscribe(trigger_id=1, trigger=self.watcher, key=self.key)
            async for event in self.watcher.filter_shared_stream(stream):
                seq = self.manager.bind_pending_event(trigger_id=1, key=self.key)
                assert seq is not None  # ack mode: the event is bound to the step it came from
                self.seqs.append(seq)
                first, second = self._keys
                self.records.extend((r[first], r[second]) for r in self._payload_records(event.payload))

        self.task = asyncio.create_task(consume())
        return self

    def confirm(self) -> None:
        """The supervisor's confirmation that the bound events are stored."""
        self.manager.confirm_persisted(self.seqs)

    async def stop(self) -> None:
        """Cancel the consumer and stop the manager's streams."""
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.manager.unsubscribe(1, self.key)
        await self.manager.stop_all()


async def until(what: str, check: Any, timeout: float = 30) -> None:
    """Wait until ``check()`` holds; fail naming ``what`` after ``timeout`` seconds (a bound, not a measure).

    :param what: what is awaited, for the failure message.
    :param check: the condition.
    :param timeout: the bound in seconds.
    """
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
