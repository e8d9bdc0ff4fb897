"""Fixtures of the trigger tests: the emulator as ``feishu_default`` and the connections shared with the sensor
tests (``tests/status_fixtures.py``); for the event watcher, the emulator's calendar at today and a stand-in of the
asset state store's table."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest
from event_helpers import StoreTable
from status_fixtures import feishu, logs, one_attempt_conn, wrong_secret_conn

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

__all__ = ["feishu", "feishu_today", "logs", "one_attempt_conn", "store_table", "wrong_secret_conn"]


@pytest.fixture
def feishu_today(feishu: FeishuEmulator) -> FeishuEmulator:
    """``feishu`` with the emulator's tenant calendar moved to now.

    The event watcher evaluates its window on the real calendar, as it would against Feishu, so the emulator's
    calendar (which starts at the seed's ``clock_start``) is moved to now: "applied now" means today for both.
    """
    feishu.set_time(time.time())
    return feishu


@pytest.fixture
def store_table(monkeypatch: pytest.MonkeyPatch) -> StoreTable:
    """An empty stand-in of the ``asset_state_store`` table, wired to Airflow's own accessors where they exist."""
    return StoreTable(monkeypatch)
