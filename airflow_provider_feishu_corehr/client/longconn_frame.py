"""The long connection's frame (``pbbp2.Frame``, protobuf proto2) encoded and decoded by hand: nine fields, the
standard library only (docs/api-facts.md, "Long connection"; docs/events.md, "Push: how it is built").

Field numbers and types, as the official SDK's ``pbbp2.proto`` declares them: 1 ``SeqID`` uint64, 2 ``LogID``
uint64, 3 ``service`` int32, 4 ``method`` int32 (the four required), 5 ``headers`` repeated ``Header`` (1 ``key``,
2 ``value``, strings), 6 ``payload_encoding`` string, 7 ``payload_type`` string, 8 ``payload`` bytes, 9
``LogIDNew`` string. Unknown fields are skipped when decoding; optional fields absent stay ``None`` and are not
written back, so an acknowledgement carries exactly the fields the server sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from airflow_provider_feishu_corehr.client.errors import FeishuError

CONTROL = 0
"""``method`` of a control frame (ping, pong)."""
DATA = 1
"""``method`` of a data frame (an event)."""

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5
_U64 = (1 << 64) - 1


class FrameError(FeishuError):
    """A WebSocket message that is not a well-formed frame (the message itself is not kept)."""


@dataclass(frozen=True)
class Frame:
    """One frame of the long connection.

    :param seq_id: ``SeqID``.
    :param log_id: ``LogID``.
    :param service: ``service`` (the URL's ``service_id`` in pings).
    :param method: :data:`CONTROL` or :data:`DATA`.
    :param headers: ``(key, value)`` pairs, in order (keys may repeat).
    :param payload_encoding: ``payload_encoding`` or ``None`` (absent).
    :param payload_type: ``payload_type`` or ``None``.
    :param payload: ``payload`` or ``None``.
    :param log_id_new: ``LogIDNew`` or ``None``.
    """

    seq_id: int = 0
    log_id: int = 0
    service: int = 0
    method: int = CONTROL
    headers: tuple[tuple[str, str], ...] = ()
    payload_encoding: str | None = None
    payload_type: str | None = None
    payload: bytes | None = field(default=None, repr=False)
    log_id_new: str | None = None

    def header(self, key: str) -> str | None:
        """The first value of header ``key``, or ``None``.

        :param key: the header's key.
        """
        return next((value for name, value in self.headers if name == key), None)


def _varint(value: int) -> bytes:
    value &= _U64  # negative int32/int64 are written as 10-byte two's complement, as protobuf does
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _bytes(number: int, data: bytes) -> bytes:
    return _key(number, _LEN) + _varint(len(data)) + data


def _text(number: int, text: str) -> bytes:
    return _bytes(number, text.encode("utf-8"))


def encode(frame: Frame) -> bytes:
    """The frame's protobuf bytes (fields in number order).

    :param frame: the frame.
    """
    out = bytearray()
    for number, value in ((1, frame.seq_id), (2, frame.log_id), (3, frame.service), (4, frame.method)):
        out += _key(number, _VARINT) + _varint(value)
    for name, text in frame.headers:
        out += _bytes(5, _text(1, name) + _text(2, text))
    if frame.payload_encoding is not None:
        out += _text(6, frame.payload_encoding)
    if frame.payload_type is not None:
        out += _text(7, frame.payload_type)
    if frame.payload is not None:
        out += _bytes(8, frame.payload)
    if frame.log_id_new is not None:
        out += _text(9, frame.log_id_new)
    return bytes(out)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def varint(self) -> int:
        value = shift = 0
        while True:
            if self.at >= len(self.data) or shift > 63:
                raise FrameError("frame: truncated or overlong varint")
            byte = self.data[self.at]
            self.at += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value & _U64
            shift += 7

    def take(self, size: int) -> bytes:
        if size < 0 or self.at + size > len(self.data):
            raise FrameError("frame: a field runs past the end of the message")
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk

    def fields(self) -> list[tuple[int, int | bytes]]:
        found: list[tuple[int, int | bytes]] = []
        while self.at < len(self.data):
            key = self.varint()
            number, wire = key >> 3, key & 7
            if wire == _VARINT:
                found.append((number, self.varint()))
            elif wire == _LEN:
                found.append((number, self.take(self.varint())))
            elif wire == _I64:
                self.take(8)
            elif wire == _I32:
                self.take(4)
            else:
                raise FrameError(f"frame: field {number} has unsupported wire type {wire}")
        return found


def _int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def _as_text(number: int, value: int | bytes) -> str:
    if not isinstance(value, bytes):
        raise FrameError(f"frame: field {number} should be a string")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise FrameError(f"frame: field {number} is not UTF-8") from None


def _header(data: bytes) -> tuple[str, str]:
    key = value = ""
    for number, item in _Reader(data).fields():
        if number == 1:
            key = _as_text(1, item)
        elif number == 2:
            value = _as_text(2, item)
    return key, value


def decode(data: bytes) -> Frame:
    """The frame in ``data``.

    :param data: one binary WebSocket message.
    :raises FrameError: not a well-formed frame (names the field, never the content).
    """
    ints: dict[int, int] = {}
    texts: dict[int, str] = {}
    headers: list[tuple[str, str]] = []
    payload: bytes | None = None
    for number, value in _Reader(bytes(data)).fields():
        if number in (1, 2, 3, 4):
            if not isinstance(value, int):
                raise FrameError(f"frame: field {number} should be a number")
            ints[number] = value
        elif number == 5:
            if not isinstance(value, bytes):
                raise FrameError("frame: field 5 (headers) should be a message")
            headers.append(_header(value))
        elif number in (6, 7, 9):
            texts[number] = _as_text(number, value)
        elif number == 8:
            if not isinstance(value, bytes):
                raise FrameError("frame: field 8 (payload) should be bytes")
            payload = value
    missing = [n for n in (1, 2, 3, 4) if n not in ints]
    if missing:
        raise FrameError(f"frame: required field(s) {missing} missing")
    return Frame(
        seq_id=ints[1],
        log_id=ints[2],
        service=_int32(ints[3]),
        method=_int32(ints[4]),
        headers=tuple(headers),
        payload_encoding=texts.get(6),
        payload_type=texts.get(7),
        payload=payload,
        log_id_new=texts.get(9),
    )


def ping(service_id: int) -> Frame:
    """The client's ping: a control frame with header ``type: ping`` and the URL's ``service_id``.

    :param service_id: the ``service_id`` of the connection URL's query.
    """
    return Frame(service=service_id, method=CONTROL, headers=(("type", "ping"),))


def acknowledgement(frame: Frame, code: int, handling_ms: int) -> Frame:
    """The answer to a data frame: the frame itself with header ``biz_rt`` (handling time, ms) added and the
    payload replaced by JSON ``{"code": code}`` (200: handled; 500: failed, Feishu pushes it again).

    :param frame: the received data frame (for a fragmented message, its last fragment).
    :param code: 200 or 500.
    :param handling_ms: milliseconds from receipt to the answer.
    """
    body = json.dumps({"code": code}, separators=(",", ":")).encode("utf-8")
    return replace(frame, headers=(*frame.headers, ("biz_rt", str(max(0, handling_ms)))), payload=body)
