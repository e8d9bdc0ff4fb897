"""Coalesced polling for offboarding triggers (docs/scaling.md, section 1, also on why Airflow 3.3's shared streams
are not used): the triggers of one event loop that share a connection target and ``user_id_type`` share one
:class:`Poller`, which searches their employments in batches of up to 100 per round, each trigger no more often than
its own interval, through one pooled client; a failed search counts against the triggers of its batch only.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
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


@dataclass(frozen=True)
class Look:
    """One look for one subscription: the records of its employments, or the error of a failed search.

    :param records: employment id -> every record the search returned for it (absent: none).
    :param error: the typed error of a failed search of one of its batches, else ``None``.
    :param lateness: seconds between when the look was due and when its answer came.
    """

    records: dict[str, list[OffboardingRecord]]
    error: FeishuError | None
    lateness: float


@dataclass(eq=False)
class Subscription:
    """One waiting trigger: its employments, its poll interval, when it is next due, and its inbox."""

    employment_ids: tuple[str, ...]
    interval: float
    due: float
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
    :param clock: monotonic clock.
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
        self._on_stop = on_stop
        self._subs: set[Subscription] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Future[None] | None = None
        self.searches = 0

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        """The waiting triggers' subscriptions (tests and benchmarks)."""
        return tuple(self._subs)

    def subscribe(self, employment_ids: tuple[str, ...], interval: float) -> Subscription:
        """Add a waiting trigger; its first look is due now.

        :param employment_ids: the employments it watches.
        :param interval: its poll interval in seconds.
        """
        sub = Subscription(employment_ids, interval, self._clock())
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
        """Rounds until the last subscription left; a subscription is next due one interval after its look ended."""
        try:
            while self._subs:
                start = self._round_start()
                if start > self._clock():
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), start - self._clock())
                    continue
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
        return first.due + min(MAX_GROUP_WINDOW, GROUP_FRACTION * first.interval)

    async def _round(self) -> None:
        """Search every due subscription's employments, batch by batch, and deliver each look when complete."""
        now = self._clock()
        due = sorted((s for s in self._subs if s.due <= now), key=lambda s: s.due)
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
        now = self._clock()
        records = {} if error is not None else {eid: found[eid] for eid in sub.employment_ids if eid in found}
        sub.inbox.put_nowait(Look(records, error, max(0.0, now - sub.due)))
        sub.looks = [*sub.looks[-99:], now]
        sub.due = now + sub.interval


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
