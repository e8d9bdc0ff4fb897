"""``example_dags/example_feishu_offboarding_push.py``: the DAG on each Airflow version, and the example's own push
watcher against the emulator's long connection (a real HTTP + WebSocket server), its records handled by the DAG's
step.

``dag.test()`` cannot hand a run triggering asset events, and does not run watchers: the real scheduler and
triggerer are in ``scripts/e2e_push_events.py`` (docs/events.md, "Measured on a real deployment").
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from airflow_lanes import AIRFLOW_V3

if TYPE_CHECKING:
    from types import ModuleType

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parents[1] / "example_dags" / "example_feishu_offboarding_push.py"
BEIJING = dt.timezone(dt.timedelta(hours=8))


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_defines_the_event_dag_only_on_airflow_3() -> None:
    module = _load(EXAMPLE, "example_offboarding_push")  # must not raise on Airflow 2 either
    assert module.HAS_EVENT_SCHEDULING is AIRFLOW_V3
    if not AIRFLOW_V3:
        assert not hasattr(module, "offboarding_push_dag")
        return
    dag = module.offboarding_push_dag
    (watcher,) = module.feishu_offboarded_pushed.watchers
    assert type(watcher.trigger).__name__ == "OffboardingPushTrigger"
    assert (watcher.trigger.statuses, watcher.trigger.reconcile_interval) == (("Offboarded",), 1800.0)
    assert [t.task_id for t in dag.tasks] == ["deprovision_offboarded"]


def test_deprovisioning_step_names_the_record_of_either_source() -> None:
    module = _load(EXAMPLE, "example_offboarding_push_step")
    pushed = {"offboarding_id": "7", "employment_id": "e", "offboarding_date": None, "source": "push"}
    done = module.deprovision(pushed)
    assert (done["offboarding_id"], done["employment_id"], done["source"]) == ("7", "e", "push")


@pytest.mark.skipif(not AIRFLOW_V3, reason="event-driven scheduling (AssetWatcher) is Airflow 3")
def test_the_examples_watcher_fires_each_change_once_and_the_step_handles_every_record(
    feishu_emulator: FeishuEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example's own trigger: one pushed status change is one record; two changes pushed together are one
    event with both; a duplicated push fires nothing more; a change made while the watcher was stopped fires
    once at its restart (reconciliation, the memory kept across the restart); the step handles every record."""
    emu = feishu_emulator
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_DEFAULT", emu.airflow_conn_json())
    helpers = _load(HERE / "push_run.py", "push_run_example")
    store = _load(HERE.parent / "triggers" / "event_helpers.py", "push_event_helpers").StoreTable(monkeypatch)
    emu.set_time(time.time())  # the reconciliation window is on the real calendar
    emu.configure_long_connection(client_config=helpers.FAST)
    today = dt.datetime.now(BEIJING).date().isoformat()
    first, second, third, down = (
        emu.add_offboarding(employment_id=f"698250931346618999{n}", status="Approved", offboarding_date=today)
        for n in range(4)
    )
    example = _load(EXAMPLE, "example_offboarding_push_run")
    (watcher,) = example.feishu_offboarded_pushed.watchers
    path, kwargs = watcher.trigger.serialize()

    def copy() -> Any:  # what the triggerer makes of the stored trigger row, at each start
        return type(watcher.trigger)(**kwargs)

    async def scenario() -> tuple[Any, Any]:
        before = helpers.PushRun(copy(), store.accessors(example.ASSET_NAME)).start()
        await helpers.until(helpers.connected_and_reconciled(emu))
        emu.set_status(first, "Offboarded")
        await helpers.until(lambda: len(before.records(first)) == 1)
        emu.inject_event_fault("duplicate")
        emu.set_status(second, "Offboarded")
        emu.set_status(third, "Offboarded")
        await helpers.until(lambda: len(before.records(second, third)) == 2)
        await asyncio.sleep(1.0)  # a stray copy would fire by now
        await before.stop()
        await helpers.until(lambda: not emu.connections())
        emu.set_status(down, "Offboarded")  # nobody connected: Feishu retries later
        searches = emu.request_count("search")
        after = helpers.PushRun(copy(), store.accessors(example.ASSET_NAME)).start()
        await helpers.until(lambda: len(after.records(down)) == 1 and emu.request_count("search") > searches)
        await asyncio.sleep(1.0)
        await after.stop()
        return before, after

    before, after = asyncio.run(scenario())
    assert path.endswith("OffboardingPushTrigger")
    ids = (first, second, third, down)
    assert [(r["offboarding_id"], r["source"]) for r in before.records(*ids)] == [
        (first, "push"),
        (second, "push"),
        (third, "push"),
    ]
    assert [len(p["records"]) for p in before.payloads if set(ids) & {r["offboarding_id"] for r in p["records"]}] == [
        1,
        2,
    ]
    assert [(r["offboarding_id"], r["source"]) for r in after.records(*ids)] == [(down, "reconcile")]
    events = {
        example.ASSET_NAME: [
            type("Event", (), {"extra": {"from_trigger": True, "payload": p}})()
            for p in [*before.payloads, *after.payloads]
        ]
    }
    done = [example.deprovision(r) for r in example.records_from_asset_events(events)]
    assert [d["offboarding_id"] for d in done if d["offboarding_id"] in ids] == list(ids)
    json.dumps(done)  # the step's return is an XCom: JSON
