"""Which offboardings an event watcher has already fired for, and where that memory is kept.

The rule (:func:`transitions`): a watcher remembers, per offboarding id, the watched status it last fired for.
A record in a watched status fires when the remembered status differs (it was not there, or was in another
watched status); a record seen in an unwatched status, or no longer in the window, is forgotten, so entering a
watched status again fires again. Only complete snapshots (every page read) are compared, so a failed page never
makes records look gone.

Where the memory lives: Airflow 3.3 gives event triggers a key/value store per watched asset
(``asset_state_store``, a table in the metadata database); :class:`AssetMemory` keeps one JSON value there per
watcher. Without it (Airflow 3.0-3.2) :class:`ProcessMemory` keeps it in the triggerer process only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping

    from airflow_provider_feishu_corehr.client.models import OffboardingRecord

STATE_VERSION = 1
KEY_PREFIX = "feishu_corehr.offboarding_events."


def transitions(
    seen: Mapping[str, str], records: Iterable[OffboardingRecord], statuses: Collection[str]
) -> tuple[list[OffboardingRecord], dict[str, str]]:
    """Records that newly reached a watched status, and the memory after this snapshot.

    :param seen: offboarding id -> watched status already fired for.
    :param records: every record of one complete snapshot of the window.
    :param statuses: the watched statuses.
    """
    fired: list[OffboardingRecord] = []
    after: dict[str, str] = {}
    for record in records:
        if record.status not in statuses or not record.offboarding_id:
            continue
        if seen.get(record.offboarding_id) != record.status:
            fired.append(record)
        after[record.offboarding_id] = record.status
    return fired, after


def baseline(records: Iterable[OffboardingRecord], statuses: Collection[str]) -> dict[str, str]:
    """The memory of a watcher's first snapshot when records already in a watched status must not fire.

    :param records: every record of the snapshot.
    :param statuses: the watched statuses.
    """
    return transitions({}, records, statuses)[1]


def memory_key(identity: Mapping[str, Any]) -> str:
    """The store key of a watcher: a digest of what defines its transitions (connection, statuses, window).

    :param identity: JSON-safe values that define the watcher.
    """
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return KEY_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


@dataclass(frozen=True)
class Remembered:
    """A watcher's memory as of one snapshot.

    :param at: when that snapshot was taken (UTC, ISO 8601 with microseconds: later sorts later).
    :param seen: offboarding id -> watched status already fired for.
    """

    at: str
    seen: dict[str, str]


def newest(stored: Remembered | None, local: Remembered | None) -> Remembered | None:
    """The memory to compare the next snapshot with: this process's own, unless the store holds a newer one
    (another triggerer ran the watcher later: HA hand-over); the store's after a restart.

    :param stored: what the store holds.
    :param local: what this process last computed (its write may still be waiting for the events' storage).
    """
    if stored is None or (local is not None and local.at >= stored.at):
        return local
    return stored


class Memory(Protocol):
    """Where a watcher keeps the offboardings it fired for."""

    async def load(self) -> Remembered | None:
        """The stored memory, or ``None`` when this watcher never stored one."""

    async def save(self, memory: Remembered) -> None:
        """Store the memory (replacing the previous one).

        :param memory: the memory after a snapshot.
        """


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
    return Remembered(at=at, seen={str(k): str(v) for k, v in seen.items()})


class AssetMemory:
    """Memory in Airflow 3.3's ``asset_state_store`` of the watched asset(s), under one key per watcher.

    The value is ``{"v": 1, "at": "<snapshot time>", "seen": {offboarding_id: status}}``. A trigger shared by
    several assets (same watcher arguments) writes the same value to each of them and reads the newest.

    :param accessors: the trigger's ``asset_state_store`` (``AssetStateStoreAccessors``).
    :param key: the watcher's key (:func:`memory_key`).
    """

    def __init__(self, accessors: Any, key: str) -> None:
        self._key = key
        by_name = getattr(accessors, "_by_name", None)
        by_uri = getattr(accessors, "_by_uri", None)
        found = [*(by_name or {}).values(), *(by_uri or {}).values()]
        self._accessors: list[Any] = found or [accessors]

    async def load(self) -> Remembered | None:
        """The newest stored memory among the watched assets, or ``None``."""
        found: Remembered | None = None
        for accessor in self._accessors:
            decoded = _decode(await accessor.aget(self._key, None))
            found = newest(decoded, found)
        return found

    async def save(self, memory: Remembered) -> None:
        """Write ``memory`` to every watched asset.

        :param memory: the memory after a snapshot.
        """
        value = {"v": STATE_VERSION, "at": memory.at, "seen": dict(memory.seen)}
        for accessor in self._accessors:
            await accessor.aset(self._key, value)
