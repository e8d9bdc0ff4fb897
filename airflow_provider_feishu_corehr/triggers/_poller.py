"""Coalesced polling for offboarding triggers (docs/scaling.md, section 1, also on why Airflow 3.3's shared streams
are not used): the triggers of one event loop that share a connection target and ``user_id_type`` share one
:class:`Poller`, which searches their employments in batches of up to 100 per round, through one pooled client; a
failed search counts against the triggers of its batch only.

Looks are aligned to the poller's beat, so triggers that defer at different moments end up in the same rounds: a
trigger with interval ``I`` looks at ``anchor + k * I`` (the anchor: when the poller started). Its first look comes
at the next point of a finer grid (``I / n``, at most ``min(I / 2, FIRST_LOOK_MAX)`` apart), its second at the first
beat at least ``I / 2`` after the first (up to half an interval early or late, once), and from then on one beat of
its interval apart: at most one round per beat, a round that overruns a beat skips it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import logging
import math
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from airflow_provider_feishu_corehr.client import lookup
from airflow_provider_feishu_corehr.client.errors import FeishuError, FeishuTransientError
from airflow_provider_feishu_corehr.client.tokens import TokenKey
from airflow_provider_feishu_corehr.status.watch import group_by_employment

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from airflow_provider_feishu_corehr.client.aio import AsyncFeishuClient
    from airflow_provider_feishu_corehr.client.models import ClientSettings, OffboardingRecord

log = logging.getLogger(__name__)

GROUP_FRACTION = 0.25
MAX_GROUP_WINDOW = 2.0
"""A round starts ``min(MAX_GROUP_WINDOW, GROUP_FRACTION * interval)`` after its first subscription was due."""
FIRST_LOOK_MAX = 30.0
"""A new trigger's first look waits for the next point of its first-look grid: at most ``min(interval / 2, 30 s)``
(plus the grouping window). 30 s: newcomers cost at most one extra round per half minute (2 searches a minute per
100 of them) while a scheduler keeps deferring sensors, and a sensor whose offboarding is done already learns it
within half a minute."""


def group_window(interval: float) -> float:
    """Seconds a round waits after its first subscription was due, so triggers due together share it.

    :param interval: the first subscription's poll interval.
    """
    return min(MAX_GROUP_WINDOW, GROUP_FRACTION * interval)


def first_look_step(interval: float) -> float:
    """The first-look grid of an interval: ``interval / n`` with ``n >= 2`` the least whole number that makes it at
    most ``FIRST_LOOK_MAX``; its points include every beat of the interval.

    :param interval: the poll interval.
    """
    return interval / max(2, math.ceil(interval / FIRST_LOOK_MAX))


def grid_point(anchor: float, step: float, at: float) -> float:
    """The first point ``anchor + k * step`` (``k >= 0``) at or after ``at``.

    :param anchor: the grid's origin.
    :param step: the grid's spacing.
    :param at: the earliest time wanted.
    """
    return anchor + max(0, math.ceil((at - anchor) / step - 1e-9)) * step


@dataclass(frozen=True)
class Look:
    """One look for one subscription: the records of its employments, or the error of a failed search.

    :param records: employment id -> every record the search returned for it (absent: none).
    :param error: the typed error of a failed search of one of its batches, else ``None``.
    :param lateness: seconds between when the look was due and when its answer came.
    :param next_in: seconds from this answer until the round of the next look is planned to start.
    """

    records: dict[str, list[OffboardingRecord]]
    error: FeishuError | None
    lateness: float
    next_in: float


@dataclass(eq=False)
class Subscription:
    """One waiting trigger: its employments, its poll interval, when it is next due, and its inbox."""

    employment_ids: tuple[str, ...]
    interval: float
    due: float
    order: int = 0
    """Its place in subscription order: subscriptions due together are searched oldest first."""
    inbox: asyncio.Queue[Look] = field(default_factory=asyncio.Queue)
    looks: list[float] = field(default_factory=list)
    """When each look's answer came (poller clock); kept for tests and benchmarks, the last 100 only."""

    async def next_look(self) -> Look:
        """Wait for this subscription's next look."""
        return await self.inbox.get()


Key = tuple[TokenKey, str]


class Poller:
    """The coalesced poll of one connection target and ``user_id_type`` in one event loop.

    :param client: the pooled async client (closed when the poller stops).
    :param user_id_type: id type of every employment id searched.
    :param clock: monotonic clock; the poller's beat is anchored at its value when the poller is made.
    :param on_stop: awaited when the last subscription left and the poller stopped (it releases the client);
        ``None``: the poller closes its client itself.
    """

    def __init__(
        self,
        client: AsyncFeishuClient,
        user_id_type: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_stop: Callable[[Poller], Awaitable[None]] | None = None,
    ) -> None:
        self.client = client
        self.user_id_type = user_id_type
        self._clock = clock
        self.anchor = clock()
        self._on_stop = on_stop
        self._subs: set[Subscription] = set()
        self._order = itertools.count()
        self._wake = asyncio.Event()
        self._task: asyncio.Future[None] | None = None
        self.searches = 0
        self.rounds: list[float] = []
        """When each round was planned to start (poller clock), the last 100; for tests and benchmarks."""

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        """The waiting triggers' subscriptions (tests and benchmarks)."""
        return tuple(self._subs)

    def subscribe(self, employment_ids: tuple[str, ...], interval: float) -> Subscription:
        """Add a waiting trigger; its first look is due at the next point of its first-look grid (a round that has
        not started yet counts: the point may lie up to one grouping window back).

        :param employment_ids: the employments it watches.
        :param interval: its poll interval in seconds.
        """
        now = self._clock()
        due = grid_point(self.anchor, first_look_step(interval), now - group_window(interval))
        sub = Subscription(employment_ids, interval, due, next(self._order))
        self._subs.add(sub)
        self._wake.set()
        if self._task is None:
            # A fresh context: the poller's own log lines belong to the triggerer, not to the first trigger.
            self._task = contextvars.Context().run(asyncio.ensure_future, self._run())
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Remove a trigger that ended or was cancelled; the poller stops after the last one.

        :param sub: its subscription.
        """
        self._subs.discard(sub)
        self._wake.set()

    async def _run(self) -> None:
        """Rounds until the last subscription left; a subscription is next due at a beat of its interval."""
        try:
            while self._subs:
                start = self._round_start()
                if start > self._clock():
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), start - self._clock())
                    continue
                self.rounds = [*self.rounds[-99:], start]
                try:
                    await self._round()
                except Exception as exc:  # a bug must not leave every trigger waiting forever: each counts a failure
                    log.exception("The offboarding poller's round failed; every waiting trigger counts one error")
                    error = FeishuTransientError(f"the shared poll failed ({type(exc).__name__})", endpoint="search")
                    for sub in [s for s in self._subs if s.due <= self._clock()]:
                        self._deliver(sub, {}, error)
        finally:
            self._task = None
            if self._on_stop is not None:
                await self._on_stop(self)  # runs synchronously up to its first await: the registry forgets first
            else:
                await self.client.aclose()

    def _round_start(self) -> float:
        """When the next round starts: a grouping window after the earliest due subscription."""
        first = min(self._subs, key=lambda s: s.due)
        return first.due + group_window(first.interval)

    def next_look_in(self, sub: Subscription) -> float:
        """Seconds until the round of ``sub``'s next look is planned to start (its due time plus the grouping window).

        :param sub: a subscription of this poller.
        """
        return max(0.0, sub.due + group_window(sub.interval) - self._clock())

    async def _round(self) -> None:
        """Search every due subscription's employments, batch by batch, and deliver each look when complete."""
        now = self._clock()
        due = sorted((s for s in self._subs if s.due <= now), key=lambda s: (s.due, s.order))
        ids = [eid for sub in due for eid in sub.employment_ids]
        pending = {sub: set(sub.employment_ids) for sub in due}  # ids of each subscription not answered yet
        found: dict[str, list[OffboardingRecord]] = {}
        failed: dict[Subscription, FeishuError] = {}
        for batch in lookup.employment_batches(ids):
            records, error = await self._search(batch)
            for eid, grouped in group_by_employment(records).items():
                found.setdefault(eid, []).extend(grouped)
            members = set(batch)
            for sub, left in list(pending.items()):
                if error is not None and not left.isdisjoint(members):
                    failed.setdefault(sub, error)
                left -= members
                if not left:
                    del pending[sub]
                    if sub in self._subs:  # a cancelled trigger has left: nothing to deliver
                        self._deliver(sub, found, failed.get(sub))

    async def _search(self, batch: list[str]) -> tuple[list[OffboardingRecord], FeishuError | None]:
        """One search (every page) of up to 100 employments: its records, or the typed error."""
        self.searches += 1
        try:
            pages = self.client.search_offboardings(employment_ids=batch, user_id_type=self.user_id_type)
            return [record async for record in pages], None
        except FeishuError as exc:
            return [], exc
        except Exception as exc:  # never let one bad search stop the poll of every trigger; no text (may hold data)
            return [], FeishuTransientError(f"unexpected {type(exc).__name__} while searching", endpoint="search")

    def _deliver(self, sub: Subscription, found: dict[str, list[OffboardingRecord]], error: FeishuError | None) -> None:
        """Hand ``sub`` its look and plan the next: the first beat of its interval at least half an interval after
        this look was due and not before its answer came (a round that overran the beat skips it)."""
        now = self._clock()
        records = {} if error is not None else {eid: found[eid] for eid in sub.employment_ids if eid in found}
        was_due = sub.due
        sub.due = grid_point(self.anchor, sub.interval, max(was_due + sub.interval / 2, now))
        sub.inbox.put_nowait(Look(records, error, max(0.0, now - was_due), self.next_look_in(sub)))
        sub.looks = [*sub.looks[-99:], now]


_pollers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Key, Poller]] = weakref.WeakKeyDictionary()
_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[TokenKey, tuple[AsyncFeishuClient, set[Poller]]]
] = weakref.WeakKeyDictionary()


def poller_for(
    settings: ClientSettings, user_id_type: str | None, make_client: Callable[[ClientSettings], AsyncFeishuClient]
) -> Poller:
    """The poller of this event loop for the settings' target and ``user_id_type``, created on first use.

    Pollers of one connection target (one per ``user_id_type``) share one pooled client, closed after the last one.

    :param settings: the connection's settings (the first subscriber's settings configure the shared client).
    :param user_id_type: id type of the employment ids; ``None`` = the connection's default.
    :param make_client: builds the pooled async client (the hook's async path).
    """
    loop = asyncio.get_running_loop()
    id_type = user_id_type or settings.user_id_type
    target = TokenKey.for_settings(settings)
    key: Key = (target, id_type)
    pollers = _pollers.setdefault(loop, {})
    clients = _clients.setdefault(loop, {})
    poller = pollers.get(key)
    if poller is None:
        if target not in clients:
            clients[target] = (make_client(settings), set())
        client, users = clients[target]

        async def release(stopped: Poller) -> None:
            if pollers.get(key) is stopped:
                del pollers[key]
            users.discard(stopped)
            if not users and clients.get(target, (None,))[0] is client:
                del clients[target]
                await client.aclose()

        poller = pollers[key] = Poller(client, id_type, on_stop=release)
        users.add(poller)
    return poller


def active_pollers() -> list[Poller]:
    """The pollers of the running event loop (tests and benchmarks)."""
    return list(_pollers.get(asyncio.get_running_loop(), {}).values())
