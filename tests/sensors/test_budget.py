"""Budgets across processes and bounded waits: the host schedule (SQLite file), the connection's share, the
logged long wait, a poke bounded by its sensor's timeout, and looks that slip behind their interval."""

from __future__ import annotations

import itertools
import json
import logging
import multiprocessing
import time
from typing import TYPE_CHECKING, Any

import pytest
from sensor_helpers import after_searches

from airflow_provider_feishu_corehr.client.budget import HostRateLimiter
from airflow_provider_feishu_corehr.client.codes import Endpoint
from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError, FeishuRateLimitError
from airflow_provider_feishu_corehr.client.models import ClientSettings
from airflow_provider_feishu_corehr.client.ratelimit import HEADROOM, RateLimiter, limiter_for, within
from airflow_provider_feishu_corehr.hooks.connection import settings_from_connection
from airflow_provider_feishu_corehr.sensors.offboarding import OffboardingStatusSensor

if TYPE_CHECKING:
    from pathlib import Path

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

APPROVING_EMP, APPROVING_OFF = "6982509313466189342", "7095671727698478605"


def _book_slots(path: str, count: int, out: Any) -> None:
    """In a separate process: book ``count`` slots of a 20/s host schedule; report when each slot is."""
    seen: list[float] = []

    def clock() -> float:
        seen.append(time.time())
        return seen[-1]

    limiter = HostRateLimiter(20, 1.0, key="https://x app edit", path=path, clock=clock)
    for _ in range(count):
        delay = limiter.reserve()
        out.put(seen[-1] + delay)  # the booked slot, on the clock the booking used


def test_processes_of_one_host_share_one_schedule(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    path = str(tmp_path / "budget.sqlite3")
    workers = [ctx.Process(target=_book_slots, args=(path, 10, out)) for _ in range(4)]
    for worker in workers:
        worker.start()
    slots = sorted(out.get(timeout=60) for _ in range(40))
    for worker in workers:
        worker.join(timeout=30)
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    interval = 1.0 / (20 * HEADROOM)
    assert min(gaps) >= interval - 1e-3  # distinct slots, evenly apart, whichever process booked them
    assert slots[-1] - slots[0] >= 39 * interval - 1e-3  # 40 requests of four processes take 40 slots


def _open_and_book(path: str, start: Any, out: Any) -> None:
    """In a forked process: wait for the others, then open the (new) schedule file and book one slot."""
    limiter = HostRateLimiter(20, 1.0, key="k", path=path)
    start.wait(30)
    try:
        limiter.reserve()
    except Exception as exc:  # reported to the test
        out.put(f"{type(exc).__name__}: {exc}")
    else:
        out.put("ok")


def test_processes_setting_up_a_new_schedule_file_at_once_all_get_their_slot(tmp_path: Path) -> None:
    """Switching a new file to WAL is not covered by SQLite's busy wait: without the retry, some of six processes
    opening the same new file at the same moment failed with "database is locked" (about one round in three)."""
    ctx = multiprocessing.get_context("fork")
    for round_ in range(10):
        path, start, out = str(tmp_path / f"new-{round_}.sqlite3"), ctx.Barrier(6), ctx.Queue()
        workers = [ctx.Process(target=_open_and_book, args=(path, start, out)) for _ in range(6)]
        for worker in workers:
            worker.start()
        results = [out.get(timeout=60) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
        assert results == ["ok"] * 6, f"round {round_}: {results}"


def test_a_share_slows_the_schedule_to_that_part_of_the_limit(tmp_path: Path) -> None:
    limiter = HostRateLimiter(20, 1.0, key="k", path=tmp_path / "b.sqlite3", share=0.5, clock=lambda: 100.0)
    delays = [limiter.reserve() for _ in range(3)]
    assert delays == pytest.approx([0.0, 1 / (10 * HEADROOM), 2 / (10 * HEADROOM)])


def test_host_scope_and_share_come_from_the_connection(tmp_path: Path) -> None:
    from airflow.models.connection import Connection

    extra = {"rate_limit_scope": "host", "rate_limit_share": "0.25", "rate_limit_store": str(tmp_path / "s.db")}
    conn = Connection(conn_id="f", conn_type="feishu", host="http://127.0.0.1:1", login="a", password="s")
    conn.set_extra(json.dumps(extra))
    settings = settings_from_connection(conn)
    assert (settings.rate_limit_scope, settings.rate_limit_share) == ("host", 0.25)
    limiter = limiter_for(settings, Endpoint.EDIT)
    assert isinstance(limiter, HostRateLimiter)
    assert limiter.interval == pytest.approx(1 / (20 * HEADROOM * 0.25))
    assert str(limiter.path) == extra["rate_limit_store"]
    default = limiter_for(ClientSettings(base_url="http://127.0.0.1:1", app_id="a", app_secret="s"), Endpoint.EDIT)
    assert type(default) is RateLimiter  # process scope unless the connection says host


@pytest.mark.parametrize(
    ("extra", "rule"),
    [
        ({"rate_limit_scope": "cluster"}, "rate_limit_scope: must be one of process, host"),
        ({"rate_limit_share": 0}, "rate_limit_share: must be > 0"),
        ({"rate_limit_share": "1.5"}, "rate_limit_share: must be at most 1"),
        ({"rate_limit_share": "half"}, "rate_limit_share: must be a number"),
        ({"rate_limit_store": 5}, "rate_limit_store: must be a file path"),
    ],
)
def test_bad_budget_extras_name_the_field(extra: dict[str, Any], rule: str) -> None:
    from airflow.models.connection import Connection

    conn = Connection(conn_id="f", conn_type="feishu", host="http://127.0.0.1:1", login="a", password="s")
    conn.set_extra(json.dumps(extra))
    with pytest.raises(FeishuInvalidInputError, match=f"Connection 'f', field {rule}"):
        settings_from_connection(conn)


def test_a_long_wait_is_logged_once_with_reason_and_delay(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    limiter = RateLimiter(100, 60.0, clock=lambda: now[0], label="search budget of app cli_x", endpoint="search")
    with caplog.at_level(logging.WARNING, logger="airflow_provider_feishu_corehr.client.ratelimit"):
        delays = [limiter.reserve() for _ in range(40)]
    assert delays[-1] > 20
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1
    assert lines[0].startswith("Waiting 10.")  # the first wait over 10 s, with its expected delay
    assert "search budget of app cli_x (100 per 60 s, 97 % of it used by this process)" in lines[0]


def test_within_refuses_a_slot_beyond_the_time_left_without_booking_it() -> None:
    limiter = RateLimiter(1, 60.0, endpoint="search", label="search budget of app a")
    assert limiter.reserve() == 0
    with within(2.0), pytest.raises(FeishuRateLimitError, match=r"no free slot for 6\d\.\d s, more than the"):
        limiter.reserve()
    assert 61 < limiter.reserve() < 62  # the refused slot was not booked: the next caller gets the first free one


def _conn(emu: FeishuEmulator, **extra: Any) -> str:
    conn = json.loads(emu.airflow_conn_json())
    conn["extra"] = {"backoff_base": 0.01, "backoff_max": 0.05, **extra}
    return json.dumps(conn)


def _slow_sensor(emu: FeishuEmulator, monkeypatch: pytest.MonkeyPatch, rate: str, **kwargs: Any) -> Any:
    """A poke-mode sensor on connection ``feishu_slow``, whose client-side search budget is ``rate``."""
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_SLOW", _conn(emu, rate_limits={"search": rate}))
    args = {"employment_id": APPROVING_EMP, "target_statuses": "Approved", "feishu_conn_id": "feishu_slow", **kwargs}
    return OffboardingStatusSensor(**args)


def test_a_poke_does_not_outlive_the_sensor_timeout(
    feishu: FeishuEmulator, monkeypatch: pytest.MonkeyPatch, logs: Any
) -> None:
    """A search budget of 1 per minute: the second look would wait a minute; the 3 s sensor does not."""
    from airflow.providers.common.compat.sdk import AirflowSensorTimeout

    sensor = _slow_sensor(
        feishu, monkeypatch, "1/60", task_id="bounded", poke_interval=0.2, timeout=3, max_consecutive_failures=50
    )
    with pytest.raises(AirflowSensorTimeout):
        sensor.execute({})  # type: ignore[arg-type]
    assert feishu.request_count("search") == 1
    assert "no free slot for" in logs()  # the poke said why it did not look, then Airflow's timeout ended the task


def _said_once(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, needle: str) -> str:
    """Assert ``needle`` was logged once and return everything logged. Airflow 3 writes a task's log to one sink
    (the console or stdlib logging, depending on where the code runs); Airflow 2 writes it to both, so the line is
    counted in each sink separately."""
    captured = capsys.readouterr()
    console, records = captured.out + captured.err, caplog.text
    assert max(console.count(needle), records.count(needle)) == 1, f"{needle!r} not logged exactly once"
    return console + records


def test_looks_that_slip_behind_the_interval_are_reported(
    feishu: FeishuEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A search budget of 1 per 1.5 s under a 0.1 s poke interval: the task log says the looks slip behind."""
    sensor = _slow_sensor(
        feishu, monkeypatch, "1/1.5", task_id="slipping", offboarding_id=APPROVING_OFF, poke_interval=0.1, timeout=30
    )
    with after_searches(feishu, 3, lambda: feishu.set_status(APPROVING_OFF, "Approved")):
        sensor.execute({})  # type: ignore[arg-type]
    out = _said_once(capsys, caplog, "slip behind the poll interval of 0.1 s")  # said once, not at every look
    assert "The app's search budget" in out


def test_a_trigger_whose_looks_slip_behind_says_so_in_its_log(
    feishu: FeishuEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from sensor_helpers import trigger_events

    from airflow_provider_feishu_corehr.triggers.offboarding import OffboardingStatusTrigger

    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_SLOW", _conn(feishu, rate_limits={"search": "1/1.5"}))
    trigger = OffboardingStatusTrigger(
        feishu_conn_id="feishu_slow",
        employment_id=APPROVING_EMP,
        offboarding_id=APPROVING_OFF,
        target_statuses="Approved",
        poll_interval=0.1,
    )
    with after_searches(feishu, 3, lambda: feishu.set_status(APPROVING_OFF, "Approved")):
        (event,) = trigger_events(trigger)
    assert event.payload["status"] == "success"
    out = _said_once(capsys, caplog, "slip behind the poll interval of 0.1 s")
    assert f"offboarding {APPROVING_OFF} of employment {APPROVING_EMP}" in out
