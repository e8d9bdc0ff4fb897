"""The hand-written ``pbbp2.Frame`` codec against the official SDK's generated protobuf class (the referee)."""

from __future__ import annotations

import pytest

from airflow_provider_feishu_corehr.testing.protobuf_frame import CONTROL, DATA, Frame, FrameError

pb2 = pytest.importorskip("lark_oapi.ws.pb.pbbp2_pb2")


def _sdk(frame: Frame) -> object:
    parsed = pb2.Frame()
    parsed.ParseFromString(frame.encode())
    return parsed


def test_a_data_frame_parses_in_the_sdk_field_by_field() -> None:
    headers = [("type", "event"), ("message_id", "m1"), ("sum", "2"), ("seq", "1"), ("trace_id", "t")]
    frame = Frame(2**64 - 1, 123456789012345, 33554678, DATA, headers, "json", "event", b'{"a": "\xc3\xa9"}', "L1")
    parsed = _sdk(frame)
    assert (parsed.SeqID, parsed.LogID, parsed.service, parsed.method) == (2**64 - 1, 123456789012345, 33554678, 1)
    assert [(h.key, h.value) for h in parsed.headers] == headers
    assert (parsed.payload_encoding, parsed.payload_type, parsed.LogIDNew) == ("json", "event", "L1")
    assert parsed.payload == frame.payload


def test_required_zero_fields_and_a_negative_service_survive() -> None:
    parsed = _sdk(Frame(0, 0, -5, CONTROL, [("type", "ping")]))
    assert (parsed.SeqID, parsed.LogID, parsed.service, parsed.method) == (0, 0, -5, 0)
    assert not parsed.HasField("payload")


def test_frames_the_sdk_writes_decode_here() -> None:
    sdk = pb2.Frame()
    sdk.SeqID, sdk.LogID, sdk.service, sdk.method = 7, 8, -1, 1
    for key, value in (("type", "event"), ("biz_rt", "3")):
        header = sdk.headers.add()
        header.key, header.value = key, value
    sdk.payload = b'{"code": 200}'
    frame = Frame.decode(sdk.SerializeToString())
    assert frame == Frame(7, 8, -1, DATA, [("type", "event"), ("biz_rt", "3")], payload=b'{"code": 200}')
    assert frame.header("biz_rt") == "3" and frame.header("nope") is None
    assert Frame.decode(frame.encode()) == frame


def test_unknown_fields_are_skipped() -> None:
    data = Frame(1, 2, 3, DATA).encode() + bytes([0x50, 0x05, 0x5D, 1, 2, 3, 4, 0x61]) + bytes(8)  # fields 10, 11, 12
    assert Frame.decode(data) == Frame(1, 2, 3, DATA)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x08\x01\x10\x02\x18\x03", r"required field\(s\) \[4\] missing"),
        (b"\x08", "truncated varint"),
        (b"\x08" + b"\xff" * 11, "longer than ten bytes"),
        (Frame().encode() + b"\x2a\x05ab", "runs past the end"),
        (Frame().encode() + b"\x2a\x02\x0a\x00", "needs both key and value"),
        (Frame().encode() + b"\x42\x02\xff\xfe"[:0] + b"\x4a\x01\xff", "not UTF-8"),
        (b"\x0b", "unsupported wire type 3"),
        (b"\x0a\x00", "must be a varint"),
    ],
)
def test_malformed_bytes_raise_frame_error(data: bytes, message: str) -> None:
    with pytest.raises(FrameError, match=message):
        Frame.decode(data)
