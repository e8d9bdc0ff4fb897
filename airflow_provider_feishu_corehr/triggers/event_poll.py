"""One poll loop of the offboarding event watcher: complete snapshots of a search window, every interval.

A snapshot is every record of every page of one search (no status filter, so records leaving a watched status
are seen); a poll that fails part-way yields nothing, so watchers never compare against a partial list. Errors
are logged and the loop goes on at the next interval (an event watcher must run forever): a permanent one
(authentication, permission, bad input) at ERROR, closing the client so the connection is read again.
Searches go through the async client, so the process-wide search limiter and the retry policy apply.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.api import MAX_PAGE_SIZE
from airflow_provider_feishu_corehr.client.errors import FeishuError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from airflow_provider_feishu_corehr.client.aio import AsyncFeishuClient
    from airflow_provider_feishu_corehr.client.models import OffboardingRecord
    from airflow_provider_feishu_corehr.triggers.event_window import Window

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """Every record in the window at one poll.

    :param taken_at: when the poll started (UTC, ISO 8601).
    :param window: the window as searched (for logs and payloads).
    :param records: the records, all pages.
    :param searches: search requests the poll made (pages).
    :param user_id_type: id type of the person ids in the records.
    :param commits: in ack mode (Airflow 3.3 shared stream with a producer), the memory writes the watchers
        leave here; the producer runs them once the events they derived are stored. ``None``: each watcher
        writes its memory itself, right after its events.
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
    """A new async client for an Airflow connection: the hook's async path (connection read with Airflow's async
    API, App Secret and tokens registered with the secret masker). Close it with ``aclose``.

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
    """Yield a complete snapshot every ``poll_interval`` seconds (start to start), forever.

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
