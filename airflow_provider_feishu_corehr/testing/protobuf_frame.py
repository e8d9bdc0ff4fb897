"""The long connection's frame, ``pbbp2.Frame`` (proto2), encoded and decoded by hand.

Each WebSocket message of Feishu's long connection is one protobuf message (see ``docs/api-facts.md``, "Long
connection")::

    message Header { required string key = 1; required string value = 2; }
    message Frame {
      required uint64 SeqID = 1;  required uint64 LogID = 2;  required int32 service = 3;
      required int32 method = 4;  repeated Header headers = 5;
      optional string payload_encoding = 6;  optional string payload_type = 7;
      optional bytes payload = 8;  optional string LogIDNew = 9;
    }

The message has nine fields of three wire types, so this module writes the protobuf wire format itself (varint
fields, wire type 0; length-delimited fields, wire type 2) instead of compiling a ``.proto`` (no ``protoc`` here)
or depending on the ``protobuf`` runtime (the emulator has no dependency beyond the standard library). The
required fields are always written, even when zero, because a proto2 parser refuses a message without them.
Decoding skips fields it does not know (wire types 0, 1, 2, 5), as protobuf parsers do.
``tests/testing/test_events_frame.py`` checks both directions against the official SDK's generated class.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CONTROL, DATA = 0, 1  # Frame.method
_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5
_U64 = (1 << 64) - 1


class FrameError(ValueError):
    """Bytes that are not a well-formed ``Frame``."""


@dataclass
class Frame:
    """One frame: ids, service, method (:data:`CONTROL` or :data:`DATA`), headers in order, payload."""

    seq_id: int = 0
    log_id: int = 0
    service: int = 0
    method: int = CONTROL
    headers: list[tuple[str, str]] = field(default_factory=list)
    payload_encoding: str | None = None
    payload_type: str | None = None
    payload: bytes | None = None
    log_id_new: str | None = None

    def header(self, key: str) -> str | None:
        """The first header named ``key``, or None.

        :param key: header name (``type``, ``message_id``, ``sum``, ``seq``, ...).
        """
        return next((value for name, value in self.headers if name == key), None)

    def encode(self) -> bytes:
        """The protobuf wire bytes of this frame."""
        out = bytearray()
        _put_varint_field(out, 1, self.seq_id & _U64)
        _put_varint_field(out, 2, self.log_id & _U64)
        _put_varint_field(out, 3, self.service & _U64)  # int32: a negative value takes ten bytes
        _put_varint_field(out, 4, self.method & _U64)
        for key, value in self.headers:
            inner = bytearray()
            _put_len_field(inner, 1, key.encode())
            _put_len_field(inner, 2, value.encode())
            _put_len_field(out, 5, bytes(inner))
        for number, text in ((6, self.payload_encoding), (7, self.payload_type)):
            if text is not None:
                _put_len_field(out, number, text.encode())
        if self.payload is not None:
            _put_len_field(out, 8, self.payload)
        if self.log_id_new is not None:
            _put_len_field(out, 9, self.log_id_new.encode())
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Frame:
        """Parse wire bytes; raises :class:`FrameError` on malformed input or a missing required field.

        :param data: one WebSocket message.
        """
        frame, seen = cls(), set()
        for number, value in _fields(data):
            seen.add(number)
            if number in (1, 2, 3, 4):
                if not isinstance(value, int):
                    raise FrameError(f"field {number} must be a varint")
                if number == 1:
                    frame.seq_id = value
                elif number == 2:
                    frame.log_id = value
                else:
                    signed = value - (1 << 64) if value >= 1 << 63 else value
                    setattr(frame, "service" if number == 3 else "method", signed)
            elif number == 5:
                frame.headers.append(_header(_as_bytes(number, value)))
            elif number == 8:
                frame.payload = _as_bytes(number, value)
            elif number in (6, 7, 9):
                text = _text(number, value)
                attr = {6: "payload_encoding", 7: "payload_type", 9: "log_id_new"}[number]
                setattr(frame, attr, text)
        missing = sorted({1, 2, 3, 4} - seen)
        if missing:
            raise FrameError(f"required field(s) {missing} missing")
        return frame


def _put_varint(out: bytearray, value: int) -> None:
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return


def _put_varint_field(out: bytearray, number: int, value: int) -> None:
    _put_varint(out, number << 3 | _VARINT)
    _put_varint(out, value)


def _put_len_field(out: bytearray, number: int, value: bytes) -> None:
    _put_varint(out, number << 3 | _LEN)
    _put_varint(out, len(value))
    out += value


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise FrameError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result & _U64, pos
        shift += 7
        if shift >= 70:
            raise FrameError("varint longer than ten bytes")


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    found: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise FrameError("field number 0")
        if wire_type == _VARINT:
            value, pos = _read_varint(data, pos)
            found.append((number, value))
        elif wire_type == _LEN:
            size, pos = _read_varint(data, pos)
            if pos + size > len(data):
                raise FrameError(f"field {number} runs past the end")
            found.append((number, data[pos : pos + size]))
            pos += size
        elif wire_type in (_I64, _I32):
            pos += 8 if wire_type == _I64 else 4
            if pos > len(data):
                raise FrameError(f"field {number} runs past the end")
        else:
            raise FrameError(f"field {number}: unsupported wire type {wire_type}")
    return found


def _as_bytes(number: int, value: int | bytes) -> bytes:
    if not isinstance(value, bytes):
        raise FrameError(f"field {number} must be length-delimited")
    return value


def _text(number: int, value: int | bytes) -> str:
    try:
        return _as_bytes(number, value).decode()
    except UnicodeDecodeError:
        raise FrameError(f"field {number} is not UTF-8 text") from None


def _header(data: bytes) -> tuple[str, str]:
    key = value = None
    for number, item in _fields(data):
        if number == 1:
            key = _text(number, item)
        elif number == 2:
            value = _text(number, item)
    if key is None or value is None:
        raise FrameError("a header needs both key and value")
    return key, value
