"""Ack mode of the watchers' shared poll (Airflow 3.3+ only, through ``create_shared_stream_producer``): a poll's
memory writes (``Snapshot.commits``) run only once the triggerer confirmed its events stored (docs/events.md,
"The write waits for storage").
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from airflow.triggers.shared_stream import SharedStreamProducer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Sequence

    from airflow.triggers.shared_stream import AdvanceItem

    from airflow_provider_feishu_corehr.triggers.event_poll import Snapshot

log = logging.getLogger(__name__)


class SnapshotProducer(SharedStreamProducer):
    """One poll loop for a group of sibling watchers, with persistence-gated memory writes.

    :param snapshots: the group's poll loop (one member's ``snapshots``).
    """

    def __init__(self, snapshots: Callable[[], AsyncIterator[Snapshot]]) -> None:
        self._snapshots = snapshots

    async def open_stream(self) -> AsyncIterator[tuple[Snapshot, Snapshot]]:
        """Complete snapshots, each with an empty list of memory writes (the broker payload is the snapshot)."""
        async for snapshot in self._snapshots():
            pending = dataclasses.replace(snapshot, commits=[])
            yield pending, pending

    async def advance(self, batch: Sequence[AdvanceItem]) -> None:
        """Run the memory writes of snapshots whose events every watcher had stored; skip the others.

        Never raises (that would end the whole group): a write that fails is retried with the next poll's.

        :param batch: resolved snapshots, in poll order.
        """
        for item in batch:
            snapshot: Any = item.broker_payload
            if item.outcome.failed:
                log.warning(
                    "Offboarding watchers: events of the poll at %s were not all confirmed stored; the stored memory "
                    "is not advanced, so a watcher that restarts fires those transitions again",
                    snapshot.taken_at,
                )
                continue
            for commit in snapshot.commits or ():
                await commit()
