"""Shared names of the client tests: the fast settings, the emulator clock, the expected backoffs, the seeded ids.

Imported by name (``from client_helpers import ...``) like ``tests/operators/plan_helpers.py``: ``tests/`` is not a
package, and pytest puts this directory on ``sys.path`` when it loads ``conftest.py`` next to this module.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.models import FieldValue

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.client.aio import AsyncFeishuClient
    from airflow_provider_feishu_corehr.client.sync import FeishuClient
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

MakeClient = Callable[..., "FeishuClient"]
MakeAsync = Callable[..., "AsyncFeishuClient"]

# Settings overrides of every client made by the fixtures: fast retries, the client-side limiter off.
FAST: dict[str, Any] = {
    "timeout": 2.0,
    "max_attempts": 4,
    "max_elapsed": 600.0,
    "backoff_base": 0.01,
    "backoff_max": 0.08,
    "rate_limit_wait_max": 30.0,
    "rate_limits": {"revoke": None, "edit": None, "search": None},
}

# What the fixtures' ``random`` returns: the jitter is pinned to this fraction.
PINNED_RANDOM = 0.5

# The backoff slept after attempt n (index n - 1) with FAST: [0.005, 0.01, 0.02, 0.04].
BACKOFF = [
    PINNED_RANDOM * min(FAST["backoff_max"], FAST["backoff_base"] * 2 ** (attempt - 1))
    for attempt in range(1, FAST["max_attempts"] + 1)
]
# The jitter added to a rate-limit wait (the reset header's seconds) with FAST: 0.005.
JITTER = PINNED_RANDOM * FAST["backoff_base"]

# Seeded emulator records.
APPROVED = "7095671727698478604"  # revocable, editable; latest offboarding of EMPLOYMENT
EMPLOYMENT = "6982509313466189341"
DATE = [FieldValue("offboarding_date", "2026-12-31")]


class EmulatorTime:
    """A clock for the client that moves with the emulator's: ``advance`` moves both."""

    def __init__(self, emu: FeishuEmulator) -> None:
        self.emu = emu
        self.offset = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds
        self.emu.advance_time(seconds)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
