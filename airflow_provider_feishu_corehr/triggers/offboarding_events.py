"""Event-driven scheduling on Feishu offboardings: a trigger for ``AssetWatcher`` (Airflow 3; docs/events.md).

:class:`OffboardingStatusEventTrigger` polls a date window (:mod:`.event_poll`) and yields one
:class:`TriggerEvent` per poll that saw records newly reach a watched status (:func:`transitions`), carrying all
of them (:func:`poll_payload`, at most :data:`MAX_EVENT_RECORDS` records and :data:`MAX_EVENT_BYTES`; the rest fire
with the next poll): Airflow 3.3 links asset events that land milliseconds apart to one run only partly
(docs/events.md, "A burst in one poll"). The memory of what fired is :mod:`.event_memory`. Sibling watchers share
one poll through Airflow 3.3's ``shared_stream_key`` (ack mode: :mod:`.event_producer`); on 3.0-3.2 each runs its
own (:meth:`run`). On Airflow 2 this module imports (base class ``BaseTrigger``) but there is no ``AssetWatcher``
to run it.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import TriggerEvent

from airflow_provider_feishu_corehr.client.errors import FeishuError, FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.privacy import hide_payload, key_for
from airflow_provider_feishu_corehr.client.validation import (
    check_ids,
    check_statuses,
    optional_user_id_type,
    require_id,
)
from airflow_provider_feishu_corehr.status.looks import check_poll_interval
from airflow_provider_feishu_corehr.triggers.event_memory import (
    Remembered,
    SweepMarks,
    load_or_none,
    memory_for,
    newest,
    save_or_warn,
)
from airflow_provider_feishu_corehr.triggers.event_poll import DEFAULT_TIMEZONE, Snapshot, Window, poll_forever

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Collection, Hashable, Iterable, Mapping

    from airflow.triggers.base import BaseEventTrigger as _Base

    from airflow_provider_feishu_corehr.client.models import OffboardingRecord
else:
    try:
        from airflow.triggers.base import BaseEventTrigger as _Base
    except ImportError:  # Airflow 2: no event-driven scheduling
        from airflow.triggers.base import BaseTrigger as _Base

__all__ = ["OffboardingStatusEventTrigger", "payload_records", "records_from_asset_events"]

MAX_EXTRA_FIELDS = 20

PAYLOAD_VERSION = 2
"""The payload's shape: 2 = one event per poll with a ``records`` list (1, before 0.x+1: one event per record)."""

MAX_EVENT_RECORDS = 1000
"""Most records one asset event carries (docs/events.md, "What a run receives")."""

MAX_EVENT_BYTES = 512 * 1024
"""Most bytes of JSON the records of one asset event take (about 300 bytes a record without ``extra_fields``); the
first record always goes, whatever its size."""


def transitions(
    seen: Mapping[str, str],
    records: Iterable[OffboardingRecord],
    statuses: Collection[str],
    keep: Collection[str] = (),
) -> tuple[list[OffboardingRecord], dict[str, str]]:
    """Records that newly reached a watched status, and the memory after these records: per offboarding id, the
    watched status last fired for; a record in another status, or gone, is forgotten, so it fires again when it
    comes back (docs/events.md, "When an event fires").

    :param seen: offboarding id -> watched status already fired for.
    :param records: the records read: every record of the window, or one part of a sweep of it.
    :param statuses: the watched statuses.
    :param keep: remembered ids that stay remembered when ``records`` lacks them (not read yet, or within the grace
        of :class:`~.event_memory.SweepMarks`); the others are gone. Empty: ``records`` is the whole window.
    """
    fired: list[OffboardingRecord] = []
    after: dict[str, str] = {}
    read: set[str] = set()
    for record in records:
        read.add(record.offboarding_id)
        if record.status not in statuses or not record.offboarding_id:
            continue
        if seen.get(record.offboarding_id) != record.status:
            fired.append(record)
        after[record.offboarding_id] = record.status
    for offboarding_id in keep:
        if offboarding_id in seen and offboarding_id not in read:
            after[offboarding_id] = seen[offboarding_id]
    return fired, after


def _small(value: Any) -> Any:
    """A JSON-safe, small form of a search value: enums become their ``enum_name``; objects are dropped."""
    if isinstance(value, str | bool | int | float) or value is None:
        return value
    if isinstance(value, dict):
        return value.get("enum_name") if isinstance(value.get("enum_name"), str) else None
    if isinstance(value, list):
        return [v for v in map(_small, value) if v is not None and not isinstance(v, list)]
    return None


def field_value(raw: Mapping[str, Any], name: str) -> Any:
    """Value of an offboarding-info key or of a custom field (by api name) in a search item, or ``None``.

    :param raw: the search item.
    :param name: the key or custom field api name.
    """
    info = raw.get("offboarding_info")
    if not isinstance(info, dict):
        return None
    if name in info and name != "custom_fields":
        return _small(info[name])
    for custom in info.get("custom_fields") or ():
        if isinstance(custom, dict) and custom.get("custom_api_name") == name:
            return _small(custom.get("value"))
    return None


def record_payload(record: OffboardingRecord, extra_fields: Collection[str]) -> dict[str, Any]:
    """One record of an event's ``records`` (docs/events.md, "What a run receives").

    :param record: the record that reached a watched status.
    :param extra_fields: extra values to copy from the record.
    """
    return {
        **record.summary(),
        "apply_initiating_time": record.apply_initiating_time,
        "fields": {name: field_value(record.raw, name) for name in extra_fields},
    }


def take_records(records: list[dict[str, Any]], max_records: int | None = None, max_bytes: int | None = None) -> int:
    """How many of ``records``, from the first, one event carries: at most ``max_records`` and ``max_bytes`` of
    JSON, and at least one when there is one.

    :param records: the record payloads, in firing order.
    :param max_records: most records an event carries; ``None``: :data:`MAX_EVENT_RECORDS`.
    :param max_bytes: most bytes of JSON the carried records take; ``None``: :data:`MAX_EVENT_BYTES`.
    """
    max_records = MAX_EVENT_RECORDS if max_records is None else max_records
    max_bytes = MAX_EVENT_BYTES if max_bytes is None else max_bytes
    size = taken = 0
    for record in records[:max_records]:
        size += len(json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode("utf-8")) + 1
        if taken and size > max_bytes:
            break
        taken += 1
    return taken


def poll_payload(records: list[dict[str, Any]], snapshot: Snapshot, more: int) -> dict[str, Any]:
    """The JSON payload of a poll's event: what is common to its records once, then the records.

    :param records: the record payloads the event carries (:func:`record_payload`, hashed in privacy mode).
    :param snapshot: the poll they were seen in.
    :param more: records of the same poll left for the next poll's event (over the bound).
    """
    return {
        "version": PAYLOAD_VERSION,
        "observed_at": snapshot.taken_at,
        "user_id_type": snapshot.user_id_type,
        "count": len(records),
        "more": more,
        "records": records,
    }


def payload_records(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The records of one event payload, each with its event's ``observed_at`` and ``user_id_type``: the
    per-record form (a payload of version 1, one record per event, is that form already). Empty for a payload
    that is not the watcher's.

    :param payload: ``extra["payload"]`` of an asset event.
    """
    records = payload.get("records")
    if isinstance(records, list):
        shared = {k: payload.get(k) for k in ("user_id_type", "observed_at")}
        return [{**record, **shared} for record in records if isinstance(record, dict)]
    return [dict(payload)] if isinstance(payload.get("offboarding_id"), str) else []


def records_from_asset_events(triggering_asset_events: Mapping[Any, Any]) -> list[dict[str, Any]]:
    """Every offboarding record of a run's triggering asset events (``context["triggering_asset_events"]``):
    every event of every asset, every record of every event.

    Keeps the events this watcher created (``extra["from_trigger"]``; payloads of version 2, a poll's records, and
    of version 1, one record), in event order, each transition once (two triggerers overlapping in a hand-over
    may both fire it). Each record carries its event's ``observed_at`` and ``user_id_type``.

    :param triggering_asset_events: asset -> its events, as Airflow hands them to the task.
    """
    records: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for events in triggering_asset_events.values():
        for event in events:
            extra = getattr(event, "extra", None) or {}
            payload = extra.get("payload") if extra.get("from_trigger") else None
            if not isinstance(payload, dict):
                continue
            for record in payload_records(payload):
                if not isinstance(record.get("offboarding_id"), str):
                    continue
                identity = (record["offboarding_id"], str(record.get("status")))
                if identity not in seen:
                    seen.add(identity)
                    records.append(record)
    return records


def _extra_fields(value: Any) -> tuple[str, ...]:
    names = check_ids("extra_fields", value)
    if len(names) > MAX_EXTRA_FIELDS:
        raise FeishuInvalidInputError(f"extra_fields takes at most {MAX_EXTRA_FIELDS} names, got {len(names)}")
    return tuple(dict.fromkeys(names))


class OffboardingStatusEventTrigger(_Base):
    """Fire once for every offboarding that newly reaches one of ``statuses`` (for ``AssetWatcher``).

    Every ``poll_interval`` seconds, searches the offboardings whose ``window_fields`` fall between
    ``window_days_back`` days before today and ``window_days_ahead`` days after it (today in ``tenant_timezone``),
    and yields one event for the poll carrying every record that newly reached a watched status (up to
    :data:`MAX_EVENT_RECORDS`; the rest with the next poll).

    :param feishu_conn_id: Airflow connection id of type ``feishu``.
    :param statuses: watched statuses (at least one).
    :param window_fields: ``offboarding_date``, ``expected_offboarding_date`` and/or ``apply_initiating_time``.
    :param window_days_back: days before today in the window.
    :param window_days_ahead: days after today in the window (e.g. to watch ``Approved`` ahead of the date).
    :param tenant_timezone: the tenant's time zone: a UTC offset (``+08:00``, the default) or an IANA name.
    :param user_id_type: id type of ids in the payload; ``None`` = the connection's default.
    :param poll_interval: seconds from one poll's start to the next.
    :param fire_existing: on the very first poll (nothing remembered yet), fire for records already in a
        watched status; by default they are only remembered, and later transitions fire.
    :param extra_fields: offboarding-info keys or custom field api names to copy into ``payload["fields"]``.
    """

    def __init__(
        self,
        *,
        feishu_conn_id: str,
        statuses: str | Collection[str] = ("Offboarded",),
        window_fields: str | Collection[str] = ("offboarding_date",),
        window_days_back: int = 7,
        window_days_ahead: int = 0,
        tenant_timezone: str = DEFAULT_TIMEZONE,
        user_id_type: str | None = None,
        poll_interval: float = 300.0,
        fire_existing: bool = False,
        extra_fields: Collection[str] = (),
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.feishu_conn_id = require_id("feishu_conn_id", feishu_conn_id)
        self.statuses = check_statuses("statuses", statuses)
        if not self.statuses:
            raise FeishuInvalidInputError("statuses must name at least one offboarding status to watch")
        self.window = Window.of(window_fields, window_days_back, window_days_ahead, tenant_timezone)
        self.user_id_type = optional_user_id_type(user_id_type)
        self.poll_interval = check_poll_interval(poll_interval)
        if not isinstance(fire_existing, bool):
            raise FeishuInvalidInputError(f"fire_existing must be true or false, got {fire_existing!r}")
        self.fire_existing = fire_existing
        self.extra_fields = _extra_fields(extra_fields)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and arguments (JSON values only; no secret)."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "feishu_conn_id": self.feishu_conn_id,
                "statuses": list(self.statuses),
                "window_fields": list(self.window.fields),
                "window_days_back": self.window.days_back,
                "window_days_ahead": self.window.days_ahead,
                "tenant_timezone": self.window.timezone,
                "user_id_type": self.user_id_type,
                "poll_interval": self.poll_interval,
                "fire_existing": self.fire_existing,
                "extra_fields": list(self.extra_fields),
            },
        )

    def shared_stream_key(self) -> Hashable:
        """Watchers with equal keys share one poll (Airflow 3.3): connection, window, id type and interval."""
        key = (self.feishu_conn_id, *self._window_key(), self.user_id_type, self.poll_interval)
        return ("feishu_corehr.offboardings", *key)

    @classmethod
    async def open_shared_stream(cls, kwargs: dict[str, Any]) -> AsyncIterator[Snapshot]:
        """The group's one poll loop (built from one member's arguments; only key fields are used).

        :param kwargs: one member's constructor arguments.
        """
        async for snapshot in cls(**kwargs).snapshots():
            yield snapshot

    def snapshots(self) -> AsyncIterator[Snapshot]:
        """This watcher's own poll loop (complete snapshots, forever)."""
        return poll_forever(self.feishu_conn_id, self.window, self.user_id_type, self.poll_interval)

    @classmethod
    def create_shared_stream_producer(cls, kwargs: dict[str, Any]) -> Any:
        """Ack mode (Airflow 3.3): the group's poll, with memory written only once the events are stored.

        :param kwargs: one member's constructor arguments (only key fields are used).
        """
        from airflow_provider_feishu_corehr.triggers.event_producer import SnapshotProducer

        return SnapshotProducer(cls(**kwargs).snapshots)

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        """Turn snapshots into this watcher's events: one per snapshot with records that newly reached a watched
        status, carrying them all (:meth:`_fire`).

        The stored memory is read before each snapshot (restart, HA hand-over) and the new one written after the
        snapshot's event: by the producer once it is stored (ack mode), else right away.

        :param shared_stream: the snapshots of the shared poll.
        """
        memory = memory_for(getattr(self, "asset_state_store", None), self.memory_identity())
        local: Remembered | None = None
        marks = SweepMarks()
        held: set[str] = set()  # ids over the bound at the last poll: first in the next event
        async for snapshot in shared_stream:
            before = newest(await load_or_none(memory, self.log, "watcher"), local)
            remembered = before.seen if before else {}
            ids = [record.offboarding_id for record in snapshot.records]
            keep = marks.keep(remembered, ids, snapshot.sweep, snapshot.part, snapshot.ends_sweep)
            fired, seen = transitions(remembered, snapshot.records, self.statuses, keep)
            baseline = not self.fire_existing and (before is None or before.partial)
            if baseline:
                fired = []  # the first sweep of the window only remembers
                if snapshot.ends_sweep:
                    self.log.info(
                        "Watching %s in %s: %d record(s) already there are remembered, not fired",
                        "/".join(self.statuses),
                        snapshot.window,
                        len(seen),
                    )
            try:  # privacy mode (docs/privacy.md): read when there is something to fire
                key = await self._privacy_key() if fired else None
            except FeishuError as exc:  # nothing fired, nothing remembered: the next poll fires these
                self.log.warning("Cannot read %s for privacy mode; events held back: %s", self.feishu_conn_id, exc)
                continue
            if fired:
                event, left = self._fire(fired, held, snapshot, key)
                for record in left:  # not remembered: fired with the next poll, first
                    if record.offboarding_id in remembered:
                        seen[record.offboarding_id] = remembered[record.offboarding_id]
                    else:
                        seen.pop(record.offboarding_id, None)
                held = {record.offboarding_id for record in left}
                yield event
            partial = baseline and not snapshot.ends_sweep
            if before is not None and seen == before.seen and partial == before.partial:
                continue  # nothing to remember anew
            local = Remembered(at=snapshot.taken_at, seen=seen, partial=partial)
            save = functools.partial(save_or_warn, memory, local, self.log, "watcher", "the next poll")
            if snapshot.commits is not None:  # written once Airflow has stored the events
                snapshot.commits.append(save)
            else:
                await save()

    def _fire(
        self, fired: list[OffboardingRecord], held: Collection[str], snapshot: Snapshot, key: bytes | None
    ) -> tuple[TriggerEvent, list[OffboardingRecord]]:
        """The poll's one event, and the records over its bound (left for the next poll).

        :param fired: the records that newly reached a watched status, in search order.
        :param held: ids left over at the last poll: they go first.
        :param snapshot: the poll.
        :param key: privacy mode's hashing key, or ``None``.
        """
        ordered = sorted(fired, key=lambda record: record.offboarding_id not in held)  # stable: search order kept
        payloads = [hide_payload(record_payload(record, self.extra_fields), key) for record in ordered]
        taken = take_records(payloads)
        for record in ordered[:taken]:
            self.log.info("Offboarding %s reached %s", record.offboarding_id, record.status)
        left = ordered[taken:]
        if left:
            self.log.warning(
                "%d offboarding(s) reached %s in one poll; this poll's event carries %d (at most %d records, %d "
                "bytes), the other %d fire with the next poll",
                len(ordered),
                "/".join(self.statuses),
                taken,
                MAX_EVENT_RECORDS,
                MAX_EVENT_BYTES,
                len(left),
            )
        payload = poll_payload(payloads[:taken], snapshot, len(left))
        return TriggerEvent(payload), left  # type: ignore[no-untyped-call]

    async def _privacy_key(self) -> bytes | None:
        """Privacy mode's hashing key when the connection's extra ``privacy`` is on, else ``None``."""
        from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

        return key_for(await FeishuHook(feishu_conn_id=self.feishu_conn_id).aget_settings())

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Own poll loop (Airflow 3.0-3.2, or when the triggerer does not share streams)."""
        async for event in self.filter_shared_stream(self.snapshots()):
            yield event

    def memory_identity(self) -> dict[str, Any]:
        """What defines this watcher's transitions (its memory key is a digest of it)."""
        return {
            "conn": self.feishu_conn_id,
            "statuses": sorted(self.statuses),
            "window": list(self._window_key()),
            "user_id_type": self.user_id_type,
        }

    def _window_key(self) -> tuple[Any, ...]:
        """The window in both keys, field by field: a new ``Window`` field must not change deployed keys."""
        w = self.window
        return w.fields, w.days_back, w.days_ahead, w.timezone
