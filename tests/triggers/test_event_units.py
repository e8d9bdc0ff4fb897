"""The watcher's parts without Airflow's machinery: window arithmetic, argument checks, serialization, the poll
loop under errors, reading records back from asset events, and the example DAG on each Airflow version."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from airflow import __version__ as airflow_version
from event_helpers import today_in_beijing
from packaging.version import Version

from airflow_provider_feishu_corehr.client.api import search_pager
from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.models import ClientSettings
from airflow_provider_feishu_corehr.triggers.event_poll import Window, poll_forever, searches_per_poll
from airflow_provider_feishu_corehr.triggers.offboarding_events import (
    OffboardingStatusEventTrigger,
    records_from_asset_events,
)

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

AIRFLOW_3 = Version(airflow_version).major >= 3
EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "example_feishu_on_offboarded.py"
UTC = dt.UTC


# -- window -------------------------------------------------------------------------------------------------------


def test_window_days_are_the_tenants_days() -> None:
    window = Window.of("offboarding_date", 7, 0, "+08:00")
    late_utc_evening = dt.datetime(2026, 3, 1, 17, 30, tzinfo=UTC)  # already 2 March in Beijing
    assert window.dates(late_utc_evening) == (dt.date(2026, 2, 23), dt.date(2026, 3, 2))
    assert Window.of("offboarding_date", 7, 0, "+00:00").dates(late_utc_evening) == (
        dt.date(2026, 2, 22),
        dt.date(2026, 3, 1),
    )
    assert Window.of("offboarding_date", 0, 0, "America/New_York").dates(late_utc_evening)[0] == dt.date(2026, 3, 1)


def test_window_filters_for_each_field() -> None:
    now = dt.datetime(2026, 3, 1, 17, 30, tzinfo=UTC)
    window = Window.of(["offboarding_date", "apply_initiating_time"], 1, 2, "+08:00")
    filters = window.search_filters(now)
    assert filters["offboarding_date_start"] == dt.date(2026, 3, 1)
    assert filters["offboarding_date_end"] == dt.date(2026, 3, 4)
    beijing = dt.timezone(dt.timedelta(hours=8))
    assert filters["apply_initiating_time_start"] == int(dt.datetime(2026, 3, 1, tzinfo=beijing).timestamp())
    assert filters["apply_initiating_time_end"] == int(dt.datetime(2026, 3, 4, 23, 59, 59, tzinfo=beijing).timestamp())
    body = search_pager(ClientSettings(base_url="http://127.0.0.1:1", app_id="a", app_secret="s"), **filters).payload
    assert body == {
        "offboarding_date_start": "2026-03-01",
        "offboarding_date_end": "2026-03-04",
        "apply_initiating_time_start": str(filters["apply_initiating_time_start"]),
        "apply_initiating_time_end": str(filters["apply_initiating_time_end"]),
    }


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"apply_initiating_time_start": 1}, "apply_initiating_time_end"),
        ({"apply_initiating_time_start": 5, "apply_initiating_time_end": 4}, "apply_initiating_time_start"),
        ({"apply_initiating_time_start": dt.datetime(2026, 1, 1), "apply_initiating_time_end": 4}, "timezone-aware"),
        ({"apply_initiating_time_start": "1672578336", "apply_initiating_time_end": 4}, "whole seconds"),
    ],
)
def test_application_time_filter_is_checked_before_sending(kwargs: dict[str, Any], named: str) -> None:
    settings = ClientSettings(base_url="http://127.0.0.1:1", app_id="a", app_secret="s")
    with pytest.raises(FeishuInvalidInputError, match=named):
        search_pager(settings, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"statuses": []}, "statuses"),
        ({"statuses": ["Gone"]}, "statuses"),
        ({"window_fields": ["hire_date"]}, "window_fields"),
        ({"window_fields": []}, "window_fields"),
        ({"window_days_back": -1}, "window_days_back"),
        ({"window_days_ahead": 1.5}, "window_days_ahead"),
        ({"tenant_timezone": "Mars/Olympus"}, "tenant_timezone"),
        ({"tenant_timezone": "+15:00"}, "tenant_timezone"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"user_id_type": "email"}, "user_id_type"),
        ({"fire_existing": "yes"}, "fire_existing"),
        ({"extra_fields": [""]}, "extra_fields"),
        ({"window_fields": 5}, "window_fields must be a string or a list of strings, got int"),
        ({"extra_fields": 5}, "extra_fields must be a string or a list of strings, got int"),
        ({"extra_fields": None}, "extra_fields must be a string or a list of strings, got None"),
        ({"extra_fields": [f"f{i}" for i in range(21)]}, "extra_fields takes at most 20"),
        ({"poll_interval": True}, "poll_interval must be a positive number"),
        ({"feishu_conn_id": " "}, "feishu_conn_id"),
    ],
)
def test_bad_arguments_are_refused_naming_the_argument(kwargs: dict[str, Any], named: str) -> None:
    args: dict[str, Any] = {"feishu_conn_id": "feishu_default", **kwargs}
    with pytest.raises(FeishuInvalidInputError, match=named):
        OffboardingStatusEventTrigger(**args)


def test_serialize_round_trips_and_holds_json_only() -> None:
    trigger = OffboardingStatusEventTrigger(
        feishu_conn_id="feishu_default",
        statuses=["Approved", "Offboarded"],
        window_fields=["offboarding_date", "apply_initiating_time"],
        window_days_back=3,
        window_days_ahead=30,
        tenant_timezone="Asia/Shanghai",
        user_id_type="open_id",
        poll_interval=120,
        fire_existing=True,
        extra_fields=["reason"],
    )
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider_feishu_corehr.triggers.offboarding_events.OffboardingStatusEventTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    again = OffboardingStatusEventTrigger(**kwargs)
    assert again.serialize() == (path, kwargs)
    assert again.shared_stream_key() == trigger.shared_stream_key()
    assert again.memory_identity() == trigger.memory_identity()


def test_memory_key_of_a_fixed_watcher_never_changes() -> None:
    """Deployed watchers find what they fired under this key: it is built from the window's named fields (a new
    ``Window`` field must not change it), and is the key earlier releases wrote."""
    import asyncio

    from airflow_provider_feishu_corehr.triggers.event_memory import memory_for

    asked: list[str] = []

    class Store:  # the asset state store's read, recording the key asked for
        async def aget(self, key: str, default: Any = None) -> Any:
            asked.append(key)
            return default

    def key(**kwargs: Any) -> str:
        asyncio.run(memory_for(Store(), OffboardingStatusEventTrigger(**kwargs).memory_identity()).load())
        return asked.pop()

    assert key(feishu_conn_id="feishu_default") == "feishu_corehr.offboarding_events.1a47ab73b1ae71cfe5ab6dfb"
    assert (
        key(
            feishu_conn_id="feishu_default",
            statuses=["Approved", "Offboarded"],
            window_fields=["offboarding_date", "apply_initiating_time"],
            window_days_back=3,
            window_days_ahead=30,
            tenant_timezone="Asia/Shanghai",
            user_id_type="open_id",
        )
        == "feishu_corehr.offboarding_events.850f00a54d5d0d1aebb69468"
    )


@pytest.mark.skipif(not AIRFLOW_3, reason="AssetWatcher is Airflow 3")
def test_an_asset_watcher_accepts_it_and_airflow_hashes_it() -> None:
    from airflow.sdk import Asset, AssetWatcher
    from airflow.triggers.base import BaseEventTrigger

    trigger = OffboardingStatusEventTrigger(feishu_conn_id="feishu_default")
    asset = Asset(name="offboarded", watchers=[AssetWatcher(name="w", trigger=trigger)])
    assert asset.watchers[0].trigger is trigger
    path, kwargs = trigger.serialize()
    assert BaseEventTrigger.hash(path, kwargs) == BaseEventTrigger.hash(
        *OffboardingStatusEventTrigger(**kwargs).serialize()
    )


def test_searches_per_poll_is_one_per_hundred_records() -> None:
    assert [searches_per_poll(n) for n in (0, 1, 100, 101, 250, 5000)] == [1, 1, 1, 2, 3, 50]


# -- the poll loop under errors ---------------------------------------------------------------------------------


class _Stop(Exception):
    pass


def _snapshots_until(polls: int, conn_id: str, window: Window) -> list[Any]:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) >= polls:
            raise _Stop

    async def collect() -> list[Any]:
        found: list[Any] = []
        try:
            async for snapshot in poll_forever(conn_id, window, None, 5.0, sleep=sleep):
                found.append(snapshot)
        except _Stop:
            pass
        return found

    return asyncio.run(collect())


def test_a_failed_poll_yields_nothing_and_the_next_one_runs(
    feishu_emulator: FeishuEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = json.loads(feishu_emulator.airflow_conn_json())
    conn["extra"] = {**conn.get("extra", {}), "rate_limits": "off", "max_attempts": 1}
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_ONCE", json.dumps(conn))
    oid = feishu_emulator.add_offboarding(employment_id="6982509313466182001", offboarding_date=today_in_beijing())
    feishu_emulator.inject_fault("search", "http_500", count=1)
    found = _snapshots_until(2, "feishu_once", Window.of("offboarding_date", 0, 0, "+08:00"))
    assert len(found) == 1
    assert oid in {r.offboarding_id for r in found[0].records}
    assert feishu_emulator.request_count("search") == 2


def test_a_permanent_error_is_logged_and_the_loop_goes_on(
    feishu_emulator: FeishuEmulator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    conn = json.loads(feishu_emulator.airflow_conn_json())
    conn["password"] = "not-the-secret"
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_WRONG", json.dumps(conn))
    with caplog.at_level(logging.ERROR):
        found = _snapshots_until(3, "feishu_wrong", Window.of("offboarding_date", 0, 0, "+08:00"))
    assert found == []
    assert feishu_emulator.request_count("token") >= 3  # the connection is read again and retried every poll
    assert "failed permanently" in caplog.text
    assert "not-the-secret" not in caplog.text


# -- records back from asset events -----------------------------------------------------------------------------


class _Event:
    def __init__(self, extra: dict[str, Any]) -> None:
        self.extra = extra


def test_records_from_asset_events_keeps_watcher_payloads_once() -> None:
    a = {"offboarding_id": "1", "status": "Offboarded", "employment_id": "e1"}
    b = {"offboarding_id": "2", "status": "Offboarded", "employment_id": "e2"}
    events = {
        "feishu_offboarded": [
            _Event({"from_trigger": True, "payload": a}),
            _Event({"from_trigger": True, "payload": dict(a)}),  # the same transition from an overlapping triggerer
            _Event({"note": "made by a task"}),
            _Event({"from_trigger": True, "payload": b}),
        ]
    }
    assert records_from_asset_events(events) == [a, b]


# -- the example DAG on each version ----------------------------------------------------------------------------


def test_example_defines_the_event_dag_only_on_airflow_3() -> None:
    spec = importlib.util.spec_from_file_location("example_on_offboarded", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # must not raise on Airflow 2 either
    assert module.HAS_EVENT_SCHEDULING is AIRFLOW_3
    if AIRFLOW_3:
        dag = module.on_offboarded_dag
        (watcher,) = module.feishu_offboarded.watchers
        assert watcher.trigger.statuses == ("Offboarded",)
        assert [t.task_id for t in dag.tasks] == ["deprovision_offboarded"]
    else:
        assert not hasattr(module, "on_offboarded_dag")


def test_example_deprovisioning_step_names_the_record() -> None:
    spec = importlib.util.spec_from_file_location("example_on_offboarded_step", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    record = {"offboarding_id": "7", "employment_id": "e", "offboarding_date": "2026-03-01", "status": "Offboarded"}
    done = module.deprovision(record)
    assert (done["offboarding_id"], done["employment_id"], done["offboarding_date"]) == ("7", "e", "2026-03-01")
