"""Which offboardings an event watcher has already fired for: the rule, the key of a watcher's memory, and which
of two memories is the newer.

The rule (:func:`transitions`): a watcher remembers, per offboarding id, the watched status it last fired for.
A record in a watched status fires when the remembered status differs (it was not there, or was in another
watched status); a record seen in an unwatched status, or no longer in the window, is forgotten, so entering a
watched status again fires again. Only complete snapshots (every page read) are compared, so a failed page never
makes records look gone.

Where the memory is kept is :mod:`.event_memory`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping

    from airflow_provider_feishu_corehr.client.models import OffboardingRecord

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
