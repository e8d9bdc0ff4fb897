"""The long connection held: the endpoint request (``httpx``), the WebSocket (``websockets``' asyncio client,
public API only: ``websockets.asyncio.client.connect``, ``InvalidStatus.response``, ``ConnectionClosed``), pings,
acknowledgements, fragments and reconnection with the waits the server's configuration gives (:mod:`.longconn`).

:class:`LongConnection` runs forever and hands what happens to a callback: :class:`Connected`,
:class:`Pushed` (an event's JSON, acknowledged right after it was handed over) and :class:`Disconnected`. Nothing
of a payload, the App Secret or the connection URL is logged. ``websockets`` and ``httpx`` are imported on first use.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import random as _random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.errors import FeishuError, FeishuInvalidInputError, FeishuTransientError
from airflow_provider_feishu_corehr.client.longconn import (
    ENDPOINT_PATH,
    ClientConfig,
    Endpoint,
    Fragments,
    LongConnectionRefused,
    endpoint_body,
    handshake_refusal,
    parse_endpoint,
)
from airflow_provider_feishu_corehr.client.longconn_frame import (
    CONTROL,
    Frame,
    FrameError,
    acknowledgement,
    decode,
    encode,
    ping,
)
from airflow_provider_feishu_corehr.client.network import network_settings

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

    from airflow_provider_feishu_corehr.client.models import ClientSettings

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
"""Largest WebSocket message accepted (one frame; a fragmented payload is bounded by its parts)."""


@dataclass(frozen=True)
class Connected:
    """The WebSocket is open.

    :param device_id: the connection's id (the URL's ``device_id``).
    """

    device_id: str


@dataclass(frozen=True)
class Disconnected:
    """The connection dropped or could not be opened.

    :param reason: why (an error's text without secrets, or the close).
    :param refused: Feishu refused the app (credentials, connection limit): the next try waits ``refused_wait``.
    """

    reason: str
    refused: bool = False


@dataclass(frozen=True)
class Pushed:
    """One pushed event, whole (fragments joined), already parsed as a JSON object.

    :param event: the event's JSON (``schema``, ``header``, ``event``).
    """

    event: dict[str, Any]


Happening = Connected | Disconnected | Pushed


async def fetch_endpoint(settings: ClientSettings, config: ClientConfig) -> Endpoint:
    """Ask the endpoint where to connect (App ID and App Secret in the body; TLS and proxy as the API calls').

    :param settings: the connection's settings.
    :param config: the configuration before this answer.
    :raises FeishuTransientError: unreachable, busy or unreadable.
    :raises LongConnectionRefused: Feishu refused the app.
    """
    import httpx

    network = network_settings(settings)
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(settings.timeout),
        verify=network.ssl_context(),
        proxy=network.proxy,
        trust_env=False,
        follow_redirects=False,
    ) as http:
        try:
            response = await http.post(
                settings.base_url + ENDPOINT_PATH,
                content=endpoint_body(settings),
                headers={"Content-Type": "application/json; charset=utf-8", "locale": "zh"},
            )
        except httpx.HTTPError as exc:
            raise FeishuTransientError(
                f"long-connection endpoint unreachable ({type(exc).__name__})", endpoint="longconn_endpoint"
            ) from None
    if len(response.content) > settings.max_response_bytes:
        raise FeishuTransientError("long-connection endpoint: answer too large", endpoint="longconn_endpoint")
    return parse_endpoint(response.status_code, response.content, config)


def _connect_options(settings: ClientSettings, url: str, connect: Any) -> dict[str, Any]:
    """``connect``'s keyword arguments: TLS as the API calls' (``wss``), the connection's proxy (``websockets``
    15+ only; never the environment's, as the HTTP clients), a bounded handshake and message size."""
    network = network_settings(settings)
    options: dict[str, Any] = {"open_timeout": settings.timeout, "max_size": MAX_MESSAGE_BYTES}
    if url.startswith("wss:"):
        options["ssl"] = network.ssl_context()
    if "proxy" in inspect.signature(connect).parameters:
        options["proxy"] = network.proxy
    elif network.proxy:
        raise FeishuInvalidInputError("connection extra proxy: the long connection needs websockets 15 or later")
    return options


class LongConnection:
    """The app's long connection, held until cancelled.

    :param settings: the connection's settings (App ID, App Secret, base URL, TLS, proxy, timeout).
    :param deliver: called with each :data:`Happening`, in order (a pushed event before its acknowledgement).
    :param refused_wait: seconds to wait after Feishu refused the app, or after the configured attempts all failed.
    :param random: a number in [0, 1) (the reconnection jitter).
    :param sleep: the async sleep.
    :param clock: monotonic seconds (fragment expiry, handling time).
    """

    def __init__(
        self,
        settings: ClientSettings,
        deliver: Callable[[Happening], None],
        *,
        refused_wait: float,
        random: Callable[[], float] = _random.random,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._deliver = deliver
        self._refused_wait = refused_wait
        self._random = random
        self._sleep = sleep
        self._clock = clock
        self.config = ClientConfig()
        self._waits: Iterator[float] | None = None
        self._fragments = Fragments(clock)
        self.attempts = 0
        """Connection attempts made (endpoint requests)."""

    async def run(self) -> None:
        """Connect, listen, and reconnect after every drop, forever (cancel the task to stop)."""
        from websockets.exceptions import WebSocketException

        name = self._settings.app_id
        while True:
            try:
                self.attempts += 1
                await self._session()
                reason, refused = "closed by the server", False
            except LongConnectionRefused as exc:
                reason, refused = str(exc), True
            except FeishuError as exc:
                reason, refused = str(exc), False
            except (OSError, TimeoutError, WebSocketException) as exc:
                reason, refused = f"{type(exc).__name__}", False
            self._deliver(Disconnected(reason, refused))
            if refused:
                log.error("Long connection of app %s refused (%s); next try in %.0fs", name, reason, self._refused_wait)
                self._waits = None
                await self._sleep(self._refused_wait)
                continue
            if self._waits is None:
                self._waits = self.config.reconnect_waits(self._random)
            wait = next(self._waits, None)
            if wait is None:
                log.error(
                    "Long connection of app %s: %d reconnection attempt(s) failed (%s); next round in %.0fs",
                    name,
                    self.config.reconnect_count,
                    reason,
                    self._refused_wait,
                )
                self._waits, wait = None, self._refused_wait
            else:
                log.warning("Long connection of app %s down (%s); reconnecting in %.1fs", name, reason, wait)
            await self._sleep(wait)

    async def _session(self) -> None:
        """One connection, from the endpoint request until it drops."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus

        endpoint = await fetch_endpoint(self._settings, self.config)
        self.config = endpoint.config
        try:
            websocket = await connect(endpoint.url, **_connect_options(self._settings, endpoint.url, connect))
        except InvalidStatus as exc:
            response = exc.response
            raise handshake_refusal(response.status_code, dict(response.headers)) from None
        async with websocket:
            self._waits = None  # connected: the next drop starts a new series of attempts
            log.info("Long connection of app %s open (connection %s)", self._settings.app_id, endpoint.device_id)
            self._deliver(Connected(endpoint.device_id))
            pinger = asyncio.create_task(self._ping(websocket, endpoint.service_id))
            try:
                async for message in websocket:
                    if isinstance(message, bytes):
                        await self._handle(websocket, message)
            finally:
                pinger.cancel()

    async def _ping(self, websocket: Any, service_id: int) -> None:
        """A ping every ``PingInterval`` seconds (the current configuration's, read before each wait)."""
        data = encode(ping(service_id))
        while True:
            await websocket.send(data)
            await self._sleep(self.config.ping_interval)

    async def _handle(self, websocket: Any, data: bytes) -> None:
        """One message: a pong's configuration taken; an event joined, handed over and acknowledged."""
        received = self._clock()
        try:
            frame = decode(data)
        except FrameError as exc:
            log.warning("Long connection: a message that is not a frame was ignored (%s)", exc)
            return
        if frame.method == CONTROL:
            if frame.header("type") == "pong" and frame.payload:
                try:
                    self.config = self.config.updated(json.loads(frame.payload))
                except ValueError:
                    log.warning("Long connection: a pong's configuration could not be read; kept the current one")
            return
        if frame.header("type") != "event":
            return  # card callbacks: not this provider's (the SDK does not answer them either)
        payload = self._join(frame)
        if payload is None:
            return
        code = 200
        try:
            event = json.loads(payload)
            if not isinstance(event, dict):
                raise ValueError("not an object")
        except ValueError:
            code = 500  # the handler failed: Feishu pushes it again on its schedule
            log.warning("Long connection: an event that is not a JSON object was answered 500")
        else:
            self._deliver(Pushed(event))
        elapsed = int((self._clock() - received) * 1000)
        await websocket.send(encode(acknowledgement(frame, code, elapsed)))

    def _join(self, frame: Frame) -> bytes | None:
        try:
            total, seq = int(frame.header("sum") or 1), int(frame.header("seq") or 0)
            return self._fragments.add(frame.header("message_id") or "", total, seq, frame.payload or b"")
        except ValueError:
            log.warning("Long connection: a data frame with unreadable sum/seq headers was ignored")
            return None
