"""The HTTP adapter: a threaded stdlib server on loopback speaking HTTP/1.1 with keep-alive.

Each response is written with one ``sendall`` (headers and body together, Nagle off), so clients that reuse a
connection (``requests.Session``, ``httpx``) get no delayed-ACK stalls; the ``drip`` and ``huge_body`` faults are
the exceptions (one byte at a time; a body made while sending). Nothing is logged: bodies and headers carry tokens
and personal data. With an :class:`ssl.SSLContext` the server speaks HTTPS; each connection's TLS handshake runs in
its own handler thread, so a client that never completes it cannot stall the others. A WebSocket upgrade
(the long connection, :mod:`.longconn`) keeps its handler thread and socket until the connection ends.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from airflow_provider_feishu_corehr.testing import websocket, wire
from airflow_provider_feishu_corehr.testing.faults import DripResponse, HugeResponse

Service = Callable[[wire.Request], wire.Response]
Upgrade = Callable[[wire.Request, Any, Any, Callable[[], None]], None]
"""Serves a WebSocket upgrade request to its end: (request, reader, writer, abort)."""
_LINGER_RESET = struct.pack("ii", 1, 0)
_HANDSHAKE_SECONDS = 5.0
_HUGE_CHUNK = b" " * 65536


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        service: Service,
        ssl_context: ssl.SSLContext | None = None,
        upgrade: Upgrade | None = None,
    ) -> None:
        self.service = service
        self.upgrade = upgrade
        self.connections: set[socket.socket] = set()
        self.connections_opened = 0
        self.connections_lock = threading.Lock()
        self.closing = threading.Event()
        super().__init__(address, _Handler)
        if ssl_context is not None:
            self.socket = ssl_context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-request is normal here (timeouts, resets): stay quiet about it."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Shut down the open keep-alive connections so no handler thread keeps serving after stop."""
        self.closing.set()
        with self.connections_lock:
            open_now = list(self.connections)
        for conn in open_now:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FeishuEmulator/1.0"
    sys_version = ""
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(_HANDSHAKE_SECONDS)
            self.request.do_handshake()  # an OSError here (client refused our certificate) ends this connection
            self.request.settimeout(None)
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)
            self.server.connections_opened += 1

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the stdlib access log (it would print paths and client addresses on stderr)."""

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailer headers, then the empty line
                pass
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        body = self._body()
        url = urlsplit(self.path)
        request = wire.Request(
            method=self.command,
            path=url.path,
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            headers={key.lower(): value for key, value in self.headers.items()},
            body=body,
        )
        if self.server.upgrade is not None and websocket.is_upgrade(request.headers):
            self.close_connection = True
            sock = self.connection
            self.server.upgrade(request, self.rfile, self.wfile, lambda: sock.shutdown(socket.SHUT_RDWR))
            return
        response = self.server.service(request)
        if response.drop_connection:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
            self.close_connection = True
            self.connection.close()
            return
        self._write(response)

    def _head(self, response: wire.Response, length: str | None) -> bytes:
        reason = self.responses.get(response.status, ("",))[0]
        lines = [
            f"HTTP/1.1 {response.status} {reason}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked",
            f"Date: {self.date_time_string()}",
            *(f"{name}: {value}" for name, value in response.headers.items()),
        ]
        if self.close_connection:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _write(self, response: wire.Response) -> None:
        if isinstance(response, HugeResponse):
            self._write_huge(response)
            return
        head = self._head(response, str(len(response.body)))
        if isinstance(response, DripResponse):
            self.close_connection = True
            head = self._head(response, str(len(response.body)))  # with "Connection: close"
            slow = head + response.body if response.drip_headers else response.body
            if not response.drip_headers:
                self.wfile.write(head)
            for index in range(len(slow)):
                if self.server.closing.wait(response.drip_seconds):
                    return
                self.wfile.write(slow[index : index + 1])
            return
        self.wfile.write(head + (b"" if self.command == "HEAD" else response.body))

    def _write_huge(self, response: HugeResponse) -> None:
        """Send ``size`` bytes made on the fly, until done, the client hangs up or the server stops."""
        self.close_connection = True
        self.wfile.write(self._head(response, None if response.chunked else str(response.size)))
        left = response.size
        while left > 0 and not self.server.closing.is_set():
            piece = _HUGE_CHUNK[: min(left, len(_HUGE_CHUNK))]
            framed = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if response.chunked else piece
            self.wfile.write(framed)
            left -= len(piece)
        if response.chunked and left <= 0:
            self.wfile.write(b"0\r\n\r\n")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve
