"""What the offboarding event watcher polls: its date window, and its pages every interval, a bounded number a poll.

The window is evaluated when a sweep of it begins (days around "today" in the tenant's time zone, on one or more of
the v1 search's range filters). A poll reads at most :func:`poll_page_cap` pages (a share of the app's search
budget); a window with more pages is read in a :class:`Sweep` over several polls, each going on where the last
stopped. Pages read before an error are kept and the failed page asked again at the next poll; errors are logged
and the loop goes on (docs/events.md, "When an event fires" and "Budget"). Searches go through the async client,
so its search limiter and retry policy apply.
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

from airflow_provider_feishu_corehr.client.api import MAX_PAGE_SIZE, search_pager
from airflow_provider_feishu_corehr.client.codes import Endpoint
from airflow_provider_feishu_corehr.client.errors import FeishuError, FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.ratelimit import HEADROOM, rate_for
from airflow_provider_feishu_corehr.client.validation import as_items

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Collection

    from airflow_provider_feishu_corehr.client.aio import AsyncFeishuClient
    from airflow_provider_feishu_corehr.client.models import ClientSettings, OffboardingRecord
    from airflow_provider_feishu_corehr.client.paging import SearchPager

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
    """The records one poll read: every page of the window, or the next pages of a sweep of it.

    A window larger than one poll may read (:func:`poll_page_cap`) is read in a *sweep* spread over several polls,
    each poll going on where the last stopped; every poll yields one part. Only a part with ``ends_sweep`` says
    anything about records it does not hold (docs/events.md, "A window larger than one poll").

    :param taken_at: when the poll started (UTC, ISO 8601).
    :param window: the window as searched (for logs and payloads); a sweep keeps the window of its first poll.
    :param records: the records of the pages this poll read.
    :param searches: search requests (pages) this poll read.
    :param user_id_type: id type of the person ids in the records.
    :param sweep: ``taken_at`` of the sweep's first poll (the sweep's identity).
    :param part: this poll's place in its sweep, from 1 (a window read in one poll: 1).
    :param ends_sweep: this poll read the window's last page: together with the earlier parts of the sweep it
        read the whole window.
    :param commits: in ack mode (:mod:`.event_producer`), the memory writes the watchers leave here, run once
        their events are stored; ``None``: each watcher writes its memory itself, right after its events.
    """

    taken_at: str
    window: str
    records: tuple[OffboardingRecord, ...]
    searches: int
    user_id_type: str
    sweep: str
    part: int
    ends_sweep: bool
    commits: list[Callable[[], Awaitable[None]]] | None = field(default=None, compare=False)


SEARCH_SHARE = 0.25
"""The part of the app's search budget one poll may spend: a quarter of one minute's (24 of the 97 searches a
minute the client paces to), and no more than a quarter of what one poll interval holds when the interval is
shorter, so that a watcher never takes more than a quarter of any minute and the deferred sensors and other watchers
of the app keep the rest (docs/events.md, "Budget")."""

MINUTE = 60.0


def searches_per_poll(records_in_window: int) -> int:
    """Search requests one poll makes when the window fits in one poll: one per page of 100 records, at least one.

    :param records_in_window: offboardings the window holds.
    """
    return max(1, math.ceil(records_in_window / MAX_PAGE_SIZE))


def search_rate(settings: ClientSettings) -> float:
    """Searches per second the client paces this process to: the connection's search rate (the documented
    100 per minute unless ``rate_limits`` names ``search``; the documented one when it turns the limiter off),
    times the client's headroom and the connection's ``rate_limit_share``.

    :param settings: the connection's client settings.
    """
    limit, window = rate_for(settings, Endpoint.SEARCH) or Endpoint.SEARCH.default_rate_limit or (0, MINUTE)
    return limit * HEADROOM * settings.rate_limit_share / window


def poll_page_cap(settings: ClientSettings, poll_interval: float) -> int:
    """Most search pages one poll reads, the one rule: :data:`SEARCH_SHARE` of the searches the client may make in
    one minute, or in one ``poll_interval`` when that is shorter, at least one; and never more than the connection's
    ``max_pages`` (the smaller bound wins; ``max_pages`` also bounds the whole sweep, as any one search). The
    documented rate and an interval of a minute or more give 24.

    :param settings: the connection's client settings.
    :param poll_interval: seconds from one poll's start to the next.
    """
    share = math.floor(SEARCH_SHARE * search_rate(settings) * min(MINUTE, poll_interval))
    return max(1, min(share, settings.max_pages))


async def connect(feishu_conn_id: str) -> AsyncFeishuClient:
    """A new async client through the hook's async path (secrets masked); close it with ``aclose``.

    :param feishu_conn_id: connection id of type ``feishu``.
    :raises FeishuInvalidInputError: when the connection is not defined or not usable.
    """
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

    return await FeishuHook(feishu_conn_id=feishu_conn_id).aget_conn()


def _utc(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).isoformat(timespec="microseconds")


@dataclass
class Sweep:
    """One pass over the window, page by page, over as many polls as the page cap needs. The search's place (its
    ``page_token``) is kept by the pager between polls, in this process; the filters are the window of the first
    poll, so a sweep crossing midnight reads one window. Build it with :meth:`begin`.

    :param pager: the search.
    :param started: when its first poll started (UTC, ISO 8601).
    :param window: the window as searched.
    :param user_id_type: id type of the ids in the records.
    :param parts: polls that read pages of it so far.
    :param pages: pages read so far.
    :param records: records read so far.
    """

    pager: SearchPager
    started: str
    window: str
    user_id_type: str
    parts: int = 0
    pages: int = 0
    records: int = 0

    @classmethod
    def begin(cls, client: AsyncFeishuClient, window: Window, user_id_type: str | None, now: dt.datetime) -> Sweep:
        """A new sweep of the window at ``now``.

        :param client: the async client (its settings: ``max_pages`` bounds the whole sweep, as one search).
        :param window: the window.
        :param user_id_type: id type of ids in the records; ``None`` = the connection's.
        :param now: the poll's time (aware).
        """
        pager = search_pager(client.settings, user_id_type=user_id_type, **window.search_filters(now))
        return cls(pager, _utc(now), window.describe(now), user_id_type or client.settings.user_id_type)

    @property
    def done(self) -> bool:
        """Every page was read."""
        return self.pager.next_request() is None

    async def read(
        self, client: AsyncFeishuClient, cap: int, now: dt.datetime
    ) -> tuple[Snapshot | None, FeishuError | None]:
        """Read at most ``cap`` more pages: the part read (``None`` when no page was) and the error that stopped
        the reading early, if one did. Pages read before an error are kept: the next poll asks for the failed page
        again.

        :param client: the async client.
        :param cap: most pages to read (:func:`poll_page_cap`).
        :param now: the poll's time (aware).
        """
        records: list[OffboardingRecord] = []
        pages = 0
        error: FeishuError | None = None
        try:
            while pages < cap and not self.done:
                records.extend(await client.search_page(self.pager))
                pages += 1
        except FeishuError as exc:
            error = exc
        if not pages:
            return None, error
        self.parts += 1
        self.pages += pages
        self.records += len(records)
        part = Snapshot(
            taken_at=_utc(now),
            window=self.window,
            records=tuple(records),
            searches=pages,
            user_id_type=self.user_id_type,
            sweep=self.started,
            part=self.parts,
            ends_sweep=error is None and self.done,
        )
        return part, error


def _cut_warning(feishu_conn_id: str, sweep: Sweep, cap: int, settings: ClientSettings, poll_interval: float) -> None:
    """Say once per poll loop that the window holds more than one poll may read, with the figures and the fix."""
    longer = (
        f", or lengthen poll_interval to {MINUTE:.0f}s (up to {poll_page_cap(settings, MINUTE)} searches a poll)"
        if poll_interval < MINUTE and poll_page_cap(settings, MINUTE) > cap
        else ""
    )
    log.warning(
        "Offboarding watcher on %s: the window (%s) holds more than one poll may read: %d record(s) in %d page(s) "
        "read and more pages to come, at most %d search(es) a poll (%.0f%% of the app's search budget of %.0f a "
        "minute; max_pages %d bounds the whole window). The next polls read on from there, so a change can be seen "
        "up to one sweep of the window late. Narrow the window (window_days_back, window_days_ahead, "
        "window_fields)%s.",
        feishu_conn_id,
        sweep.window,
        sweep.records,
        sweep.pages,
        cap,
        SEARCH_SHARE * 100,
        search_rate(settings) * MINUTE,
        settings.max_pages,
        longer,
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
    """Every ``poll_interval`` seconds (start to start), forever, read at most :func:`poll_page_cap` pages of the
    window and yield them: the whole window when it fits, else the next part of a :class:`Sweep`. A permanent error
    is logged at ERROR and closes the client, so the connection is read again at the next poll; the sweep starts
    over.

    :param feishu_conn_id: connection id.
    :param window: the window.
    :param user_id_type: id type of ids in the records.
    :param poll_interval: seconds from one poll's start to the next.
    :param now: the wall clock (aware); the window is evaluated with it when a sweep begins.
    :param sleep: the async sleep.
    """
    client: AsyncFeishuClient | None = None
    sweep: Sweep | None = None
    slow_warned = cut_warned = False
    try:
        while True:
            started = time.monotonic()
            snapshot: Snapshot | None = None
            try:
                if client is None:
                    client = await connect(feishu_conn_id)
                at = now()
                if sweep is None:
                    sweep = Sweep.begin(client, window, user_id_type, at)
                cap = poll_page_cap(client.settings, poll_interval)
                snapshot, error = await sweep.read(client, cap, at)
                if error is not None:
                    raise error
                if snapshot is not None and not snapshot.ends_sweep and not cut_warned:
                    cut_warned = True
                    _cut_warning(feishu_conn_id, sweep, cap, client.settings, poll_interval)
            except FeishuError as exc:
                if exc.permanent or (sweep is not None and sweep.done):
                    sweep = None  # the search cannot go on: the next poll starts a new sweep
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
                _log_part(feishu_conn_id, snapshot, sweep, elapsed)
                if snapshot.ends_sweep:
                    sweep = None
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


def _log_part(feishu_conn_id: str, snapshot: Snapshot, sweep: Sweep | None, elapsed: float) -> None:
    if snapshot.part == 1 and snapshot.ends_sweep:
        log.info(
            "Offboarding watcher on %s: %d record(s) in %s, %d search(es) in %.1fs",
            feishu_conn_id,
            len(snapshot.records),
            snapshot.window,
            snapshot.searches,
            elapsed,
        )
    else:
        log.info(
            "Offboarding watcher on %s: part %d of a sweep of %s: %d record(s), %d search(es) in %.1fs%s",
            feishu_conn_id,
            snapshot.part,
            snapshot.window,
            len(snapshot.records),
            snapshot.searches,
            elapsed,
            f"; the sweep read the whole window: {sweep.records} record(s) in {sweep.pages} search(es)"
            if snapshot.ends_sweep and sweep is not None
            else "",
        )
