"""Where an event watcher keeps its memory, against Airflow's own ``AssetStateStoreAccessors`` (3.3+).

One watched asset goes through the store's documented ``aget`` / ``aset``. A store of several assets refuses that
shortcut, and the watcher then reads the per-asset accessors from the store's private maps: the one private use of
Airflow in :mod:`airflow_provider_feishu_corehr.triggers.event_memory`. The last test pins both facts it relies on,
so an Airflow upgrade that changes either fails here.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from airflow import __version__ as airflow_version
from packaging.version import Version

from airflow_provider_feishu_corehr.triggers.event_memory import AssetMemory, Remembered, each_watched_asset

if TYPE_CHECKING:
    from event_helpers import StoreTable

pytestmark = pytest.mark.skipif(
    Version(airflow_version) < Version("3.3"), reason="Airflow has an asset state store from 3.3 on"
)

KEY = "feishu_corehr.offboarding_events.0123456789abcdef01234567"
OLD = Remembered(at="2026-12-01T00:00:00.000000+00:00", seen={"7001": "Offboarded"})
NEW = Remembered(at="2026-12-02T00:00:00.000000+00:00", seen={"7001": "Offboarded", "7002": "Offboarded"})


def test_one_watched_asset_round_trips_through_the_documented_shortcut(store_table: StoreTable) -> None:
    memory = AssetMemory(store_table.accessors("feishu_offboarded"), KEY)

    async def scenario() -> tuple[Remembered | None, Remembered | None]:
        before = await memory.load()
        await memory.save(NEW)
        return before, await memory.load()

    assert asyncio.run(scenario()) == (None, NEW)
    assert store_table.read("feishu_offboarded", KEY) == {"v": 1, "at": NEW.at, "seen": NEW.seen}
    assert store_table.writes == 1


def test_several_watched_assets_each_get_the_memory_and_the_newest_is_read(store_table: StoreTable) -> None:
    memory = AssetMemory(store_table.accessors("offboarded_a", "offboarded_b"), KEY)

    async def scenario() -> Remembered | None:
        await memory.save(OLD)
        store_table.write("offboarded_b", KEY, {"v": 1, "at": NEW.at, "seen": NEW.seen})  # another triggerer, later
        return await AssetMemory(store_table.accessors("offboarded_a", "offboarded_b"), KEY).load()

    assert asyncio.run(scenario()) == NEW
    assert store_table.read("offboarded_a", KEY)["at"] == OLD.at


def test_airflow_store_refuses_the_shortcut_for_several_assets_and_keeps_its_per_asset_accessors(
    store_table: StoreTable,
) -> None:
    """Pins what :func:`each_watched_asset` relies on in the installed Airflow (lowest and highest allowed)."""
    from airflow.sdk.execution_time.context import AssetStateStoreAccessor

    several = store_table.accessors("offboarded_a", "offboarded_b")
    with pytest.raises(ValueError, match="2 concrete inlets") as refused:
        asyncio.run(several.aget(KEY))
    assert each_watched_asset(several, refused.value) == [
        AssetStateStoreAccessor(name="offboarded_a"),
        AssetStateStoreAccessor(name="offboarded_b"),
    ]
    other = ValueError("not about assets")
    with pytest.raises(ValueError, match="not about assets"):
        each_watched_asset(store_table.accessors("feishu_offboarded"), other)
