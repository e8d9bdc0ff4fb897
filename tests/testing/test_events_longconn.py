"""The long connection on the wire: endpoint request, handshake refusals, ping/pong, push, ack, retries,
fragments, duplicates, delays, drops, the connection limit and the random receiver. The client side is
``requests`` + the ``websockets`` sync client + the SDK's generated ``Frame`` (see ``longconn_client.py``)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
import requests
from longconn_client import Client, endpoint, headers, sync_client, wait_for

if TYPE_CHECKING:
    from emu_client import Api

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

APPROVED = "7095671727698478604"
PLAIN = [f"70956717276984786{n}" for n in range(23, 28)]  # default seed: plain Approved records
FAST = {"ack_timeout": 0.5, "retry_delays": [0.2, 0.2, 0.2, 0.2]}
NOTE = "handover_note__c"


def states(emu: FeishuEmulator) -> list[str]:
    return [entry["state"] for entry in emu.events()]


def test_endpoint_answers_the_url_and_client_config_and_checks_the_credentials(feishu_emulator: FeishuEmulator) -> None:
    answer = endpoint(feishu_emulator)
    assert answer["code"] == 0
    assert answer["data"]["URL"].startswith(feishu_emulator.base_url.replace("http", "ws") + "/ws/v2?device_id=")
    assert "service_id=" in answer["data"]["URL"]
    config = answer["data"]["ClientConfig"]
    assert config == {"ReconnectCount": -1, "ReconnectInterval": 120, "ReconnectNonce": 30, "PingInterval": 120}
    assert endpoint(feishu_emulator, secret="wrong")["code"] == 10014  # a client error: the SDK does not retry
    feishu_emulator.inject_event_fault("endpoint_error")
    assert endpoint(feishu_emulator)["code"] == 1  # "system busy": a server error, retried


def test_ping_gets_a_pong_carrying_the_client_config(feishu_emulator: FeishuEmulator) -> None:
    feishu_emulator.configure_long_connection(client_config={"PingInterval": 5})
    client = Client(feishu_emulator)
    pong = client.ping()
    assert (pong.method, headers(pong)["type"], pong.service) == (0, "pong", client.service_id)
    assert json.loads(pong.payload)["PingInterval"] == 5
    assert feishu_emulator.connections()[0]["pings"] == 1
    client.close()


def test_an_event_is_pushed_acked_and_matches_what_was_emitted(api: Api) -> None:
    client = Client(api.emu)
    assert api.edit(APPROVED, {NOTE: "x"}).json()["code"] == 0
    event, frame, frames = client.next_event()
    hs = headers(frame)
    assert (frames, hs["sum"], hs["seq"], frame.service, frame.method) == (1, "1", "0", client.service_id, 1)
    assert set(hs) == {"type", "message_id", "sum", "seq", "trace_id"}
    assert event == api.emu.events()[0]["event"]
    assert states(api.emu) == ["awaiting_ack"]
    client.ack(frame)
    wait_for(lambda: states(api.emu) == ["acked"], "the ack")
    (attempt,) = api.emu.events()[0]["attempts"]
    assert (attempt["result"], attempt["code"], attempt["message_id"]) == ("acked", 200, hs["message_id"])
    client.close()


@pytest.mark.feishu_emulator(long_connection=FAST)
def test_no_ack_or_an_error_ack_is_pushed_again_then_given_up(api: Api) -> None:
    client = Client(api.emu)
    assert api.edit(APPROVED, {NOTE: "x"}).json()["code"] == 0
    first, frame, _ = client.next_event()
    client.ack(frame, code=500)  # the handler failed
    second, _, _ = client.next_event()  # not acked at all: the ack timeout passes
    assert first == second
    for _ in range(3):
        client.next_event()
    wait_for(lambda: states(api.emu) == ["given_up"], "giving up after 4 retries")
    results = [a["result"] for a in api.emu.events()[0]["attempts"]]
    assert results == ["failed", "timeout", "timeout", "timeout", "timeout"]
    client.close()


@pytest.mark.feishu_emulator(long_connection=FAST)
def test_an_event_emitted_with_no_connection_is_delivered_by_a_retry(api: Api) -> None:
    assert api.edit(APPROVED, {NOTE: "x"}).json()["code"] == 0
    wait_for(lambda: api.emu.events()[0]["attempts"], "the first push")
    client = Client(api.emu)
    _, frame, _ = client.next_event()
    client.ack(frame)
    wait_for(lambda: states(api.emu) == ["acked"], "the ack")
    assert [a["result"] for a in api.emu.events()[0]["attempts"]][-1] == "acked"
    assert api.emu.events()[0]["attempts"][0]["result"] == "no_connection"
    client.close()


def test_fragment_duplicate_and_delay_faults(api: Api) -> None:
    emu = api.emu
    client = Client(emu)
    emu.inject_event_fault("fragment", parts=4)
    emu.inject_event_fault("duplicate", copies=3)
    assert api.edit(APPROVED, {NOTE: "x"}).json()["code"] == 0
    copies = [client.next_event() for _ in range(3)]  # both faults apply to the next event
    assert all(event == emu.events()[0]["event"] and frames == 4 for event, _, frames in copies)
    assert len({headers(ack)["message_id"] for _, ack, _ in copies}) == 3  # each copy its own message, same event_id
    for _, ack, _ in copies:
        client.ack(ack)
    wait_for(lambda: states(emu) == ["acked"], "the acks")
    assert [a["frames"] for a in emu.events()[0]["attempts"]] == [4, 4, 4]
    emu.inject_event_fault("delay", seconds=0.5)
    assert api.edit(PLAIN[0], {NOTE: "y"}).json()["code"] == 0
    with pytest.raises(TimeoutError):
        client.recv(timeout=0.2)
    assert client.next_event()[0]["event"]["offboarding_info_id"] == PLAIN[0]
    client.close()


@pytest.mark.feishu_emulator(long_connection=FAST)
def test_drop_connection_fault_and_route_cut_the_connection(api: Api) -> None:
    emu = api.emu
    client = Client(emu)
    emu.inject_event_fault("drop_connection")
    assert api.edit(APPROVED, {NOTE: "x"}).json()["code"] == 0
    with pytest.raises(sync_client.ConnectionClosed if hasattr(sync_client, "ConnectionClosed") else Exception):
        client.recv()
    wait_for(lambda: not emu.connections(), "the connection to go")
    again = Client(emu)
    event, frame, _ = again.next_event()
    again.ack(frame)
    assert event["event"]["offboarding_info_id"] == APPROVED
    wait_for(lambda: states(emu) == ["acked"], "the retried push acked")
    assert emu.events()[0]["attempts"][0]["result"] == "dropped"
    response = requests.post(f"{emu.base_url}/_emulator/connections/drop", json={}, timeout=10)
    assert response.json() == {"dropped": 1}
    wait_for(lambda: not emu.connections(), "the dropped connection to go")


def _refused(emu: FeishuEmulator) -> dict[str, str]:
    url = endpoint(emu)["data"]["URL"]
    with pytest.raises(Exception) as info:  # websockets' InvalidStatus: the SDK reads the headers of its response
        sync_client.connect(url, open_timeout=10)
    response = info.value.response  # type: ignore[attr-defined]
    return {k: v for k, v in response.headers.items() if k.startswith("handshake-")}


def test_handshake_refusals_carry_the_sdk_headers(feishu_emulator: FeishuEmulator) -> None:
    emu = feishu_emulator
    emu.inject_event_fault("refuse_handshake")
    assert _refused(emu) == {"handshake-status": "500", "handshake-msg": "server error"}
    emu.inject_event_fault("connection_limit")
    limit = {
        "handshake-status": "514",
        "handshake-msg": "exceed connection limit",
        "handshake-autherrcode": "1000040350",
    }
    assert _refused(emu) == limit
    emu.configure_long_connection(max_connections=1)
    first = Client(emu)
    assert _refused(emu) == limit
    first.close()
    wait_for(lambda: not emu.connections(), "the first connection to close")
    Client(emu).close()
    with pytest.raises(Exception) as info:  # a URL serves one connection
        sync_client.connect(first.url, open_timeout=10)
    assert info.value.response.headers["handshake-status"] == "403"  # type: ignore[attr-defined]


@pytest.mark.feishu_emulator(random_seed=7)
def test_each_event_goes_to_one_connection_at_random(api: Api) -> None:
    emu = api.emu
    clients = [Client(emu), Client(emu)]
    wait_for(lambda: len(emu.connections()) == 2, "two connections")
    for n in range(12):
        assert api.edit(PLAIN[n % 5], {NOTE: f"n{n}"}).json()["code"] == 0
    wait_for(lambda: all(e["attempts"] for e in emu.events()), "every push")
    receivers = [e["attempts"][0]["device_id"] for e in emu.events()]
    assert len(receivers) == 12 and all(len(e["attempts"]) == 1 for e in emu.events())
    assert len(set(receivers)) == 2  # both connections got some (seeded choice)
    counts: dict[Any, int] = {c["device_id"]: c["pushed"] for c in emu.connections()}
    assert sorted(counts.values()) == sorted(receivers.count(d) for d in counts)
    for client in clients:
        client.close()
