"""Time moves statuses, as in Feishu People: the documented lifecycle on the tenant calendar.

* ``Approved`` or ``NoNeedApproval`` becomes ``Offboarded`` once the calendar passes the end of the record's
  ``offboarding_date``: midnight at the end of that date in the tenant's time zone (the submit page: the
  offboarding takes effect at 24:00 of the offboarding date). A record without an offboarding date stays.
* With an approval delay, ``Approving`` becomes ``Approved`` that many calendar seconds after the record
  entered ``Approving`` (added, seeded or set so); ``apply_finish_time`` is then set, if empty. Without one
  (the default), an approval ends only through the control API, as a person would end it.
* A record in a pending modification or withdrawal approval does not move.

Transitions happen lazily, before every request is served and whenever the emulator's state is read, so a
jump of the clock moves every record whose moment has passed, in one step (``Approving`` -> ``Approved`` ->
``Offboarded`` when both moments have passed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing.clock import Clock
    from airflow_provider_feishu_corehr.testing.records import Record

TAKES_EFFECT = frozenset({"Approved", "NoNeedApproval"})


def approval_due(record: Record, since: float | None, delay: float | None, now: float) -> float | None:
    """The calendar moment the approval of an ``Approving`` record ends, if it has ended by ``now``."""
    if record.status != "Approving" or record.pending_approval or delay is None or since is None:
        return None
    moment = since + delay
    return moment if moment <= now else None


def offboarding_due(record: Record, clock: Clock, now: float) -> float | None:
    """The calendar moment an approved record takes effect, if it has by ``now``."""
    if record.status not in TAKES_EFFECT or record.pending_approval:
        return None
    moment = clock.end_of_day(record.values.get("offboarding_date", ""))
    return moment if moment is not None and moment <= now else None


def next_moment(record: Record, since: float | None, delay: float | None, clock: Clock) -> float:
    """The next calendar moment at which ``record`` may move (infinity: none while it stays as it is)."""
    if record.pending_approval:
        return float("inf")
    if record.status == "Approving":
        return float("inf") if delay is None or since is None else since + delay
    if record.status in TAKES_EFFECT:
        moment = clock.end_of_day(record.values.get("offboarding_date", ""))
        return float("inf") if moment is None else moment
    return float("inf")
