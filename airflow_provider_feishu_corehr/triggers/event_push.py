"""What the pushed watcher fires for, without I/O (docs/events.md, "Push"): a pushed event read
(:func:`read_change`), a batch of them against the memory (:func:`apply_pushed`: duplicates by event id, status
transitions, watched fields), and a reconciliation search against the same memory (:func:`apply_reconciled`).

The memory is the polling watcher's :class:`~.event_memory.Remembered` (``seen``: offboarding id -> watched status
fired for; ``events``: event ids handled, with expiry), so a record fired by push is not fired again by
reconciliation, and the other way round. Both are bounded: :data:`MAX_EVENT_IDS` ids kept
:data:`EVENT_ID_SECONDS`, :data:`MAX_SEEN` offboardings (the oldest fired forgotten first).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.triggers.event_memory import Remembered
from airflow_provider_feishu_corehr.triggers.offboarding_events import record_payload, transitions

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping

    from airflow_provider_feishu_corehr.client.models import OffboardingRecord

log = logging.getLogger(__name__)

STATUS_EVENT = "corehr.offboarding.status_updated_v2"
UPDATED_EVENT = "corehr.offboarding.updated_v2"
STATUS_CODES = {1: "Approving", 2: "Approved", 3: "Offboarded", 4: "Rejected", 5: "Withdrawn", 6: "NoNeedApproval"}
"""``status`` integers of the status event (docs/api-facts.md, "Events")."""

EVENT_ID_SECONDS = 2 * 86400.0
"""How long an event id is remembered: Feishu's last retry comes about 6 h 20 min after the first push."""
MAX_EVENT_IDS = 5000
"""Most event ids remembered (about 60 bytes each); the soonest to expire are forgotten first beyond."""
MAX_SEEN = 10000
"""Most offboardings remembered as fired (about 40 bytes each); the oldest fired are forgotten first beyond."""


@dataclass(frozen=True)
class Change:
    """One pushed offboarding event, read.

    :param event_id: ``header.event_id``.
    :param event_type: :data:`STATUS_EVENT` or :data:`UPDATED_EVENT`.
    :param offboarding_id: the offboarding (``offboarding_id``; ``offboarding_info_id`` in the updated event).
    :param employment_id: the employment, or ``None``.
    :param status: the status the integer names, or ``None`` (absent or unknown).
    :param updated_fields: the updated event's field names (empty for the status event).
    """

    event_id: str
    event_type: str
    offboarding_id: str
    employment_id: str | None
    status: str | None
    updated_fields: tuple[str, ...] = ()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def read_change(event: Mapping[str, Any]) -> Change | None:
    """The offboarding change a pushed event carries, or ``None``: another event type, a v1 envelope, or a body
    without event id or offboarding id (logged, ids only).

    :param event: the pushed JSON (``schema``, ``header``, ``event``).
    """
    header, body = event.get("header"), event.get("event")
    if not isinstance(header, dict) or not isinstance(body, dict):
        return None
    kind = header.get("event_type")
    if kind not in (STATUS_EVENT, UPDATED_EVENT):
        return None
    event_id = _text(header.get("event_id"))
    offboarding_id = _text(body.get("offboarding_id" if kind == STATUS_EVENT else "offboarding_info_id"))
    if event_id is None or offboarding_id is None:
        log.warning("Pushed %s event without event id or offboarding id; ignored", kind)
        return None
    status = body.get("status")
    fields = body.get("updated_fields")
    return Change(
        event_id=event_id,
        event_type=kind,
        offboarding_id=offboarding_id,
        employment_id=_text(body.get("employment_id")),
        status=STATUS_CODES.get(status) if isinstance(status, int) and not isinstance(status, bool) else None,
        updated_fields=tuple(f for f in fields if isinstance(f, str)) if isinstance(fields, list) else (),
    )


def pushed_record(change: Change) -> dict[str, Any]:
    """A pushed change as one record of an event payload: the polling watcher's keys (values a push does not carry
    are ``None``), ``source: "push"``, the event types and the updated field names.

    :param change: the change.
    """
    return {
        "offboarding_id": change.offboarding_id,
        "employment_id": change.employment_id,
        "status": change.status,
        "offboarding_date": None,
        "expected_offboarding_date": None,
        "checklist_status": None,
        "apply_initiating_time": None,
        "fields": {},
        "source": "push",
        "event_types": [change.event_type],
        "updated_fields": list(change.updated_fields),
    }


def _bounded(seen: dict[str, str], events: dict[str, float], now: float) -> tuple[dict[str, str], dict[str, float]]:
    live = {k: v for k, v in events.items() if v > now}
    if len(live) > MAX_EVENT_IDS:
        live = dict(sorted(live.items(), key=lambda item: item[1])[-MAX_EVENT_IDS:])
    if len(seen) > MAX_SEEN:
        seen = dict(list(seen.items())[-MAX_SEEN:])
    return seen, live


def apply_pushed(
    before: Remembered | None,
    changes: Iterable[Change],
    statuses: Collection[str],
    fields: Collection[str],
    at: str,
    now: float,
) -> tuple[list[dict[str, Any]], Remembered]:
    """The records a batch of pushed changes fires (one per offboarding, in arrival order), and the memory after.

    A change whose event id is remembered is a duplicate: skipped. A status change to a watched status fires unless
    the offboarding is remembered in that status; to another status it forgets the offboarding (so it fires again
    when it comes back). An updated event fires when it names a watched field. Changes of one offboarding in one
    batch are one record (event types and field names joined, the last status).

    :param before: the memory, or ``None`` (nothing stored yet).
    :param changes: the batch, in arrival order.
    :param statuses: the watched statuses.
    :param fields: the watched field names (updated events).
    :param at: when the batch was received (UTC, ISO 8601): the memory's ``at``.
    :param now: epoch seconds (event-id expiry).
    """
    seen = dict(before.seen) if before else {}
    events = dict(before.events) if before else {}
    fired: dict[str, dict[str, Any]] = {}
    for change in changes:
        if events.get(change.event_id, 0.0) > now:
            log.info("Pushed event %s for offboarding %s again: dropped", change.event_id, change.offboarding_id)
            continue
        events[change.event_id] = now + EVENT_ID_SECONDS
        fires = False
        if change.event_type == STATUS_EVENT:
            if change.status is not None and change.status in statuses:
                fires = seen.get(change.offboarding_id) != change.status
                seen.pop(change.offboarding_id, None)  # re-inserted last: the newest fired
                seen[change.offboarding_id] = change.status
            else:
                seen.pop(change.offboarding_id, None)
        elif set(change.updated_fields) & set(fields):
            fires = True
        if not fires:
            continue
        record = fired.get(change.offboarding_id)
        if record is None:
            fired[change.offboarding_id] = pushed_record(change)
            continue
        record["event_types"] = list(dict.fromkeys([*record["event_types"], change.event_type]))
        record["updated_fields"] = list(dict.fromkeys([*record["updated_fields"], *change.updated_fields]))
        if change.event_type == STATUS_EVENT or record["status"] is None:
            record["status"] = change.status
        record["employment_id"] = record["employment_id"] or change.employment_id
    seen, events = _bounded(seen, events, now)
    partial = True if before is None else before.partial
    return list(fired.values()), Remembered(at=at, seen=seen, partial=partial, events=events)


def apply_reconciled(
    before: Remembered | None,
    records: Iterable[OffboardingRecord],
    statuses: Collection[str],
    ends_sweep: bool,
    fire_existing: bool,
    at: str,
    now: float,
) -> tuple[list[dict[str, Any]], Remembered]:
    """The records a reconciliation search fires (in search order) and the memory after: a record in a watched
    status not remembered in it fires (it changed while no push reached this watcher); one read in another status
    is forgotten; one not read stays remembered (pushed records may lie outside the window). The first sweep of a
    watcher with nothing stored only remembers, unless ``fire_existing``.

    :param before: the memory, or ``None``.
    :param records: the records the search read (one part of a sweep of the window, or all of it).
    :param statuses: the watched statuses.
    :param ends_sweep: this part read the window's last page.
    :param fire_existing: fire on the first sweep too.
    :param at: when the search started (UTC, ISO 8601).
    :param now: epoch seconds (event-id expiry).
    """
    seen = dict(before.seen) if before else {}
    records = list(records)
    found, after = transitions(seen, records, statuses, keep=set(seen))
    ordered = {k: after[k] for k in seen if k in after}  # keep the firing order: the oldest are bounded out first
    ordered.update(after)
    baseline = not fire_existing and (before is None or before.partial)
    fired = [] if baseline else [{**record_payload(record, ()), "source": "reconcile"} for record in found]
    seen, events = _bounded(ordered, dict(before.events) if before else {}, now)
    partial = baseline and not ends_sweep
    remembered = Remembered(at=at, seen=seen, partial=partial, events=events)
    return fired, remembered if before is None else replace(remembered, at=max(at, before.at))
