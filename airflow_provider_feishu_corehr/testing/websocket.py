"""The server side of the WebSocket protocol (RFC 6455) on the emulator's threaded HTTP server.

The emulator serves HTTP with the standard library's threaded server; a WebSocket upgrade keeps its handler
thread and socket, so the long connection needs no second server, port or event loop, and no dependency
(``websockets`` is not installed with Airflow 2.11). What is implemented is what a client such as ``websockets``
needs: the handshake (``Sec-WebSocket-Accept``; no extension or subprotocol is accepted, so messages are never
compressed), reading masked client frames (continuations joined, 16- and 64-bit lengths), answering pings,
the closing handshake, and writing unmasked frames under a lock (several threads may send on one connection).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import struct
import threading
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
MAX_MESSAGE = 16 * 1024 * 1024


class WebSocketClosed(Exception):
    """The peer closed the connection (close frame, end of stream or a protocol error)."""


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for the client's ``Sec-WebSocket-Key``.

    :param key: the request's ``Sec-WebSocket-Key`` header.
    """
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def is_upgrade(headers: Mapping[str, str]) -> bool:
    """Whether a request (lower-case header names) asks for a WebSocket upgrade.

    :param headers: the request headers, names in lower case.
    """
    return headers.get("upgrade", "").lower() == "websocket" and "upgrade" in headers.get("connection", "").lower()


def accept_response(headers: dict[str, str]) -> bytes | None:
    """The ``101 Switching Protocols`` answer, or None when the upgrade request is malformed.

    :param headers: the request headers, names in lower case.
    """
    key = headers.get("sec-websocket-key", "")
    if headers.get("sec-websocket-version") != "13" or len(base64.b64decode(key + "==")[:16]) != 16:
        return None
    lines = [
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Accept: {accept_key(key)}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _read_exactly(rfile: BinaryIO, size: int) -> bytes:
    data = rfile.read(size) if size else b""
    if len(data) != size:
        raise WebSocketClosed("end of stream")
    return data


class Connection:
    """One upgraded connection: :meth:`receive` binary/text messages, :meth:`send` them, :meth:`close`.

    :param rfile: the socket's buffered reader.
    :param wfile: the socket's writer.
    :param abort: ends the connection at once, without a closing handshake (shuts the socket down).
    """

    def __init__(self, rfile: BinaryIO, wfile: BinaryIO, abort: Callable[[], None]) -> None:
        self._rfile, self._wfile, self._abort = rfile, wfile, abort
        self._lock = threading.Lock()
        self.closed = False

    def _frame(self) -> tuple[bool, int, bytes]:
        first, second = _read_exactly(self._rfile, 2)
        fin, opcode, masked, length = bool(first & 0x80), first & 0x0F, bool(second & 0x80), second & 0x7F
        if first & 0x70 or not masked:
            raise WebSocketClosed("protocol error: reserved bits set or client frame not masked")
        if length == 126:
            length = struct.unpack("!H", _read_exactly(self._rfile, 2))[0]
        elif length == 127:
            length = struct.unpack("!Q", _read_exactly(self._rfile, 8))[0]
        if length > MAX_MESSAGE:
            raise WebSocketClosed("message too big")
        mask = _read_exactly(self._rfile, 4)
        data = _read_exactly(self._rfile, length)
        return fin, opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(data))

    def receive(self) -> bytes:
        """The next data message (text as UTF-8 bytes); answers pings on the way; raises WebSocketClosed."""
        parts: list[bytes] = []
        while True:
            fin, opcode, data = self._frame()
            if opcode == PING:
                self.send(data, PONG)
            elif opcode == PONG:
                continue
            elif opcode == CLOSE:
                self.close(data[:2] if len(data) >= 2 else b"")
                raise WebSocketClosed("closed by the peer")
            elif opcode in (TEXT, BINARY, CONTINUATION):
                parts.append(data)
                if sum(len(p) for p in parts) > MAX_MESSAGE:
                    raise WebSocketClosed("message too big")
                if fin:
                    return b"".join(parts)
            else:
                raise WebSocketClosed(f"protocol error: opcode {opcode}")

    def send(self, data: bytes, opcode: int = BINARY) -> None:
        """Send one unfragmented frame; raises WebSocketClosed when the connection is gone.

        :param data: the payload.
        :param opcode: :data:`BINARY` (default), :data:`TEXT`, or a control opcode.
        """
        size = len(data)
        head = bytes([0x80 | opcode])
        if size < 126:
            head += bytes([size])
        elif size < 1 << 16:
            head += bytes([126]) + struct.pack("!H", size)
        else:
            head += bytes([127]) + struct.pack("!Q", size)
        with self._lock:
            if self.closed and opcode != CLOSE:
                raise WebSocketClosed("connection closed")
            try:
                self._wfile.write(head + data)
                self._wfile.flush()
            except (OSError, ValueError):
                self.closed = True
                raise WebSocketClosed("connection lost") from None

    def close(self, code: bytes = struct.pack("!H", 1000)) -> None:
        """Send a close frame once (errors ignored: the peer may be gone).

        :param code: the close frame's payload (a two-byte status code).
        """
        if self.closed:
            return
        with contextlib.suppress(WebSocketClosed):
            self.send(code, CLOSE)
        self.closed = True

    def abort(self) -> None:
        """End the connection at once, as a network failure would: no close frame, the socket shut down."""
        self.closed = True
        with contextlib.suppress(OSError):
            self._abort()
