"""Independent proof: the official SDK's ``lark.ws.Client``, unchanged, receives the emulator's events.

The SDK (lark-oapi, a test dependency only) runs in a subprocess (``sdk_ws_listener.py``: its client runs its own
event loop forever), pointed at the emulator with ``domain=<base URL>``; it writes each event it handled as a JSON
line. The test compares them with what the emulator says it emitted, and reads the acks the SDK sent back.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from longconn_client import wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator

    from emu_client import Api

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

pytest.importorskip("lark_oapi")

LISTENER = Path(__file__).with_name("sdk_ws_listener.py")
APPROVED, PLAIN = "7095671727698478604", "7095671727698478623"
QUICK = {"client_config": {"ReconnectCount": -1, "ReconnectInterval": 1, "ReconnectNonce": 0, "PingInterval": 1}}
STARTUP = 120  # seconds: importing lark_oapi takes long on a busy machine


class Listener:
    def __init__(self, emu: FeishuEmulator, out: Path) -> None:
        self.out = out
        self.log = out.with_suffix(".log")
        with self.log.open("w") as log:
            args = [sys.executable, str(LISTENER), emu.base_url, emu.app_id, emu.app_secret, str(out)]
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)

    def received(self) -> list[dict[str, Any]]:
        if not self.out.exists():
            return []
        return [json.loads(line) for line in self.out.read_text().splitlines() if line.strip()]

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        return self.log.read_text()


@pytest.fixture
def sdk(feishu_emulator: FeishuEmulator, tmp_path: Path) -> Iterator[Listener]:
    listener = Listener(feishu_emulator, tmp_path / "events.jsonl")
    try:
        wait_for(lambda: feishu_emulator.connections() or listener.process.poll() is not None, "the SDK", STARTUP)
        assert feishu_emulator.connections(), listener.stop()
        yield listener
    finally:
        listener.stop()


@pytest.mark.feishu_emulator(long_connection=QUICK, clock_speed=0)
def test_the_sdk_receives_and_acks_the_events_of_a_revoke_an_edit_and_the_clock(api: Api, sdk: Listener) -> None:
    emu = api.emu
    assert api.revoke(APPROVED, operator_id="6893014062142064135").json()["code"] == 0
    assert api.edit(PLAIN, {"handover_note__c": "laptop returned"}).json()["code"] == 0
    emu.set_time("2027-01-01 00:00:01")  # PLAIN's offboarding date (2026-12-31) ends: the clock moves it
    emitted = [entry["event"] for entry in emu.events()]
    types = [
        (e["header"]["event_type"], e["event"].get("offboarding_id") or e["event"]["offboarding_info_id"])
        for e in emitted
    ]
    assert types[:3] == [
        ("corehr.offboarding.status_updated_v2", APPROVED),
        ("corehr.offboarding.updated_v2", APPROVED),
        ("corehr.offboarding.updated_v2", PLAIN),
    ]
    assert ("corehr.offboarding.status_updated_v2", PLAIN) in types[3:]
    wait_for(lambda: len(sdk.received()) == len(emitted), "the SDK to handle every event")
    by_id = {e["header"]["event_id"]: e for e in sdk.received()}
    assert by_id == {e["header"]["event_id"]: e for e in emitted}  # every field, as the SDK's models parsed them
    wait_for(lambda: all(entry["state"] == "acked" for entry in emu.events()), "the SDK's acks")
    assert all(a["code"] == 200 and a["biz_rt"] is not None for e in emu.events() for a in e["attempts"])
    assert emu.connections()[0]["pings"] >= 1


@pytest.mark.feishu_emulator(long_connection={**QUICK, "ack_timeout": 1, "retry_delays": [0.5, 0.5, 0.5, 0.5]})
def test_the_sdk_joins_fragments_and_reconnects_after_a_drop_and_a_refused_handshake(api: Api, sdk: Listener) -> None:
    emu = api.emu
    emu.inject_event_fault("fragment", parts=5)
    assert api.edit(PLAIN, {"handover_note__c": "a"}).json()["code"] == 0
    wait_for(lambda: len(sdk.received()) == 1, "the fragmented event")
    assert sdk.received()[0] == emu.events()[0]["event"]

    first = emu.connections()[0]["device_id"]
    emu.inject_event_fault("refuse_handshake", status=500)  # a server error: the SDK tries again
    emu.inject_event_fault("drop_connection")
    assert api.edit(PLAIN, {"handover_note__c": "b"}).json()["code"] == 0
    wait_for(lambda: len(sdk.received()) == 2, "the event pushed again after the reconnection")
    assert sdk.received()[1] == emu.events()[1]["event"]
    (now,) = emu.connections()
    assert now["device_id"] != first
    results = [a["result"] for a in emu.events()[1]["attempts"]]
    assert results[0] == "dropped" and results[-1] == "acked"
    assert emu.long_connection()["endpoint_requests"] >= 3  # start, the refused attempt, the one that connected


@pytest.mark.feishu_emulator(long_connection={**QUICK, "max_connections": 0})
def test_the_sdk_stops_at_the_connection_limit(feishu_emulator: FeishuEmulator, tmp_path: Path) -> None:
    listener = Listener(feishu_emulator, tmp_path / "events.jsonl")
    try:
        assert listener.process.wait(timeout=STARTUP) != 0  # a client error: the SDK gives up
    finally:
        log = listener.stop()
    assert "514: exceed connection limit" in log  # the SDK's ClientException
    assert feishu_emulator.connections() == []
