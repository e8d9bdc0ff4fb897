"""Fixtures of the event-watcher tests: the emulator as ``feishu_default`` (client-side limiter off, short backoff)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

FAST = {"rate_limits": "off", "backoff_base": 0.01, "backoff_max": 0.05}


@pytest.fixture
def feishu(feishu_emulator: FeishuEmulator, monkeypatch: pytest.MonkeyPatch) -> FeishuEmulator:
    """The plugin's emulator as ``feishu_default``, the client-side limiter off (pages are not paced)."""
    conn = json.loads(feishu_emulator.airflow_conn_json())
    conn["extra"] = {**conn.get("extra", {}), **FAST}
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_DEFAULT", json.dumps(conn))
    return feishu_emulator
