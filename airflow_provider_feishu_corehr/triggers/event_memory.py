"""An event watcher's memory (the offboardings it fired for) and where it is kept: Airflow 3.3+'s
``asset_state_store`` through its documented ``aget`` / ``aset`` (:class:`AssetMemory`), else the triggerer process
(:class:`ProcessMemory`); docs/events.md, "What is guaranteed, per Airflow version".

The one private use of Airflow, isolated here (:func:`each_watched_asset`): a store of several assets refuses the
documented shortcut, and its documented ``store[asset]`` needs the asset, which a trigger is never told; only then
are the per-asset accessors read from its private ``_by_name`` / ``_by_uri`` (pinned by
``tests/triggers/test_event_memory.py``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Collection, Mapping

STATE_VERSION = 1
KEY_PREFIX = "feishu_corehr.offboarding_events."


@dataclass(frozen=True)
class Remembered:
    """A watcher's memory as of one snapshot.

    :param at: when that snapshot was taken (UTC, ISO 8601 with microseconds: later sorts later).
    :param seen: offboarding id -> watched status already fired for.
    :param partial: the first sweep of the window has not ended yet: an id not remembered may be on a page not
        read yet, so the watcher still only remembers (stored as ``"partial": true``, absent when false).
    :param events: the pushed watcher's event ids already handled, each with when it may be forgotten (epoch
        seconds; stored as ``"events"``, absent when empty: :mod:`.event_push`).
    """

    at: str
    seen: dict[str, str]
    partial: bool = False
    events: dict[str, float] = field(default_factory=dict)


@dataclass
class SweepMarks:
    """What one watcher notes across the polls of a sweep of its window (this process only; a restart begins a
    new sweep): the remembered ids the current sweep has seen, and those the last sweep of several polls missed.

    A sweep of one poll reads the whole window at once: a remembered id it does not hold is gone. A sweep of
    several polls can miss a record whose place in the search moved between two polls (a record before it left
    the window): an id is forgotten only when two such sweeps in a row missed it, so a moved record never fires
    twice (docs/events.md, "A window larger than one poll").
    """

    sweep: str = ""
    touched: set[str] = field(default_factory=set)
    missed: set[str] = field(default_factory=set)

    def keep(self, seen: Mapping[str, str], ids: Collection[str], sweep: str, part: int, ends: bool) -> set[str]:
        """The remembered ids that stay remembered when a part of a sweep does not hold them.

        :param seen: the memory before the part (offboarding id -> watched status fired for).
        :param ids: the offboarding ids the part holds.
        :param sweep: the part's sweep (``Snapshot.sweep``).
        :param part: its place in the sweep, from 1.
        :param ends: it read the window's last page.
        """
        if sweep != self.sweep:
            self.sweep, self.touched = sweep, set()
        self.touched.update(ids)
        if not ends:
            return set(seen)  # the pages still to read may hold them
        if part == 1:
            self.missed = set()
            return set()  # the whole window in one poll: what it lacks is gone
        unseen = set(seen) - self.touched
        gone = unseen & self.missed
        self.missed = unseen - gone
        return set(seen) - gone


def newest(stored: Remembered | None, local: Remembered | None) -> Remembered | None:
    """The memory to compare the next snapshot with: this process's own, unless the store holds a newer one
    (another triggerer ran the watcher later: HA hand-over); the store's after a restart.

    :param stored: what the store holds.
    :param local: what this process last computed (its write may still be waiting for the events' storage).
    """
    if stored is None or (local is not None and local.at >= stored.at):
        return local
    return stored


class ProcessMemory:
    """Memory of the triggerer process only: lost on restart (Airflow before 3.3)."""

    def __init__(self) -> None:
        self._memory: Remembered | None = None

    async def load(self) -> Remembered | None:
        """The memory of this process, or ``None`` before the first save."""
        return self._memory

    async def save(self, memory: Remembered) -> None:
        """Keep ``memory`` in this process.

        :param memory: the memory after a snapshot.
        """
        self._memory = memory


def _decode(value: Any) -> Remembered | None:
    if not isinstance(value, dict) or value.get("v") != STATE_VERSION:
        return None
    seen, at = value.get("seen"), value.get("at")
    if not isinstance(seen, dict) or not isinstance(at, str):
        return None
    events = value.get("events")
    events = (
        {str(k): float(v) for k, v in events.items() if isinstance(v, int | float)} if isinstance(events, dict) else {}
    )
    return Remembered(
        at=at, seen={str(k): str(v) for k, v in seen.items()}, partial=value.get("partial") is True, events=events
    )


def each_watched_asset(store: Any, refused: ValueError) -> list[Any]:
    """The per-asset accessors of a store of several watched assets (the one private use; see the module text).

    :param store: the trigger's ``asset_state_store``.
    :param refused: what the documented shortcut raised; raised again unless the store holds several assets
        (then it refused because of them, not for another reason such as a bad state-store configuration).
    """
    found = [*getattr(store, "_by_name", {}).values(), *getattr(store, "_by_uri", {}).values()]
    if len(found) < 2:
        raise refused
    return found


class AssetMemory:
    """Memory in Airflow 3.3's ``asset_state_store`` of the watched asset(s), under one key per watcher: the value
    ``{"v": 1, "at": "<snapshot time>", "seen": {offboarding_id: status}}`` (and ``"partial": true`` during a first
    sweep of several polls), written to each watched asset, the
    newest read.

    :param store: the trigger's ``asset_state_store`` (``AssetStateStoreAccessors``).
    :param key: the watcher's key (:func:`memory_for`).
    """

    def __init__(self, store: Any, key: str) -> None:
        self._store = store
        self._key = key
        self._assets: list[Any] | None = None  # the per-asset accessors, once the store refused to pick one

    async def _each(self, act: Callable[[Any], Awaitable[Any]]) -> list[Any]:
        """Apply ``act`` to the one watched asset through the store's documented shortcut, else to each asset."""
        if self._assets is None:
            try:
                return [await act(self._store)]
            except ValueError as refused:  # the shortcut acts on exactly one asset
                self._assets = each_watched_asset(self._store, refused)
        return [await act(accessor) for accessor in self._assets]

    async def load(self) -> Remembered | None:
        """The newest stored memory among the watched assets, or ``None``."""
        found: Remembered | None = None
        for value in await self._each(lambda accessor: accessor.aget(self._key, None)):
            found = newest(_decode(value), found)
        return found

    async def save(self, memory: Remembered) -> None:
        """Write ``memory`` to every watched asset.

        :param memory: the memory after a snapshot.
        """
        value: dict[str, Any] = {"v": STATE_VERSION, "at": memory.at, "seen": dict(memory.seen)}
        if memory.partial:
            value["partial"] = True
        if memory.events:
            value["events"] = dict(memory.events)
        await self._each(lambda accessor: accessor.aset(self._key, value))


Memory = ProcessMemory | AssetMemory
"""Where a watcher keeps the offboardings it fired for: ``load()`` and ``save(memory)``."""


def memory_for(store: Any, identity: Mapping[str, Any]) -> Memory:
    """The store's memory (Airflow 3.3+, ``store`` set by the triggerer), else this process's.

    :param store: the trigger's ``asset_state_store``, or ``None``.
    :param identity: JSON-safe values that define the watcher's transitions; the key is a digest of them.
    """
    if store is None:
        return ProcessMemory()
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return AssetMemory(store, KEY_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()[:24])


async def load_or_none(memory: Memory, log: Any, watcher: str) -> Remembered | None:
    """What ``memory`` holds; ``None`` (with a warning) when the store cannot be read: a failed read of the
    triggerer's store must not end the watcher, which then goes on with this process's memory.

    :param memory: the watcher's memory.
    :param log: the trigger's logger.
    :param watcher: the watcher's name in the warning (``"watcher"``, ``"push watcher"``).
    """
    try:
        return await memory.load()
    except Exception as exc:
        log.warning("Could not read the %s's memory (%s); using this process's", watcher, type(exc).__name__)
        return None


async def save_or_warn(memory: Memory, remembered: Remembered, log: Any, watcher: str, retry: str) -> None:
    """Store ``remembered``; a failed write is a warning (the next write carries it).

    :param memory: the watcher's memory.
    :param remembered: the memory to store.
    :param log: the trigger's logger.
    :param watcher: the watcher's name in the warning.
    :param retry: when the write is tried again (``"the next poll"``, ``"the next batch"``).
    """
    try:
        await memory.save(remembered)
    except Exception as exc:
        log.warning("Could not store the %s's memory (%s); retried after %s", watcher, type(exc).__name__, retry)
