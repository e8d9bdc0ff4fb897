"""What the offboarding event watcher polls: its date window, and complete snapshots of it every interval.

The window is evaluated afresh at every poll (days around "today" in the tenant's time zone, on one or more of
the v1 search's range filters); a snapshot is every record of every page, all statuses. A poll that fails
part-way yields nothing; errors are logged and the loop goes on (docs/events.md, "When an event fires" and
"Budget"). Searches go through the async client, so its search limiter and retry policy apply.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.api import MAX_PAGE_SIZE
from airflow_provider_feishu_corehr.client.errors import FeishuError, FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.validation import as_items

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Collection

    from airflow_provider_feishu_corehr.client.aio import AsyncFeishuClient
    from airflow_provider_feishu_corehr.client.models import OffboardingRecord

log = logging.getLogger(__name__)

WINDOW_FIELDS = ("offboarding_date", "expected_offboarding_date", "apply_initiating_time")
"""Search range filters a window can apply to (AND-ed by Feishu)."""

DEFAULT_TIMEZONE = "+08:00"
"""Feishu tenants in mainland China keep Beijing time (UTC+8)."""

MAX_DAYS = 3660
_OFFSET = re.compile(r"^(?:UTC)?([+-])(\d{2}):?(\d{2})$")


def parse_timezone(name: str) -> dt.tzinfo:
    """A fixed UTC offset (``+08:00``, ``UTC-05:00``) or an IANA name (``Asia/Shanghai``).

    :param name: the tenant's time zone.
    """
    if not isinstance(name, str) or not name.strip():
        raise FeishuInvalidInputError(
            f"tenant_timezone must be a UTC offset such as +08:00 or an IANA name, got {name!r}"
        )
    text = name.strip()
    match = _OFFSET.match(text)
    if match:
        sign, hours, minutes = match.groups()
        offset = dt.timedelta(hours=int(hours), minutes=int(minutes))
        if offset > dt.timedelta(hours=14) or int(minutes) >= 60:
            raise FeishuInvalidInputError(f"tenant_timezone {text!r} is not a valid UTC offset (at most ±14:00)")
        return dt.timezone(-offset if sign == "-" else offset)
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise FeishuInvalidInputError(
            f"tenant_timezone {text!r} is neither a UTC offset such as +08:00 nor a known IANA time zone"
        ) from None


def _days(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
        raise FeishuInvalidInputError(f"{name} must be a whole number of days from 0 to {MAX_DAYS}, got {value!r}")
    return value


def _fields(value: Any) -> tuple[str, ...]:
    names = as_items("window_fields", value)
    if not names:
        raise FeishuInvalidInputError(f"window_fields must name at least one of {', '.join(WINDOW_FIELDS)}")
    for name in names:
        if name not in WINDOW_FIELDS:
            raise FeishuInvalidInputError(f"window_fields: {name!r} is not one of {', '.join(WINDOW_FIELDS)}")
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class Window:
    """``days_back`` days before today up to ``days_ahead`` days after it (both included, tenant time), on each of
    ``fields``. Build it with :meth:`of`, which validates.

    :param fields: range filters the window applies to (each gets the same days).
    :param days_back: days before today included.
    :param days_ahead: days after today included.
    :param timezone: the tenant's time zone as given (UTC offset or IANA name).
    """

    fields: tuple[str, ...]
    days_back: int
    days_ahead: int
    timezone: str

    @classmethod
    def of(cls, fields: str | Collection[str], days_back: Any, days_ahead: Any, timezone: str) -> Window:
        """Validate and build a window.

        :param fields: one or more of :data:`WINDOW_FIELDS`.
        :param days_back: days before today included (0-3660).
        :param days_ahead: days after today included (0-3660).
        :param timezone: the tenant's time zone (UTC offset such as ``+08:00`` or an IANA name).
        """
        parse_timezone(timezone)
        return cls(
            _fields(fields), _days("window_days_back", days_back), _days("window_days_ahead", days_ahead), timezone
        )

    def dates(self, now: dt.datetime) -> tuple[dt.date, dt.date]:
        """First and last day of the window at ``now`` (aware), in the tenant's time zone.

        :param now: the poll's time.
        """
        today = now.astimezone(parse_timezone(self.timezone)).date()
        return today - dt.timedelta(days=self.days_back), today + dt.timedelta(days=self.days_ahead)

    def search_filters(self, now: dt.datetime) -> dict[str, Any]:
        """Keyword arguments of ``search_offboardings`` for the window at ``now``: dates, or for the application
        time seconds since the epoch from the first day's 00:00:00 to the last day's 23:59:59 (tenant time).

        :param now: the poll's time (aware).
        """
        first, last = self.dates(now)
        found: dict[str, Any] = {}
        for name in self.fields:
            if name == "apply_initiating_time":
                zone = parse_timezone(self.timezone)
                start = dt.datetime.combine(first, dt.time(0, 0, 0), tzinfo=zone)
                end = dt.datetime.combine(last, dt.time(23, 59, 59), tzinfo=zone)
                found[f"{name}_start"], found[f"{name}_end"] = int(start.timestamp()), int(end.timestamp())
            else:
                found[f"{name}_start"], found[f"{name}_end"] = first, last
        return found

    def describe(self, now: dt.datetime) -> str:
        """The window at ``now``, for logs.

        :param now: the poll's time (aware).
        """
        first, last = self.dates(now)
        return f"{' and '.join(self.fields)} from {first} to {last} ({self.timezone})"


@dataclass(frozen=True)
class Snapshot:
    """Every record in the window at one poll.

    :param taken_at: when the poll started (UTC, ISO 8601).
    :param window: the window as searched (for logs and payloads).
    :param records: the records, all pages.
    :param searches: search requests the poll made (pages).
    :param user_id_type: id type of the person ids in the records.
    :param commits: in ack mode (:mod:`.event_producer`), the memory writes the watchers leave here, run once
        their events are stored; ``None``: each watcher writes its memory itself, right after its events.
    """

    taken_at: str
    window: str
    records: tuple[OffboardingRecord, ...]
    searches: int
    user_id_type: str
    commits: list[Callable[[], Awaitable[None]]] | None = field(default=None, compare=False)


def searches_per_poll(records_in_window: int) -> int:
    """Search requests one poll makes: one per page of 100 records, at least one.

    :param records_in_window: offboardings the window holds.
    """
    return max(1, math.ceil(records_in_window / MAX_PAGE_SIZE))


async def connect(feishu_conn_id: str) -> AsyncFeishuClient:
    """A new async client through the hook's async path (secrets masked); close it with ``aclose``.

    :param feishu_conn_id: connection id of type ``feishu``.
    :raises FeishuInvalidInputError: when the connection is not defined or not usable.
    """
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

    return await FeishuHook(feishu_conn_id=feishu_conn_id).aget_conn()


async def take_snapshot(
    client: AsyncFeishuClient, window: Window, user_id_type: str | None, now: dt.datetime
) -> Snapshot:
    """Search the window at ``now`` and read every page.

    :param client: the async client.
    :param window: the window.
    :param user_id_type: id type of ids in the records; ``None`` = the connection's.
    :param now: the poll's time (aware).
    """
    records = [
        record async for record in client.search_offboardings(user_id_type=user_id_type, **window.search_filters(now))
    ]
    return Snapshot(
        taken_at=now.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        window=window.describe(now),
        records=tuple(records),
        searches=searches_per_poll(len(records)),
        user_id_type=user_id_type or client.settings.user_id_type,
    )


async def poll_forever(
    feishu_conn_id: str,
    window: Window,
    user_id_type: str | None,
    poll_interval: float,
    *,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    sleep: Callable[[float], Any] = asyncio.sleep,
) -> AsyncIterator[Snapshot]:
    """Yield a complete snapshot every ``poll_interval`` seconds (start to start), forever. A permanent error is
    logged at ERROR and closes the client, so the connection is read again at the next poll.

    :param feishu_conn_id: connection id.
    :param window: the window.
    :param user_id_type: id type of ids in the records.
    :param poll_interval: seconds from one poll's start to the next.
    :param now: the wall clock (aware); the window is evaluated with it at each poll.
    :param sleep: the async sleep.
    """
    client: AsyncFeishuClient | None = None
    slow_warned = False
    try:
        while True:
            started = time.monotonic()
            snapshot: Snapshot | None = None
            try:
                if client is None:
                    client = await connect(feishu_conn_id)
                snapshot = await take_snapshot(client, window, user_id_type, now())
            except FeishuError as exc:
                if exc.permanent:
                    log.error("Offboarding watcher on %s: search failed permanently: %s", feishu_conn_id, exc)
                    if client is not None:
                        await client.aclose()
                        client = None
                else:
                    log.warning(
                        "Offboarding watcher on %s: search failed, next poll in %ss: %s",
                        feishu_conn_id,
                        poll_interval,
                        exc,
                    )
            elapsed = time.monotonic() - started
            if snapshot is not None:
                log.info(
                    "Offboarding watcher on %s: %d record(s) in %s, %d search(es) in %.1fs",
                    feishu_conn_id,
                    len(snapshot.records),
                    snapshot.window,
                    snapshot.searches,
                    elapsed,
                )
                if elapsed > poll_interval and not slow_warned:
                    slow_warned = True
                    log.warning(
                        "Offboarding watcher on %s: one poll (%d searches) took %.0fs, longer than the %ss interval; "
                        "the app's search budget (100/min) is the limit: narrow the window or lengthen the interval",
                        feishu_conn_id,
                        snapshot.searches,
                        elapsed,
                        poll_interval,
                    )
                yield snapshot
            await sleep(max(0.0, poll_interval - (time.monotonic() - started)))
    finally:
        if client is not None:
            await client.aclose()
