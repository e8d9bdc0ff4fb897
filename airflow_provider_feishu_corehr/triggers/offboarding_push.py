"""Event-driven scheduling on offboardings Feishu pushes: a trigger for ``AssetWatcher`` that holds the app's long
connection in the triggerer (Airflow 3; docs/events.md, "Push").

:class:`OffboardingPushTrigger` keeps :class:`~..client.longconn_session.LongConnection` open, reads each pushed
event (:mod:`.event_push`), and yields one :class:`TriggerEvent` per batch of events received together (the polling
watcher's payload, version 2, and its bound: docs/events.md, "A burst in one poll"). Every ``reconcile_interval``
seconds, and once after each reconnection, one search of the window (the polling watcher's :class:`~.event_poll.Sweep`
and page cap, the app's search limiter) catches what no push brought. The memory is the polling watcher's
(:mod:`.event_memory`, Airflow 3.3's asset state).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import TriggerEvent

from airflow_provider_feishu_corehr.client.errors import FeishuError, FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.longconn_session import Connected, Disconnected, LongConnection, Pushed
from airflow_provider_feishu_corehr.client.privacy import hide_payload, key_for
from airflow_provider_feishu_corehr.client.validation import check_ids, check_statuses, require_id
from airflow_provider_feishu_corehr.triggers.event_memory import Memory, Remembered, memory_for, newest
from airflow_provider_feishu_corehr.triggers.event_poll import (
    DEFAULT_TIMEZONE,
    Snapshot,
    Sweep,
    Window,
    connect,
    poll_page_cap,
)
from airflow_provider_feishu_corehr.triggers.event_push import apply_pushed, apply_reconciled, read_change
from airflow_provider_feishu_corehr.triggers.offboarding_events import poll_payload, take_records

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Collection

    from airflow.triggers.base import BaseEventTrigger as _Base

    from airflow_provider_feishu_corehr.client.aio import AsyncFeishuClient
    from airflow_provider_feishu_corehr.client.longconn_session import Happening
    from airflow_provider_feishu_corehr.client.models import ClientSettings
else:
    try:
        from airflow.triggers.base import BaseEventTrigger as _Base
    except ImportError:  # Airflow 2: no event-driven scheduling
        from airflow.triggers.base import BaseTrigger as _Base

__all__ = ["OffboardingPushTrigger"]

USER_ID_TYPE = "people_corehr_id"
"""Id type of the ids of both kinds of records: a pushed event's ``employment_id`` is the CoreHR id, and the
reconciliation searches ask for the same (docs/events.md, "Push")."""
MIN_RECONCILE_INTERVAL = 1.0
MAX_RECONCILE_INTERVAL = 86400.0
RECONNECT_RECONCILE_GAP = 60.0
"""Fewest seconds between a reconciliation and the one a reconnection asks for (at most a tenth of the interval),
so that a connection that drops again and again does not spend the search budget."""


def _seconds(name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise FeishuInvalidInputError(f"{name} must be a number of seconds from {low:g} to {high:g}, got {value!r}")
    return float(value)


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


class OffboardingPushTrigger(_Base):
    """Fire for offboardings Feishu pushes over the app's long connection (for ``AssetWatcher``): those that newly
    reach one of ``statuses`` (the status event), and those whose edit names one of ``fields`` (the updated event).

    :param feishu_conn_id: Airflow connection id of type ``feishu`` (App ID, App Secret, domain).
    :param statuses: watched statuses (may be empty when ``fields`` is not).
    :param fields: field names whose edits fire (``updated_fields`` of the updated event); empty: none.
    :param window_fields: range filters of the reconciliation search (as the polling watcher's).
    :param window_days_back: days before today in the reconciliation window.
    :param window_days_ahead: days after today in the reconciliation window.
    :param tenant_timezone: the tenant's time zone: a UTC offset (``+08:00``) or an IANA name.
    :param reconcile_interval: seconds between two reconciliation searches (also the wait after Feishu refused
        the app).
    :param batch_seconds: seconds events received together are gathered into one asset event; also the least
        time between two asset events.
    :param fire_existing: the first reconciliation of a watcher with nothing stored also fires for records already
        in a watched status; by default it only remembers them.
    """

    def __init__(
        self,
        *,
        feishu_conn_id: str,
        statuses: str | Collection[str] = ("Offboarded",),
        fields: str | Collection[str] = (),
        window_fields: str | Collection[str] = ("offboarding_date",),
        window_days_back: int = 7,
        window_days_ahead: int = 0,
        tenant_timezone: str = DEFAULT_TIMEZONE,
        reconcile_interval: float = 1800.0,
        batch_seconds: float = 2.0,
        fire_existing: bool = False,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.feishu_conn_id = require_id("feishu_conn_id", feishu_conn_id)
        self.statuses = check_statuses("statuses", statuses)
        self.fields = tuple(dict.fromkeys(check_ids("fields", fields)))
        if not self.statuses and not self.fields:
            raise FeishuInvalidInputError("statuses and fields are both empty: name a status or a field to watch")
        self.window = Window.of(window_fields, window_days_back, window_days_ahead, tenant_timezone)
        self.reconcile_interval = _seconds(
            "reconcile_interval", reconcile_interval, MIN_RECONCILE_INTERVAL, MAX_RECONCILE_INTERVAL
        )
        self.batch_seconds = _seconds("batch_seconds", batch_seconds, 0.0, 60.0)
        if not isinstance(fire_existing, bool):
            raise FeishuInvalidInputError(f"fire_existing must be true or false, got {fire_existing!r}")
        self.fire_existing = fire_existing

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and arguments (JSON values only; no secret)."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "feishu_conn_id": self.feishu_conn_id,
                "statuses": list(self.statuses),
                "fields": list(self.fields),
                "window_fields": list(self.window.fields),
                "window_days_back": self.window.days_back,
                "window_days_ahead": self.window.days_ahead,
                "tenant_timezone": self.window.timezone,
                "reconcile_interval": self.reconcile_interval,
                "batch_seconds": self.batch_seconds,
                "fire_existing": self.fire_existing,
            },
        )

    def memory_identity(self) -> dict[str, Any]:
        """What defines this watcher's firing (its memory key is a digest of it)."""
        w = self.window
        return {
            "kind": "push",
            "conn": self.feishu_conn_id,
            "statuses": sorted(self.statuses),
            "fields": sorted(self.fields),
            "window": [w.fields, w.days_back, w.days_ahead, w.timezone],
        }

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Hold the long connection and reconcile, forever; yield one event per batch that fired."""
        from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

        while True:  # the connection must be readable; a watcher never ends
            try:
                settings = await FeishuHook(feishu_conn_id=self.feishu_conn_id).aget_settings()
                break
            except FeishuError as exc:
                self.log.error(
                    "Push watcher on %s: %s; read again in %.0fs", self.feishu_conn_id, exc, self.reconcile_interval
                )
                await asyncio.sleep(self.reconcile_interval)
        async for event in _Watch(self, settings).events():
            yield event


class _Watch:
    """One run of a push watcher: the connection task, the memory, the reconciliation sweep and the pacing."""

    def __init__(self, trigger: OffboardingPushTrigger, settings: ClientSettings) -> None:
        self.trigger = trigger
        self.settings = settings
        self.log = trigger.log
        self.memory: Memory = memory_for(getattr(trigger, "asset_state_store", None), trigger.memory_identity())
        self.local: Remembered | None = None
        self.queue: asyncio.Queue[Happening] = asyncio.Queue()
        self.key = key_for(settings)
        self.sweep: Sweep | None = None
        self.client: AsyncFeishuClient | None = None
        self.last_event = float("-inf")
        self.last_reconcile = float("-inf")
        self.due = 0.0
        self.down = False

    async def events(self) -> AsyncIterator[TriggerEvent]:
        t = self.trigger
        connection = LongConnection(self.settings, self.queue.put_nowait, refused_wait=t.reconcile_interval)
        task: asyncio.Task[None] | None = None
        self.due = time.monotonic()  # reconcile at start: what changed while no watcher ran
        try:
            while True:
                if task is None or task.done():
                    if task is not None and not task.cancelled() and task.exception() is not None:
                        self.log.error("Push watcher: the connection task ended (%r); started again", task.exception())
                    task = asyncio.create_task(connection.run())
                try:
                    happening = await asyncio.wait_for(self.queue.get(), max(0.0, self.due - time.monotonic()))
                except TimeoutError:
                    self.last_reconcile = time.monotonic()
                    self.due = self.last_reconcile + t.reconcile_interval
                    events, after = await self._reconcile()
                else:
                    events, after = await self._take(happening)
                for event in events:
                    yield await self._paced(event)
                if after is not None:  # written once the events are handed over: at least once
                    await self._remember(after)
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if self.client is not None:
                await self.client.aclose()

    def _note(self, happening: Happening) -> None:
        """A connection change: after a reconnection, reconcile soon (what was pushed while down may have gone to
        another connection of the app, or waits for Feishu's next retry)."""
        if isinstance(happening, Disconnected):
            self.down = True
        elif isinstance(happening, Connected):
            if self.down:
                gap = min(RECONNECT_RECONCILE_GAP, self.trigger.reconcile_interval / 10)
                self.due = min(self.due, max(time.monotonic(), self.last_reconcile + gap))
            self.down = False

    async def _take(self, happening: Happening) -> tuple[list[TriggerEvent], Remembered | None]:
        """A connection change noted, or a batch of pushed events read."""
        if isinstance(happening, Pushed):
            return await self._batch(happening)
        self._note(happening)
        return [], None

    async def _paced(self, event: TriggerEvent) -> TriggerEvent:
        """``event`` once ``batch_seconds`` passed since the last one (docs/events.md, "A burst in one poll")."""
        wait = self.last_event + self.trigger.batch_seconds - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self.last_event = time.monotonic()
        return event

    async def _before(self) -> Remembered | None:
        try:
            stored = await self.memory.load()
        except Exception as exc:  # the store is the triggerer's; a failed read must not end the watcher
            self.log.warning("Could not read the push watcher's memory (%s); using this process's", type(exc).__name__)
            stored = None
        return newest(stored, self.local)

    async def _remember(self, remembered: Remembered) -> None:
        self.local = remembered
        try:
            await self.memory.save(remembered)
        except Exception as exc:
            self.log.warning(
                "Could not store the push watcher's memory (%s); retried after the next batch", type(exc).__name__
            )

    async def _batch(self, first: Pushed) -> tuple[list[TriggerEvent], Remembered | None]:
        """The events of ``first`` and every event received within ``batch_seconds`` after it."""
        pushed = [first]
        end = time.monotonic() + self.trigger.batch_seconds
        while (left := end - time.monotonic()) > 0:
            try:
                happening = await asyncio.wait_for(self.queue.get(), left)
            except TimeoutError:
                break
            if isinstance(happening, Pushed):
                pushed.append(happening)
            else:
                self._note(happening)
        at = _utc_now()
        changes = [change for p in pushed if (change := read_change(p.event)) is not None]
        t = self.trigger
        before = await self._before()
        records, after = apply_pushed(before, changes, t.statuses, t.fields, at, time.time())
        self.log.info("Push watcher: %d event(s) received together, %d record(s) fire", len(pushed), len(records))
        return self._events(records, at), (after if after != before else None)

    async def _reconcile(self) -> tuple[list[TriggerEvent], Remembered | None]:
        """One reconciliation: the next pages of the window (at most the polling watcher's page cap a time)."""
        t = self.trigger
        now = dt.datetime.now(dt.UTC)
        try:
            if self.client is None:
                self.client = await connect(t.feishu_conn_id)
            if self.sweep is None:
                self.sweep = Sweep.begin(self.client, t.window, USER_ID_TYPE, now)
            part, error = await self.sweep.read(
                self.client, poll_page_cap(self.client.settings, t.reconcile_interval), now
            )
        except FeishuError as exc:
            part, error = None, exc
        if error is not None:
            self.log.warning("Push watcher on %s: reconciliation search failed: %s", t.feishu_conn_id, error)
            if error.permanent and self.client is not None:
                await self.client.aclose()
                self.client, self.sweep = None, None
        if part is None:
            return [], None
        if part.ends_sweep:
            self.sweep = None
        before = await self._before()
        records, after = apply_reconciled(
            before, part.records, t.statuses, part.ends_sweep, t.fire_existing, part.taken_at, time.time()
        )
        self.log.info(
            "Push watcher on %s: reconciliation read %d record(s) of %s in %d search(es), %d fire",
            t.feishu_conn_id,
            len(part.records),
            part.window,
            part.searches,
            len(records),
        )
        return self._events(records, part.taken_at), (after if after != before else None)

    def _events(self, records: list[dict[str, Any]], at: str) -> list[TriggerEvent]:
        """The records as asset events of the polling watcher's payload (version 2), each within its bound."""
        payloads = [hide_payload(record, self.key) for record in records]
        snapshot = Snapshot(at, "", (), 0, USER_ID_TYPE, at, 1, True)
        events: list[TriggerEvent] = []
        while payloads:
            taken = take_records(payloads)
            events.append(TriggerEvent(poll_payload(payloads[:taken], snapshot, len(payloads) - taken)))  # type: ignore[no-untyped-call]
            payloads = payloads[taken:]
        for record in records:
            self.log.info("Offboarding %s: %s (%s)", record["offboarding_id"], record["status"], record["source"])
        return events
