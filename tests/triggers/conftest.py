"""Fixtures of the event-watcher tests: the emulator as ``feishu_default`` (client-side limiter off, short backoff)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

FAST = {"rate_limits": "off", "backoff_base": 0.01, "backoff_max": 0.05}


@pytest.fixture
def feishu(feishu_emulator: FeishuEmulator, monkeypatch: pytest.MonkeyPatch) -> FeishuEmulator:
    """The plugin's emulator as ``feishu_default``, the client-side limiter off (pages are not paced).

    The watcher evaluates its window on the real calendar, as it would against Feishu, so the emulator's tenant
    calendar (which starts at the seed's ``clock_start``) is moved to now: "applied now" means today for both.
    """
    feishu_emulator.set_time(time.time())
    conn = json.loads(feishu_emulator.airflow_conn_json())
    conn["extra"] = {**conn.get("extra", {}), **FAST}
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_DEFAULT", json.dumps(conn))
    return feishu_emulator
