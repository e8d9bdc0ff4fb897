"""The long connection's frame codec (client/longconn_frame.py) against an independent encoder: the protobuf
runtime (Airflow's dependency tree has it) with ``pbbp2.Frame`` declared from the SDK's field table; and the
protocol rules of client/longconn.py (endpoint answer, configuration and waits, refused handshakes, fragments)."""

from __future__ import annotations

import json

import pytest

from airflow_provider_feishu_corehr.client.errors import FeishuTransientError
from airflow_provider_feishu_corehr.client.longconn import (
    FRAGMENT_SECONDS,
    ClientConfig,
    Fragments,
    LongConnectionRefused,
    handshake_refusal,
    parse_endpoint,
)
from airflow_provider_feishu_corehr.client.longconn_frame import (
    CONTROL,
    DATA,
    Frame,
    FrameError,
    acknowledgement,
    decode,
    encode,
    ping,
)


def _pb_frame_class() -> type:
    """``pbbp2.Frame`` built by the protobuf runtime from its field table (public API: descriptor_pb2,
    descriptor_pool, message_factory)."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    fdp = descriptor_pb2.FileDescriptorProto(name="pbbp2_test.proto", package="pbbp2test", syntax="proto2")
    header = fdp.message_type.add(name="Header")
    for number, name in ((1, "key"), (2, "value")):
        header.field.add(name=name, number=number, type=9, label=2)
    frame = fdp.message_type.add(name="Frame")
    for number, name, kind, label in (
        (1, "SeqID", 4, 2),
        (2, "LogID", 4, 2),
        (3, "service", 5, 2),
        (4, "method", 5, 2),
        (6, "payload_encoding", 9, 1),
        (7, "payload_type", 9, 1),
        (8, "payload", 12, 1),
        (9, "LogIDNew", 9, 1),
    ):
        frame.field.add(name=name, number=number, type=kind, label=label)
    frame.field.add(name="headers", number=5, type=11, label=3, type_name=".pbbp2test.Header")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("pbbp2test.Frame"))  # type: ignore[no-any-return]


def test_frames_round_trip_through_the_protobuf_runtime() -> None:
    pb = _pb_frame_class()
    payload = json.dumps({"schema": "2.0", "header": {"event_id": "e1"}, "event": {"名": "值"}}).encode()
    ours = Frame(
        seq_id=2**63 + 5,
        log_id=7,
        service=-3,
        method=DATA,
        headers=(("type", "event"), ("message_id", "m1"), ("sum", "1"), ("seq", "0"), ("trace_id", "t")),
        payload_type="json",
        payload=payload,
        log_id_new="ln",
    )
    theirs = pb()
    theirs.ParseFromString(encode(ours))
    assert (theirs.SeqID, theirs.LogID, theirs.service, theirs.method) == (2**63 + 5, 7, -3, DATA)
    assert [(h.key, h.value) for h in theirs.headers] == list(ours.headers)
    assert theirs.payload == payload and theirs.payload_type == "json" and theirs.LogIDNew == "ln"
    assert not theirs.HasField("payload_encoding")  # absent stays absent
    assert decode(theirs.SerializeToString()) == ours
    assert decode(encode(ours)) == ours

    control = pb(SeqID=0, LogID=0, service=11, method=CONTROL)
    control.headers.add(key="type", value="pong")
    assert decode(control.SerializeToString()) == Frame(service=11, method=CONTROL, headers=(("type", "pong"),))


def test_ping_and_acknowledgement_are_what_the_sdk_sends() -> None:
    pb = _pb_frame_class()
    sent = pb()
    sent.ParseFromString(encode(ping(42)))
    assert (sent.service, sent.method, [(h.key, h.value) for h in sent.headers]) == (42, CONTROL, [("type", "ping")])
    assert sent.IsInitialized()  # the required fields are written even at zero

    received = Frame(
        seq_id=9, log_id=8, service=3, method=DATA, headers=(("type", "event"), ("sum", "1")), payload=b"{}"
    )
    ack = decode(encode(acknowledgement(received, 200, 12)))
    assert (ack.seq_id, ack.log_id, ack.service, ack.method) == (9, 8, 3, DATA)
    assert ack.headers == (("type", "event"), ("sum", "1"), ("biz_rt", "12"))
    assert json.loads(ack.payload or b"") == {"code": 200}


@pytest.mark.parametrize("data", [b"\x08", b"\x08\x01\x10\x01\x18\x01", b"\x42\x05ab", b"\x0f"])
def test_malformed_frames_are_refused_with_a_typed_error(data: bytes) -> None:
    with pytest.raises(FrameError):
        decode(data)


def test_endpoint_answer_and_client_configuration() -> None:
    body = {
        "code": 0,
        "data": {
            "URL": "wss://ws.example/ws?device_id=d1&service_id=17&access_key=x",
            "ClientConfig": {"ReconnectCount": 3, "ReconnectInterval": 0, "ReconnectNonce": 9999, "PingInterval": 15},
        },
    }
    endpoint = parse_endpoint(200, json.dumps(body).encode(), ClientConfig())
    assert (endpoint.service_id, endpoint.device_id) == (17, "d1")
    assert endpoint.config == ClientConfig(
        reconnect_count=3, reconnect_interval=1.0, reconnect_nonce=300.0, ping_interval=15.0
    )  # bounded: 0 -> 1 s, 9999 -> 300 s
    assert list(endpoint.config.reconnect_waits(lambda: 0.5)) == [150.0, 1.0, 1.0]
    forever = ClientConfig().reconnect_waits(lambda: 0.0)
    assert [next(forever) for _ in range(4)] == [0.0, 120.0, 120.0, 120.0]
    with pytest.raises(FeishuTransientError):
        parse_endpoint(200, b'{"code": 1, "msg": "system busy"}', ClientConfig())
    with pytest.raises(FeishuTransientError):
        parse_endpoint(502, b"<html>", ClientConfig())
    with pytest.raises(LongConnectionRefused) as refused:
        parse_endpoint(200, b'{"code": 10014, "msg": "app secret invalid"}', ClientConfig())
    assert refused.value.code == 10014


def test_refused_handshake_meaning() -> None:
    limit = handshake_refusal(
        400, {"handshake-status": "514", "handshake-msg": "x", "handshake-autherrcode": "1000040350"}
    )
    assert isinstance(limit, LongConnectionRefused) and limit.code == 1000040350
    assert isinstance(handshake_refusal(403, {"handshake-status": "403", "handshake-msg": "no"}), LongConnectionRefused)
    other = handshake_refusal(500, {"handshake-status": "514", "handshake-msg": "auth", "handshake-autherrcode": "1"})
    assert isinstance(other, FeishuTransientError)
    assert isinstance(handshake_refusal(502, {}), FeishuTransientError)


def test_fragments_join_in_seq_order_and_expire() -> None:
    now = [0.0]
    parts = Fragments(clock=lambda: now[0])
    assert parts.add("m", 1, 0, b"whole") == b"whole"
    assert parts.add("m2", 3, 2, b"c") is None
    assert parts.add("m2", 3, 0, b"a") is None
    assert parts.add("m2", 3, 1, b"b") == b"abc"
    assert parts.add("m3", 2, 0, b"x") is None
    now[0] = FRAGMENT_SECONDS + 1
    assert parts.add("m4", 2, 0, b"y") is None
    assert parts.dropped == 1  # m3 expired
    assert parts.add("m3", 2, 1, b"z") is None  # its first part is gone: waits again, never joined wrongly
    with pytest.raises(ValueError):
        parts.add("m5", 2, 2, b"")
