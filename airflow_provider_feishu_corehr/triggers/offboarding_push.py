"""Event-driven scheduling on offboardings Feishu pushes: a trigger for ``AssetWatcher`` that holds the app's long
connection in the triggerer (Airflow 3; docs/events.md, "Push").

:class:`OffboardingPushTrigger` keeps :class:`~..client.longconn_session.LongConnection` open, reads each pushed
event (:mod:`.event_push`), and yields one :class:`TriggerEvent` per batch of events received together (the polling
watcher's payload, version 2, and its bound: docs/events.md, "A burst in one poll"). Every ``reconcile_interval``
seconds, and once after each reconnection, one search of the window (the polling watcher's :class:`~.event_poll.Sweep`
and page cap, the app's search limiter) catches what no push brought. The memory is the polling watcher's
(:mod:`.event_memory`, Airflow 3.3's asset state).

On Airflow 3.3 the triggerer runs it as a shared stream in ack mode (:mod:`.event_producer`): the connection and the
reconciliations yield :class:`Step` s, the watcher turns each into asset events, and its memory is written only once
the triggerer confirmed those events stored. Written right after the yield instead, a triggerer killed in the second
or two before it stored them would lose them: remembered as fired, never stored (docs/events.md, "Measured on a real
deployment"). Before 3.3, :meth:`OffboardingPushTrigger.run` writes it right after the yield.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from airflow.triggers.base import TriggerEvent

from airflow_provider_feishu_corehr.client.errors import FeishuError, FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.longconn_session import Connected, Disconnected, LongConnection, Pushed
from airflow_provider_feishu_corehr.client.privacy import hide_payload, key_for
from airflow_provider_feishu_corehr.client.validation import check_ids, check_statuses, require_id
from airflow_provider_feishu_corehr.triggers.event_memory import (
    Remembered,
    load_or_none,
    memory_for,
    newest,
    save_or_warn,
)
from airflow_provider_feishu_corehr.triggers.event_poll import (
    DEFAULT_TIMEZONE,
    Snapshot,
    Sweep,
    Window,
    connect,
    poll_page_cap,
)
from airflow_provider_feishu_corehr.triggers.event_push import Change, apply_pushed, apply_reconciled, read_change
from airflow_provider_feishu_corehr.triggers.offboarding_events import poll_payload, take_records

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Hashable

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


@dataclass
class Step:
    """What the connection or a reconciliation brought, for the watchers to fire from.

    :param taken_at: when the batch was received, or the reconciliation search started (UTC, ISO 8601).
    :param key: privacy mode's hashing key, or ``None``.
    :param changes: a batch of pushed changes (received together), or ``None`` for a reconciliation.
    :param pushed: events received in the batch (duplicates and other event types included).
    :param part: the reconciliation's part of a sweep of the window (``None`` for a batch).
    :param commits: in ack mode (:mod:`.event_producer`), the memory writes the watchers leave here, run once their
        events are stored; ``None``: each watcher writes its memory itself, right after its events.
    """

    taken_at: str
    key: bytes | None
    changes: list[Change] | None = None
    pushed: int = 0
    part: Snapshot | None = None
    commits: list[Callable[[], Awaitable[None]]] | None = field(default=None, compare=False)


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

    def shared_stream_key(self) -> Hashable:
        """Watchers with equal keys share one long connection and one reconciliation (Airflow 3.3), whatever their
        statuses, fields or ``fire_existing``: the connection, the window, the interval and the batch time."""
        w = self.window
        key = (self.feishu_conn_id, w.fields, w.days_back, w.days_ahead, w.timezone)
        return ("feishu_corehr.offboardings.push", *key, self.reconcile_interval, self.batch_seconds)

    @classmethod
    async def open_shared_stream(cls, kwargs: dict[str, Any]) -> AsyncIterator[Step]:
        """The group's one connection and reconciliation (built from one member's arguments; key fields only).

        :param kwargs: one member's constructor arguments.
        """
        async for step in cls(**kwargs).steps():
            yield step

    @classmethod
    def create_shared_stream_producer(cls, kwargs: dict[str, Any]) -> Any:
        """Ack mode (Airflow 3.3): the group's steps, with memory written only once their events are stored.

        :param kwargs: one member's constructor arguments (key fields only).
        """
        from airflow_provider_feishu_corehr.triggers.event_producer import SnapshotProducer

        return SnapshotProducer(cast("Any", cls(**kwargs).steps))  # its steps are snapshots to it: taken_at, commits

    async def steps(self) -> AsyncIterator[Step]:
        """Hold the long connection and reconcile, forever: one :class:`Step` per batch or reconciliation."""
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
        async for step in _Watch(self, settings).steps():
            yield step

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        """Turn steps into this watcher's events (one per batch or reconciliation that fired, within the bound),
        ``batch_seconds`` apart at least.

        The stored memory is read before each step and the new one written after the step's events: by the
        producer once they are stored (ack mode), else right away.

        :param shared_stream: the steps of the shared connection.
        """
        memory = memory_for(getattr(self, "asset_state_store", None), self.memory_identity())
        local: Remembered | None = None
        last_event = float("-inf")
        async for step in shared_stream:
            before = newest(await load_or_none(memory, self.log, "push watcher"), local)
            records, after = self._apply(before, step)
            for event in _events(self, records, step.taken_at, step.key):
                wait = last_event + self.batch_seconds - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                last_event = time.monotonic()
                yield event
            if after == before:
                continue
            local = after
            save = functools.partial(save_or_warn, memory, after, self.log, "push watcher", "the next batch")
            if step.commits is not None:  # written once Airflow has stored the events
                step.commits.append(save)
            else:
                await save()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Own connection (Airflow 3.0-3.2, or when the triggerer does not share streams)."""
        async for event in self.filter_shared_stream(self.steps()):
            yield event

    def _apply(self, before: Remembered | None, step: Step) -> tuple[list[dict[str, Any]], Remembered]:
        now = time.time()
        if step.changes is not None:
            records, after = apply_pushed(before, step.changes, self.statuses, self.fields, step.taken_at, now)
            self.log.info("Push watcher: %d event(s) received together, %d record(s) fire", step.pushed, len(records))
            return records, after
        part = step.part
        assert part is not None
        records, after = apply_reconciled(
            before, part.records, self.statuses, part.ends_sweep, self.fire_existing, part.taken_at, now
        )
        self.log.info(
            "Push watcher on %s: reconciliation read %d record(s) of %s in %d search(es), %d fire",
            self.feishu_conn_id,
            len(part.records),
            part.window,
            part.searches,
            len(records),
        )
        return records, after


def _events(
    trigger: OffboardingPushTrigger, records: list[dict[str, Any]], at: str, key: bytes | None
) -> list[TriggerEvent]:
    """The records as asset events of the polling watcher's payload (version 2), each within its bound.

    :param trigger: the watcher (its log).
    :param records: the records that fire.
    :param at: the step's time.
    :param key: privacy mode's hashing key, or ``None``.
    """
    payloads = [hide_payload(record, key) for record in records]
    snapshot = Snapshot(at, "", (), 0, USER_ID_TYPE, at, 1, True)
    events: list[TriggerEvent] = []
    while payloads:
        taken = take_records(payloads)
        events.append(TriggerEvent(poll_payload(payloads[:taken], snapshot, len(payloads) - taken)))  # type: ignore[no-untyped-call]
        payloads = payloads[taken:]
    for record in records:
        trigger.log.info("Offboarding %s: %s (%s)", record["offboarding_id"], record["status"], record["source"])
    return events


class _Watch:
    """One run of a push watcher's connection: the connection task, the reconciliation sweep and its timing."""

    def __init__(self, trigger: OffboardingPushTrigger, settings: ClientSettings) -> None:
        self.trigger = trigger
        self.settings = settings
        self.log = trigger.log
        self.queue: asyncio.Queue[Happening] = asyncio.Queue()
        self.key = key_for(settings)
        self.sweep: Sweep | None = None
        self.client: AsyncFeishuClient | None = None
        self.last_reconcile = float("-inf")
        self.due = 0.0
        self.down = False

    async def steps(self) -> AsyncIterator[Step]:
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
                    step = await self._reconcile()
                else:
                    step = await self._batch(happening) if isinstance(happening, Pushed) else None
                    self._note(happening)
                if step is not None:
                    yield step
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

    async def _batch(self, first: Pushed) -> Step:
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
        changes = [change for p in pushed if (change := read_change(p.event)) is not None]
        return Step(taken_at=_utc_now(), key=self.key, changes=changes, pushed=len(pushed))

    async def _reconcile(self) -> Step | None:
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
            return None
        if part.ends_sweep:
            self.sweep = None
        return Step(taken_at=part.taken_at, key=self.key, part=part)
