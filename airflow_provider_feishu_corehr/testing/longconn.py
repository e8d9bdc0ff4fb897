"""Feishu's long connection, server side: the endpoint request, the WebSocket, pushes, acks and retries.

The wire (``docs/api-facts.md``, "Long connection"): ``POST /callback/ws/endpoint`` with ``{"AppID",
"AppSecret"}`` answers ``{"code": 0, "data": {"URL", "ClientConfig"}}``; the URL (``ws://`` on the emulator's own
host and port, path ``/ws/v2``) carries ``device_id``, ``service_id`` and a one-time ``ticket``. Over the
WebSocket every message is a :class:`~.protobuf_frame.Frame`: the client's ``type: ping`` control frames get a
``type: pong`` control frame whose payload is the ``ClientConfig``; each event is pushed as data frames
(headers ``type: event``, ``message_id``, ``sum``, ``seq``, ``trace_id``; more than one frame when the payload is
over ``fragment_size`` bytes or a ``fragment`` fault asks); the client acknowledges by sending the frame back
with the payload ``{"code": 200}``.

Delivery, as the event overview describes it: each event goes to **one** connection of its app, chosen at
random; an event not acknowledged with code 200 within ``ack_timeout`` seconds (3), or with no connection open,
is pushed again after ``retry_delays`` (15 s, 5 min, 1 h, 6 h: at most 4 retries), then given up. Handshakes
beyond ``max_connections`` per app (50) are refused (``handshake-status`` 514, ``handshake-autherrcode``
1000040350). A ticker thread applies the clock's lifecycle every 0.1 s, so status changes the calendar makes are
pushed without any request. With ``webhook_url`` set, events are POSTed there as JSON instead (HTTP 200
acknowledges; the same retries). Nothing is logged.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import secrets
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlencode

from airflow_provider_feishu_corehr.testing import wire
from airflow_provider_feishu_corehr.testing.errors import EmulatorError
from airflow_provider_feishu_corehr.testing.event_faults import EventFault, EventFaultPlan
from airflow_provider_feishu_corehr.testing.protobuf_frame import CONTROL, DATA, Frame, FrameError
from airflow_provider_feishu_corehr.testing.websocket import Connection, WebSocketClosed, accept_response

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

ENDPOINT_PATH = "/callback/ws/endpoint"
WS_PATH = "/ws/v2"
AUTH_FAILED, FORBIDDEN, EXCEED_CONN_LIMIT = 514, 403, 1000040350
DEFAULT_CLIENT_CONFIG = {"ReconnectCount": -1, "ReconnectInterval": 120, "ReconnectNonce": 30, "PingInterval": 120}
DEFAULT_RETRY_DELAYS = (15.0, 300.0, 3600.0, 21600.0)
TICK_SECONDS = 0.1
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # webhooks go straight to the URL
_CONFIG_KEYS = ("client_config", "max_connections", "ack_timeout", "retry_delays", "fragment_size", "webhook_url")


@dataclass
class _Conn:
    device_id: str
    app_id: str
    service_id: int
    socket: Connection
    opened_at: float
    seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    pushed: int = 0
    acked: int = 0
    pings: int = 0


@dataclass
class _Delivery:
    event: dict[str, Any]
    due: float
    state: str = "pending"  # pending | awaiting_ack | acked | given_up
    failures: int = 0
    attempts: list[dict[str, Any]] = field(default_factory=list)
    deadline: float | None = None

    def describe(self) -> dict[str, Any]:
        return {"event": self.event, "state": self.state, "attempts": [dict(a) for a in self.attempts]}


def check_config(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Validate long-connection settings; raises :class:`EmulatorError` naming the key and the rule.

    :param changes: any of ``client_config`` (dict of ``ReconnectCount``, ``ReconnectInterval``,
        ``ReconnectNonce``, ``PingInterval``: integers), ``max_connections`` (>= 0), ``ack_timeout`` (seconds > 0),
        ``retry_delays`` (list of seconds >= 0), ``fragment_size`` (bytes >= 1), ``webhook_url`` (an
        ``http(s)://`` URL: events are POSTed there instead of pushed over the long connection; None: off).
    """
    unknown = sorted(set(changes) - set(_CONFIG_KEYS))
    if unknown:
        raise EmulatorError(f"long connection: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(_CONFIG_KEYS)}")
    out = dict(changes)
    conf = out.get("client_config")
    if conf is not None:
        if not isinstance(conf, dict):
            raise EmulatorError(f"client_config must be an object, got {conf!r}")
        bad = [k for k, v in conf.items() if k not in DEFAULT_CLIENT_CONFIG or type(v) is not int]
        if bad:
            raise EmulatorError(f"client_config: integers for {', '.join(DEFAULT_CLIENT_CONFIG)} only; bad: {bad}")
        out["client_config"] = {**DEFAULT_CLIENT_CONFIG, **conf}
    for name, minimum in (("max_connections", 0), ("fragment_size", 1)):
        value = out.get(name)
        if name in out and (isinstance(value, bool) or not isinstance(value, int) or value < minimum):
            raise EmulatorError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    url = out.get("webhook_url")
    if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
        raise EmulatorError(f"webhook_url must be an http:// or https:// URL or null, got {url!r}")
    if "ack_timeout" in out:
        value = out["ack_timeout"]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise EmulatorError(f"ack_timeout must be a number of seconds > 0, got {value!r}")
    if "retry_delays" in out:
        delays = out["retry_delays"]
        ok = isinstance(delays, list | tuple) and all(
            isinstance(d, int | float) and not isinstance(d, bool) and d >= 0 for d in delays
        )
        if not ok:
            raise EmulatorError(f"retry_delays must be a list of seconds >= 0, got {delays!r}")
        out["retry_delays"] = tuple(float(d) for d in delays)
    return out


class LongConnection:
    """The long-connection server of one emulator (thread-safe).

    :param apps: app id -> app secret (endpoint requests are checked against them).
    :param tick: applies the clock's lifecycle (called every :data:`TICK_SECONDS` by the ticker thread).
    :param random_seed: seed of the random choice of the receiving connection.
    :param settings: initial settings (see :func:`check_config`).
    """

    def __init__(
        self,
        apps: Mapping[str, str],
        tick: Callable[[], None],
        random_seed: int | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.apps = apps
        self._tick = tick
        self._random = random.Random(random_seed)
        self._initial = {
            "client_config": dict(DEFAULT_CLIENT_CONFIG),
            "max_connections": 50,
            "ack_timeout": 3.0,
            "retry_delays": DEFAULT_RETRY_DELAYS,
            "fragment_size": 64 * 1024,
            "webhook_url": None,
            **check_config(settings or {}),
        }
        self.settings = dict(self._initial)
        self.faults = EventFaultPlan()
        self.ws_base = ""  # ws://host:port, set when the server starts
        self._lock = threading.Condition()
        self._conns: dict[str, _Conn] = {}
        self._tickets: dict[str, tuple[str, str, int]] = {}
        self._deliveries: list[_Delivery] = []
        self._by_message: dict[str, _Delivery] = {}
        self.endpoint_requests = 0
        self._stopping = threading.Event()
        self._worker: threading.Thread | None = None

    # -- life cycle ---------------------------------------------------------------------------------------------
    def start(self, ws_base: str) -> None:
        """Start the delivery and ticker thread.

        :param ws_base: ``ws://host:port`` (``wss://`` behind TLS) of the emulator's server.
        """
        self.ws_base = ws_base
        self._stopping.clear()
        self._worker = threading.Thread(target=self._run, name="feishu-emulator-events", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            self._lock.notify_all()
            conns = list(self._conns.values())
        for conn in conns:
            conn.socket.abort()
        if self._worker is not None:
            self._worker.join(timeout=5)

    def reset(self) -> None:
        """Forget deliveries, tickets and faults; settings back to the start. Open connections stay."""
        with self._lock:
            self._deliveries.clear()
            self._by_message.clear()
            self._tickets.clear()
            self.settings = dict(self._initial)
            self.endpoint_requests = 0
        self.faults.clear()

    def configure(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change settings (see :func:`check_config`); returns them all.

        :param changes: the settings to change.
        """
        checked = check_config(changes)
        with self._lock:
            self.settings.update(checked)
            return self.describe_settings()

    def describe_settings(self) -> dict[str, Any]:
        return {**self.settings, "retry_delays": list(self.settings["retry_delays"])}

    # -- events in ----------------------------------------------------------------------------------------------
    def publish(self, event: dict[str, Any]) -> None:
        """Queue an event for its app (called under the store's lock: only appends and wakes the worker).

        :param event: the full envelope (``header.app_id`` names the app).
        """
        delay = self.faults.take("delay")
        due = time.monotonic() + (float(delay.params["seconds"]) if delay else 0.0)
        with self._lock:
            self._deliveries.append(_Delivery(event, due))
            self._lock.notify_all()

    def deliveries(self) -> list[dict[str, Any]]:
        """Every event with its delivery state and attempts, oldest first."""
        with self._lock:
            return [d.describe() for d in self._deliveries]

    # -- the endpoint request -------------------------------------------------------------------------------------
    def endpoint(self, request: wire.Request) -> wire.Response:
        """``POST /callback/ws/endpoint``: check the app's credentials, answer the URL and the ClientConfig.

        :param request: the HTTP request.
        """
        with self._lock:
            self.endpoint_requests += 1
        if request.method != "POST":
            return wire.json_response(404, {"code": 404, "msg": "404 page not found"})
        fault = self.faults.take("endpoint_error")
        if fault is not None:
            return wire.json_response(200, {"code": fault.params["code"], "msg": fault.params["msg"], "data": None})
        try:
            body = wire.json_object(request.body)
        except wire.BadJson:
            return wire.json_response(200, {"code": 10003, "msg": "invalid parameter", "data": None})
        app_id, secret = body.get("AppID"), body.get("AppSecret")
        if not isinstance(app_id, str) or not isinstance(secret, str) or not app_id or not secret:
            return wire.json_response(200, {"code": 10003, "msg": "invalid parameter", "data": None})
        if self.apps.get(app_id) != secret:
            return wire.json_response(200, {"code": 10014, "msg": "app secret invalid", "data": None})
        device_id, ticket = uuid.uuid4().hex[:20], secrets.token_hex(16)
        service_id = self._random.randrange(1 << 20, 1 << 25)
        with self._lock:
            self._tickets[ticket] = (app_id, device_id, service_id)
            config = dict(self.settings["client_config"])
        query = urlencode({"device_id": device_id, "service_id": service_id, "ticket": ticket})
        data = {"URL": f"{self.ws_base}{WS_PATH}?{query}", "ClientConfig": config}
        return wire.json_response(200, {"code": 0, "msg": "ok", "data": data})

    # -- the WebSocket ---------------------------------------------------------------------------------------------
    def refusal(self, ticket: str | None) -> tuple[str, str, int] | dict[str, str]:
        """The connection the handshake opens (app id, device id, service id), or the refusal headers.

        :param ticket: the URL's ``ticket``.
        """
        fault = self.faults.take("refuse_handshake")
        if fault is not None:
            headers = {"handshake-status": str(fault.params["status"]), "handshake-msg": fault.params["msg"]}
            if fault.params.get("autherrcode") is not None:
                headers["handshake-autherrcode"] = str(fault.params["autherrcode"])
            return headers
        with self._lock:
            grant = self._tickets.pop(ticket or "", None)
            if grant is None:
                return {"handshake-status": str(FORBIDDEN), "handshake-msg": "invalid or used ticket"}
            used = sum(1 for c in self._conns.values() if c.app_id == grant[0])
        if self.faults.take("connection_limit") is not None or used >= self.settings["max_connections"]:
            return {
                "handshake-status": str(AUTH_FAILED),
                "handshake-msg": "exceed connection limit",
                "handshake-autherrcode": str(EXCEED_CONN_LIMIT),
            }
        return grant

    def serve(self, request: wire.Request, rfile: BinaryIO, wfile: BinaryIO, abort: Callable[[], None]) -> None:
        """Run one upgrade request to its end, in the HTTP server's handler thread.

        :param request: the upgrade request.
        :param rfile: the socket's reader.
        :param wfile: the socket's writer.
        :param abort: shuts the socket down (a dropped connection).
        """
        accepted = accept_response(dict(request.headers))
        if request.path != WS_PATH or accepted is None:
            wfile.write(_http(400 if accepted is None else 404, {}))
            return
        outcome = self.refusal(request.query.get("ticket"))
        if isinstance(outcome, dict):
            status = 503 if outcome["handshake-status"] not in (str(AUTH_FAILED), str(FORBIDDEN)) else 403
            wfile.write(_http(status, outcome))
            return
        wfile.write(accepted)
        wfile.flush()
        app_id, device_id, service_id = outcome
        conn = _Conn(device_id, app_id, service_id, Connection(rfile, wfile, abort), time.time())
        with self._lock:
            self._conns[device_id] = conn
        try:
            while not self._stopping.is_set():
                self._received(conn, Frame.decode(conn.socket.receive()))
        except (WebSocketClosed, FrameError, OSError):
            pass
        finally:
            conn.socket.close()
            with self._lock:
                self._conns.pop(device_id, None)

    def _received(self, conn: _Conn, frame: Frame) -> None:
        if frame.method == CONTROL and frame.header("type") == "ping":
            with self._lock:
                conn.pings += 1
                payload = json.dumps(self.settings["client_config"]).encode()
            pong = Frame(frame.seq_id, frame.log_id, frame.service, CONTROL, [("type", "pong")], payload=payload)
            conn.socket.send(pong.encode())
        elif frame.method == DATA:
            self._ack(conn, frame)

    def _ack(self, conn: _Conn, frame: Frame) -> None:
        try:
            code = json.loads(frame.payload or b"{}").get("code")
        except (ValueError, AttributeError):
            code = None
        message_id = frame.header("message_id") or ""
        with self._lock:
            delivery = self._by_message.get(message_id)
            if delivery is None:
                return
            for attempt in delivery.attempts:
                if attempt["message_id"] == message_id and attempt["result"] == "sent":
                    attempt["result"], attempt["code"] = "acked" if code == 200 else "failed", code
                    attempt["biz_rt"] = frame.header("biz_rt")
            conn.acked += 1
            if delivery.state == "awaiting_ack":
                if code == 200:
                    delivery.state, delivery.deadline = "acked", None
                else:
                    self._failed(delivery, time.monotonic())
            self._lock.notify_all()

    # -- connections -----------------------------------------------------------------------------------------------
    def connections(self) -> list[dict[str, Any]]:
        """The open connections: device id, app id, service id, opened (epoch s), pushes, acks, pings."""
        with self._lock:
            return [
                {
                    "device_id": c.device_id,
                    "app_id": c.app_id,
                    "service_id": c.service_id,
                    "opened_at": c.opened_at,
                    "pushed": c.pushed,
                    "acked": c.acked,
                    "pings": c.pings,
                }
                for c in self._conns.values()
            ]

    def drop(self, device_id: str | None = None) -> int:
        """Close one connection (or all): the client sees it end and reconnects. Returns how many were closed.

        :param device_id: the connection to close; None closes every one.
        """
        with self._lock:
            chosen = [c for c in self._conns.values() if device_id is None or c.device_id == device_id]
        if device_id is not None and not chosen:
            raise EmulatorError(f"no open long connection with device_id {device_id!r}")
        for conn in chosen:
            conn.socket.abort()
        return len(chosen)

    # -- delivery ----------------------------------------------------------------------------------------------------
    def _failed(self, delivery: _Delivery, now: float) -> None:
        """A push failed (no connection, no ack in time, an error ack): retry on the schedule or give up."""
        delays = self.settings["retry_delays"]
        delivery.failures += 1
        delivery.deadline = None
        if delivery.failures > len(delays):
            delivery.state = "given_up"
        else:
            delivery.state, delivery.due = "pending", now + delays[delivery.failures - 1]

    def _run(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(Exception):  # a tick that fails is retried at the next one
                self._tick()
            now = time.monotonic()
            with self._lock:
                for d in self._deliveries:
                    if d.state == "awaiting_ack" and d.deadline is not None and d.deadline <= now:
                        for attempt in d.attempts:
                            if attempt["result"] == "sent":
                                attempt["result"] = "timeout"
                        self._failed(d, now)
                due = [d for d in self._deliveries if d.state == "pending" and d.due <= now]
                for d in due:
                    d.state = "sending"
            for delivery in due:
                self._push(delivery)
            with self._lock:
                self._lock.wait(TICK_SECONDS)

    def _push(self, delivery: _Delivery) -> None:
        app_id = delivery.event["header"]["app_id"]
        now = time.monotonic()
        with self._lock:
            url, timeout = self.settings["webhook_url"], float(self.settings["ack_timeout"])
        if url is not None:
            with self._lock:
                delivery.state, delivery.deadline = "awaiting_ack", None
            threading.Thread(target=self._post, args=(delivery, url, timeout), daemon=True).start()
            return
        with self._lock:
            candidates = [c for c in self._conns.values() if c.app_id == app_id and not c.socket.closed]
            conn = self._random.choice(candidates) if candidates else None
        if conn is None:
            with self._lock:
                delivery.attempts.append({"device_id": None, "message_id": None, "result": "no_connection"})
                self._failed(delivery, now)
            return
        if self.faults.take("drop_connection") is not None:
            conn.socket.abort()
            with self._lock:
                delivery.attempts.append({"device_id": conn.device_id, "message_id": None, "result": "dropped"})
                self._failed(delivery, now)
            return
        duplicate, fragment = self.faults.take("duplicate"), self.faults.take("fragment")
        copies = int(duplicate.params["copies"]) if duplicate else 1
        payload = json.dumps(delivery.event, ensure_ascii=False).encode()
        with self._lock:
            delivery.state, delivery.deadline = "awaiting_ack", now + float(self.settings["ack_timeout"])
            size = int(self.settings["fragment_size"])
        for _ in range(copies):
            message_id = uuid.uuid4().hex
            frames = self._frames(conn, message_id, payload, _parts(payload, size, fragment))
            with self._lock:
                delivery.attempts.append(
                    {"device_id": conn.device_id, "message_id": message_id, "result": "sent", "frames": len(frames)}
                )
                self._by_message[message_id] = delivery
                conn.pushed += 1
            try:
                for frame in frames:
                    conn.socket.send(frame.encode())
            except WebSocketClosed:
                with self._lock:
                    delivery.attempts[-1]["result"] = "connection_lost"
                # the ack deadline passes and the event is pushed again on the schedule

    def _post(self, delivery: _Delivery, url: str, timeout: float) -> None:
        """Webhook mode: POST the event as JSON; HTTP 200 within ``timeout`` acknowledges it, anything else is a
        failed push (retried on the schedule). No Encrypt Key (no AES in the standard library), so no signature."""
        body = json.dumps(delivery.event, ensure_ascii=False).encode()
        request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
        code: int | None = None
        try:
            with _DIRECT.open(request, timeout=timeout) as response:
                code = response.status
        except urllib.error.HTTPError as exc:
            code = exc.code
        except (OSError, ValueError):
            code = None
        with self._lock:
            ok = code == 200
            delivery.attempts.append({"webhook": url, "result": "acked" if ok else "failed", "code": code})
            if ok:
                delivery.state = "acked"
            else:
                self._failed(delivery, time.monotonic())
            self._lock.notify_all()

    def _frames(self, conn: _Conn, message_id: str, payload: bytes, parts: int) -> list[Frame]:
        size = -(-len(payload) // parts)
        trace_id = uuid.uuid4().hex
        frames = []
        for index in range(parts):
            headers = [
                ("type", "event"),
                ("message_id", message_id),
                ("sum", str(parts)),
                ("seq", str(index)),
                ("trace_id", trace_id),
            ]
            piece = payload[index * size : (index + 1) * size]
            frames.append(
                Frame(next(conn.seq), self._random.getrandbits(63), conn.service_id, DATA, headers, payload=piece)
            )
        return frames


def _parts(payload: bytes, size: int, fragment: EventFault | None) -> int:
    wanted = int(fragment.params["parts"]) if fragment else 1
    return max(1, min(len(payload), max(wanted, -(-len(payload) // size))))


def _http(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} Refused", "Content-Length: 0", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
