"""Helper of the push example's tests: the example's own :class:`OffboardingPushTrigger` run as the triggerer runs
it (its ``run`` in one event loop, against the emulator's long connection), its asset events' payloads collected.

Not a test module; loaded by ``test_push_example.py`` and ``test_privacy_scan.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

FAST = {"ReconnectCount": -1, "ReconnectInterval": 1, "ReconnectNonce": 0, "PingInterval": 1}
"""Long-connection settings the emulator hands out: quick pings and reconnections (Feishu's are minutes)."""


class PushRun:
    """One run of a push watcher's trigger (one triggerer's life); ``payloads``: its asset events' payloads.

    :param trigger: the trigger (the example's, or a copy with the same arguments).
    :param store: the ``asset_state_store`` the triggerer would give it (shared across runs: a restart), or ``None``.
    """

    def __init__(self, trigger: Any, store: Any = None) -> None:
        self.trigger = trigger
        if store is not None:
            self.trigger.asset_state_store = store
        self.payloads: list[dict[str, Any]] = []
        self.task: asyncio.Task[None] | None = None

    async def _consume(self) -> None:
        async for event in self.trigger.run():
            self.payloads.append(event.payload)

    def start(self) -> PushRun:
        self.task = asyncio.create_task(self._consume())
        return self

    def records(self, *offboarding_ids: str) -> list[dict[str, Any]]:
        """The records of its events about these offboardings (the seed's records may move with the calendar); raises
        what ended the trigger, if it ended (a watcher never ends on its own).

        :param offboarding_ids: the offboardings.
        """
        if self.task is not None and self.task.done() and not self.task.cancelled():
            self.task.result()
        return [r for p in self.payloads for r in p["records"] if r["offboarding_id"] in offboarding_ids]

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def until(check: Callable[[], bool], seconds: float = 30.0) -> None:
    """Wait for ``check`` (a condition, not a duration: the bound only keeps a broken test from hanging).

    :param check: the condition.
    :param seconds: the bound.
    """
    for _ in range(int(seconds * 20)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


def connected_and_reconciled(emu: FeishuEmulator, searches: int = 1) -> Callable[[], bool]:
    """A check: the watcher holds a long connection and the emulator served ``searches`` searches (its
    reconciliation at start).

    :param emu: the emulator.
    :param searches: searches expected by then.
    """
    return lambda: bool(emu.connections()) and emu.request_count("search") >= searches
