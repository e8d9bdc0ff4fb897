"""Batched look-up: the most recent offboarding of many employments, one search per up to 100 distinct ids."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from airflow_provider_feishu_corehr.client.aio import AsyncFeishuClient
from airflow_provider_feishu_corehr.client.lookup import employment_batches
from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

pytestmark = pytest.mark.feishu_emulator(rate_limits="off")


def test_batches_are_distinct_ordered_and_bounded() -> None:
    ids = [str(7000000000000000000 + i % 250) for i in range(500)]
    batches = employment_batches(ids)
    assert [len(b) for b in batches] == [100, 100, 50]
    assert [i for b in batches for i in b] == list(dict.fromkeys(ids))
    with pytest.raises(ValueError, match="size"):
        employment_batches(ids, size=101)


def _seed(emu: FeishuEmulator, count: int) -> dict[str, str]:
    """``count`` employments with two offboardings each (an old Withdrawn one and a newer Approved one)."""
    newest: dict[str, str] = {}
    for i in range(count):
        employment_id = str(6990000000000000000 + i)
        emu.add_offboarding(
            employment_id=employment_id, status="Withdrawn", apply_initiating_time="2026-01-01 09:00:00"
        )
        newest[employment_id] = emu.add_offboarding(
            employment_id=employment_id, status="Approved", apply_initiating_time="2026-03-01 09:00:00"
        )
    return newest


def test_hook_lookup_costs_one_search_per_hundred_ids(feishu_connection: FeishuEmulator) -> None:
    newest = _seed(feishu_connection, 250)
    missing = "6980000000000000001"
    wanted = [*newest, *list(newest)[:30], missing]
    feishu_connection.reset_counters()

    found = FeishuHook().lookup_offboardings(wanted)

    assert {eid: r.offboarding_id for eid, r in found.items()} == newest
    assert missing not in found
    # 250 distinct ids -> 3 searches; each employment has 2 records, so batches of 100 ids span 2 pages each
    searches = feishu_connection.request_count("search")
    assert 3 <= searches <= 3 * 2 + 1, searches


def test_async_lookup_matches_sync(feishu_connection: FeishuEmulator) -> None:
    newest = _seed(feishu_connection, 120)
    hook = FeishuHook()

    async def run() -> dict[str, str]:
        async with AsyncFeishuClient(hook.settings) as client:
            found = await client.lookup_offboardings(list(newest))
        return {eid: r.offboarding_id for eid, r in found.items()}

    assert asyncio.run(run()) == newest
