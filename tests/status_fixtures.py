"""Fixtures and helpers shared by the tests of the sensor (``tests/sensors``) and of the triggers
(``tests/triggers``): the emulator as ``feishu_default`` (client-side limiter off, short backoff), connections
without client retries and with a wrong App Secret, log capture, a change of the emulator's state after N
searches, a trigger run to its end, and a line said once in a task's or trigger's log.

Each of those folders' ``conftest.py`` imports the fixtures it uses from here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

FAST = {"rate_limits": "off", "backoff_base": 0.01, "backoff_max": 0.05}

#: An employment id that has no offboarding in the emulator's default seed.
NEW_EMPLOYMENT = "7300000000000000001"


def conn_json(emu: FeishuEmulator, **extra: Any) -> str:
    """The emulator's connection as Airflow JSON, with extras added."""
    conn = json.loads(emu.airflow_conn_json())
    conn["extra"] = {**conn.get("extra", {}), **FAST, **extra}
    return json.dumps(conn)


@pytest.fixture
def feishu(feishu_emulator: FeishuEmulator, monkeypatch: pytest.MonkeyPatch) -> FeishuEmulator:
    """The plugin's emulator (documented server-side rate limits) as ``feishu_default``.

    The client-side limiter is off so a 0.1 s poke interval is not stretched to search's 100/min pacing, and
    backoff is short so the client's own retries stay fast.
    """
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_DEFAULT", conn_json(feishu_emulator))
    return feishu_emulator


@pytest.fixture
def logs(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Callable[[], str]:
    """Return ``read() -> str``: everything logged so far in the test (stdout/stderr and stdlib logging).

    Airflow logs through structlog to the console and through stdlib logging, depending on where the code runs.
    INFO is captured whatever level Airflow left on the root logger (Airflow 2 leaves WARNING after a dag run).
    """
    caplog.set_level(logging.INFO)

    def read() -> str:
        captured = capsys.readouterr()
        return captured.out + captured.err + caplog.text

    return read


@pytest.fixture
def one_attempt_conn(feishu: FeishuEmulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """Connection ``feishu_one_attempt``: no client-side retry, so every fault reaches the sensor/trigger."""
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_ONE_ATTEMPT", conn_json(feishu, max_attempts=1))
    return "feishu_one_attempt"


@pytest.fixture
def wrong_secret_conn(feishu: FeishuEmulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """Connection ``feishu_wrong_secret``: the emulator refuses its App Secret (a permanent auth error)."""
    conn = json.loads(conn_json(feishu))
    conn["password"] = "not-the-secret"
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_WRONG_SECRET", json.dumps(conn))
    return "feishu_wrong_secret"


@contextmanager
def after_searches(emu: FeishuEmulator, count: int, action: Callable[[], Any]) -> Iterator[threading.Event]:
    """Run ``action`` in a background thread once the emulator has received ``count`` search requests.

    Count-based, not time-based: the sensor's looks drive the change. The yielded event is set when the action
    ran; an exception of the action is raised at the end of the ``with`` block.
    """
    done = threading.Event()
    stop = threading.Event()
    errors: list[BaseException] = []

    def watch() -> None:
        while not stop.is_set():
            if emu.request_count("search") >= count:
                try:
                    action()
                except BaseException as exc:  # reported to the test below
                    errors.append(exc)
                done.set()
                return
            stop.wait(0.005)

    thread = threading.Thread(target=watch, name="after-searches", daemon=True)
    thread.start()
    try:
        yield done
    finally:
        stop.set()
        thread.join(5)
    if errors:
        raise errors[0]


def trigger_events(trigger: Any) -> list[Any]:
    """Run a trigger to its end in a fresh event loop and return every event it yielded."""

    async def collect() -> list[Any]:
        return [event async for event in trigger.run()]

    return asyncio.run(collect())


def said_once(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, needle: str) -> str:
    """Assert ``needle`` was logged once and return everything logged. Airflow 3 writes a task's log to one sink
    (the console or stdlib logging, depending on where the code runs); Airflow 2 writes it to both, so the line is
    counted in each sink separately."""
    captured = capsys.readouterr()
    console, records = captured.out + captured.err, caplog.text
    assert max(console.count(needle), records.count(needle)) == 1, f"{needle!r} not logged exactly once"
    return console + records
