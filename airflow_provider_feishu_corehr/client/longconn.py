"""The long connection's rules, without I/O (docs/api-facts.md, "Long connection"): the endpoint request and its
answer, the client configuration and the reconnection waits it gives, a refused handshake's meaning, and the joining
of fragmented payloads. The I/O is :mod:`.longconn_session`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from airflow_provider_feishu_corehr.client.errors import FeishuAuthError, FeishuError, FeishuTransientError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from airflow_provider_feishu_corehr.client.models import ClientSettings

ENDPOINT_PATH = "/callback/ws/endpoint"
SERVER_CODES = frozenset({1, 1000040343})
"""Endpoint answer codes that are the server's (system busy, internal error): retried; any other is the client's."""
AUTH_FAILED, FORBIDDEN = 514, 403
EXCEEDED_CONNECTIONS = 1000040350
"""``handshake-autherrcode`` of an app that holds its 50 connections already."""

MAX_NONCE = 300.0
"""Most seconds of the random wait before the first reconnection attempt, whatever the server says."""
MAX_INTERVAL = 600.0
"""Most seconds between two reconnection attempts."""
MIN_INTERVAL = 1.0
"""Fewest seconds between two attempts (a server answering 0 must not make the client spin)."""
MAX_PING = 600.0
MIN_PING = 1.0

FRAGMENT_SECONDS = 5.0
"""A fragmented message whose parts did not all arrive within this many seconds is dropped (as the SDK does)."""
MAX_PENDING_MESSAGES = 100
"""Most fragmented messages waiting for parts at once; the oldest is dropped beyond."""


class LongConnectionRefused(FeishuAuthError):
    """Feishu refused the app's long connection for a reason of the client (credentials, permission, connection
    limit): reconnecting at once cannot help.

    :param msg: what was refused, with Feishu's code (never a secret).
    """


def endpoint_body(settings: ClientSettings) -> bytes:
    """The endpoint request's JSON body (it carries the App Secret: never log it).

    :param settings: the connection's settings (``app_id``, ``app_secret``).
    """
    return json.dumps({"AppID": settings.app_id, "AppSecret": settings.app_secret}).encode("utf-8")


@dataclass(frozen=True)
class ClientConfig:
    """What the server tells the client (endpoint answer and pongs); the SDK's defaults before any.

    :param reconnect_count: reconnection attempts after a drop (negative: no limit).
    :param reconnect_interval: seconds between two attempts.
    :param reconnect_nonce: upper bound of the random wait before the first attempt, seconds.
    :param ping_interval: seconds between two pings.
    """

    reconnect_count: int = -1
    reconnect_interval: float = 120.0
    reconnect_nonce: float = 30.0
    ping_interval: float = 120.0

    def updated(self, data: Any) -> ClientConfig:
        """This configuration with the keys of ``data`` (``ClientConfig`` JSON) that hold numbers; bounded to
        :data:`MIN_INTERVAL`-:data:`MAX_INTERVAL`, 0-:data:`MAX_NONCE` and :data:`MIN_PING`-:data:`MAX_PING`.

        :param data: the decoded ``ClientConfig`` object (anything else leaves the configuration as it is).
        """
        if not isinstance(data, dict):
            return self

        def number(key: str, old: float, low: float, high: float) -> float:
            value = data.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                return old
            return float(min(max(value, low), high))

        count = data.get("ReconnectCount")
        return ClientConfig(
            reconnect_count=count if isinstance(count, int) and not isinstance(count, bool) else self.reconnect_count,
            reconnect_interval=number("ReconnectInterval", self.reconnect_interval, MIN_INTERVAL, MAX_INTERVAL),
            reconnect_nonce=number("ReconnectNonce", self.reconnect_nonce, 0.0, MAX_NONCE),
            ping_interval=number("PingInterval", self.ping_interval, MIN_PING, MAX_PING),
        )

    def reconnect_waits(self, random: Callable[[], float]) -> Iterator[float]:
        """Seconds to wait before each reconnection attempt after a drop: a random part of the nonce, then the
        interval between attempts; ``reconnect_count`` waits in all (no end when negative).

        :param random: a number in [0, 1).
        """
        attempt = 0
        while self.reconnect_count < 0 or attempt < self.reconnect_count:
            yield random() * self.reconnect_nonce if attempt == 0 else self.reconnect_interval
            attempt += 1


@dataclass(frozen=True)
class Endpoint:
    """Where to connect (the endpoint answer).

    :param url: the ``wss://`` (or ``ws://`` for a loopback emulator) address; its query carries ids, not secrets.
    :param service_id: the URL's ``service_id`` (sent in pings).
    :param device_id: the URL's ``device_id`` (the connection's id, for logs).
    :param config: the client configuration the answer carried (or the previous one).
    """

    url: str = field(repr=False)
    service_id: int
    device_id: str
    config: ClientConfig


def parse_endpoint(status: int, body: bytes, config: ClientConfig) -> Endpoint:
    """The endpoint answer read.

    :param status: the HTTP status.
    :param body: the answer's body.
    :param config: the configuration before this answer.
    :raises FeishuTransientError: a server error (HTTP status not 200, code 1 or 1000040343, an unreadable answer).
    :raises LongConnectionRefused: any other code (wrong App ID or App Secret, app not allowed).
    """
    endpoint = "longconn_endpoint"
    if status != 200:
        raise FeishuTransientError("long-connection endpoint answered an error", http_status=status, endpoint=endpoint)
    try:
        answer = json.loads(body)
        code = answer["code"]
    except (ValueError, TypeError, KeyError):
        raise FeishuTransientError("long-connection endpoint: unreadable answer", endpoint=endpoint) from None
    msg = str(answer.get("msg") or "")[:200]
    if code in SERVER_CODES:
        raise FeishuTransientError(f"long-connection endpoint busy: {msg}", code=code, endpoint=endpoint)
    if code != 0:
        raise LongConnectionRefused(f"long connection refused: {msg}", code=code, endpoint=endpoint)
    data = answer.get("data") if isinstance(answer.get("data"), dict) else {}
    url = data.get("URL")
    query = parse_qs(urlsplit(url).query) if isinstance(url, str) else {}
    if not isinstance(url, str) or urlsplit(url).scheme not in ("ws", "wss"):
        raise FeishuTransientError("long-connection endpoint: the answer has no ws(s) URL", endpoint=endpoint)
    try:
        service_id = int(query.get("service_id", ["0"])[0])
    except ValueError:
        raise FeishuTransientError("long-connection endpoint: service_id is not a number", endpoint=endpoint) from None
    device_id = query.get("device_id", [""])[0]
    return Endpoint(url, service_id, device_id, config.updated(data.get("ClientConfig")))


def handshake_refusal(http_status: int, headers: Mapping[str, str]) -> FeishuError:
    """What a refused WebSocket upgrade means: the app's fault (:class:`LongConnectionRefused`: connection limit,
    forbidden) or the server's (:class:`FeishuTransientError`: retried with the configured waits).

    :param http_status: the upgrade answer's HTTP status.
    :param headers: its headers (``handshake-status``, ``handshake-msg``, ``handshake-autherrcode``).
    """
    endpoint = "longconn_handshake"
    raw = headers.get("handshake-status")
    msg = str(headers.get("handshake-msg") or "")[:200]
    try:
        status = int(raw) if raw is not None else None
        auth = int(headers.get("handshake-autherrcode") or 0)
    except ValueError:
        status, auth = None, 0
    if status == AUTH_FAILED and auth == EXCEEDED_CONNECTIONS:
        return LongConnectionRefused(
            f"long connection refused: the app holds its 50 connections already: {msg}",
            code=auth,
            http_status=http_status,
            endpoint=endpoint,
        )
    if status == FORBIDDEN:
        return LongConnectionRefused(
            f"long connection forbidden: {msg}", code=status, http_status=http_status, endpoint=endpoint
        )
    return FeishuTransientError(
        f"long connection handshake refused (handshake-status {raw}): {msg}",
        code=status,
        http_status=http_status,
        endpoint=endpoint,
    )


@dataclass
class _Parts:
    started: float
    parts: list[bytes | None]


class Fragments:
    """Payloads split over several data frames joined again: ``sum`` frames of one ``message_id``, ``seq`` the
    0-based place. A message whose parts did not all arrive within :data:`FRAGMENT_SECONDS` is dropped.

    :param clock: monotonic seconds.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._pending: dict[str, _Parts] = {}
        self.dropped = 0

    def add(self, message_id: str, total: int, seq: int, data: bytes) -> bytes | None:
        """The whole payload once its last part arrived, else ``None``.

        :param message_id: the ``message_id`` header.
        :param total: the ``sum`` header (1: not fragmented).
        :param seq: the ``seq`` header.
        :param data: this frame's payload.
        :raises ValueError: ``seq`` outside ``0..sum-1`` or ``sum`` below 1.
        """
        if total < 1 or not 0 <= seq < total:
            raise ValueError(f"fragment {seq} of {total}")
        if total == 1:
            return data
        now = self._clock()
        for key in [k for k, v in self._pending.items() if now - v.started > FRAGMENT_SECONDS]:
            del self._pending[key]
            self.dropped += 1
        pending = self._pending.get(message_id)
        if pending is None or len(pending.parts) != total:
            while len(self._pending) >= MAX_PENDING_MESSAGES:
                del self._pending[next(iter(self._pending))]
                self.dropped += 1
            pending = self._pending[message_id] = _Parts(now, [None] * total)
        pending.parts[seq] = data
        if any(part is None for part in pending.parts):
            return None
        del self._pending[message_id]
        return b"".join(part for part in pending.parts if part is not None)
