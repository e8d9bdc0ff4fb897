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


class Memory(Protocol):
    """Where a watcher keeps the offboardings it fired for."""

    durable: bool

    async def load(self) -> dict[str, str] | None:
        """The stored memory, or ``None`` when this watcher never stored one."""

    async def save(self, seen: Mapping[str, str]) -> None:
        """Store the memory (replacing the previous one).

        :param seen: offboarding id -> watched status fired for.
        """


class ProcessMemory:
    """Memory of the triggerer process only: lost on restart (Airflow before 3.3)."""

    durable = False

    def __init__(self) -> None:
        self._seen: dict[str, str] | None = None

    async def load(self) -> dict[str, str] | None:
        """The memory of this process, or ``None`` before the first save."""
        return None if self._seen is None else dict(self._seen)

    async def save(self, seen: Mapping[str, str]) -> None:
        """Keep ``seen`` in this process.

        :param seen: offboarding id -> watched status fired for.
        """
        self._seen = dict(seen)


def _decode(value: Any) -> dict[str, str] | None:
    if not isinstance(value, dict) or value.get("v") != STATE_VERSION or not isinstance(value.get("seen"), dict):
        return None
    return {str(k): str(v) for k, v in value["seen"].items()}


class AssetMemory:
    """Memory in Airflow 3.3's ``asset_state_store`` of the watched asset(s), under one key per watcher.

    The value is ``{"v": 1, "seen": {offboarding_id: status}}``. A trigger shared by several assets (same
    watcher arguments) writes the same value to each of them and reads the first one found.

    :param accessors: the trigger's ``asset_state_store`` (``AssetStateStoreAccessors``).
    :param key: the watcher's key (:func:`memory_key`).
    """

    durable = True

    def __init__(self, accessors: Any, key: str) -> None:
        self._key = key
        by_name = getattr(accessors, "_by_name", None)
        by_uri = getattr(accessors, "_by_uri", None)
        found = [*(by_name or {}).values(), *(by_uri or {}).values()]
        self._accessors: list[Any] = found or [accessors]

    async def load(self) -> dict[str, str] | None:
        """The stored memory from the first asset that has one, or ``None``."""
        for accessor in self._accessors:
            decoded = _decode(await accessor.aget(self._key, None))
            if decoded is not None:
                return decoded
        return None

    async def save(self, seen: Mapping[str, str]) -> None:
        """Write ``seen`` to every watched asset.

        :param seen: offboarding id -> watched status fired for.
        """
        value = {"v": STATE_VERSION, "seen": dict(seen)}
        for accessor in self._accessors:
            await accessor.aset(self._key, value)
