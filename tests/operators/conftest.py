"""Fixtures of the operator tests: an emulator without rate limits (batches stay fast), a small batch of editable
records with employment ids (plan/apply tests), and a stand-in ``ti``.

The rate limit itself is exercised by ``benchmarks/batch_throughput.py`` and by the tests that use the plugin's
``feishu_connection`` (documented limits on both sides).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from plan_helpers import Batch
from recording_ti import RecordingTI

from airflow_provider_feishu_corehr.testing import FeishuEmulator

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def fast_feishu(monkeypatch: pytest.MonkeyPatch) -> Iterator[FeishuEmulator]:
    """A started emulator with rate limits off on both sides and a short retry budget, as ``feishu_default``."""
    with FeishuEmulator(rate_limits="off") as emu:
        conn = json.loads(emu.airflow_conn_json())
        conn["extra"] = {"rate_limits": "off", "max_attempts": 2, "backoff_base": 0.01, "backoff_max": 0.05}
        monkeypatch.setenv("AIRFLOW_CONN_FEISHU_DEFAULT", json.dumps(conn))
        yield emu


@pytest.fixture
def ti() -> RecordingTI:
    return RecordingTI()


@pytest.fixture
def feishu(fast_feishu: FeishuEmulator) -> FeishuEmulator:
    """The plan/apply tests' name for :func:`fast_feishu`."""
    return fast_feishu


@pytest.fixture
def batch(feishu: FeishuEmulator) -> Batch:
    """Five editable (Approved) records with employment ids; request counters reset."""
    made = Batch(feishu, 5)
    feishu.reset_counters()
    return made


@pytest.fixture
def context() -> dict[str, Any]:
    return {"ti": RecordingTI()}
