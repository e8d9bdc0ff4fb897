"""The public face of the emulator: :class:`FeishuEmulator` (start/stop, seed, control, faults, observability)."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow_provider_feishu_corehr.testing import ids
from airflow_provider_feishu_corehr.testing.api_pages import USER_ID_TYPES
from airflow_provider_feishu_corehr.testing.clock import DEFAULT_TIMEZONE, Clock, check_seconds
from airflow_provider_feishu_corehr.testing.errors import EmulatorError
from airflow_provider_feishu_corehr.testing.event_controls import EventControls
from airflow_provider_feishu_corehr.testing.events import DEFAULT_TENANT_KEY, DEFAULT_VERIFICATION_TOKEN, EventLog
from airflow_provider_feishu_corehr.testing.faults import FaultPlan, make_fault
from airflow_provider_feishu_corehr.testing.handlers import control
from airflow_provider_feishu_corehr.testing.longconn import ENDPOINT_PATH, LongConnection
from airflow_provider_feishu_corehr.testing.observe import RequestLog, RequestRecord
from airflow_provider_feishu_corehr.testing.ratelimit import RateLimitConfig, RateLimiter, resolve_limits
from airflow_provider_feishu_corehr.testing.schema import check_custom_fields
from airflow_provider_feishu_corehr.testing.seed import SeedSource, load_seed, read_seed
from airflow_provider_feishu_corehr.testing.service import Service
from airflow_provider_feishu_corehr.testing.state import Store
from airflow_provider_feishu_corehr.testing.timecontrol import ClockControls, ResetControls
from airflow_provider_feishu_corehr.testing.tokens import TokenStore

if TYPE_CHECKING:
    from types import TracebackType

    from airflow_provider_feishu_corehr.testing.server import EmulatorHTTPServer
    from airflow_provider_feishu_corehr.testing.tls import TestCertificates

DEFAULT_APPS = {"cli_emulator": "emulator-secret"}


def _check_apps(apps: Any) -> dict[str, str]:
    ok = isinstance(apps, Mapping) and len(apps) > 0
    ok = ok and all(isinstance(k, str) and k and isinstance(v, str) and v for k, v in apps.items())
    if not ok:
        raise EmulatorError("apps must be a non-empty dict of app id -> app secret (non-empty strings)")
    return dict(apps)


class FeishuEmulator(ClockControls, ResetControls, EventControls):
    """A Feishu CoreHR offboarding API on 127.0.0.1, for tests, demos and users' own DAG tests.

    :param apps: app id -> app secret; the first one is :attr:`app_id` / :attr:`app_secret`.
    :param token_ttl: tenant access token lifetime in seconds (Feishu: 7200).
    :param token_refresh_window: below this many seconds left a token request gets a new token (the old one
        stays valid); default ``min(1800, token_ttl / 4)`` (Feishu: 1800 of 7200).
    :param rate_limits: ``None`` = documented limits (revoke, edit 20 per 1 s; search 100 per 60 s; token none);
        a dict overrides per endpoint name with ``(requests, window seconds)`` or ``None`` (unlimited);
        ``"off"`` = no limit anywhere.
    :param token_invalid_http_status: HTTP status sent with 99991663 (200 or 400; both occur in the wild).
    :param seed: dict or path of a JSON seed (see :mod:`.seed`); ``None`` = the built-in default seed.
    :param host: interface to listen on (loopback: Feishu SDKs accept plain ``http://`` only there).
    :param port: TCP port; 0 picks a free one.
    :param random_seed: seed of the random choices of ratio faults (for repeatable runs).
    :param clock_start: tenant time the calendar starts at (``YYYY-MM-DD HH:MM:SS`` in ``tenant_timezone``, or
        epoch seconds); default: the seed's ``clock_start`` (the default seed: 2026-06-01 09:00:00), else now.
    :param clock_speed: calendar seconds per real second (default 1; 0 stops the calendar; see :mod:`.clock`).
    :param tenant_timezone: the tenant's time zone: ``+08:00`` (default), ``UTC-5``, ``Europe/Berlin``, ...
    :param approval_delay: calendar seconds after which an ``Approving`` record becomes ``Approved``; None
        (default) = only the control API ends an approval. ``Approved`` / ``NoNeedApproval`` records always
        become ``Offboarded`` when the calendar passes the end of their offboarding date (:mod:`.lifecycle`).
    :param processing_time: real seconds a revoke or edit takes; a revoke of a record another write is still
        processing answers 1160204, an edit waits its turn (default 0: writes are instantaneous).
    :param custom_fields: tenant custom fields, name (``..__c``) -> ``{"type": ..., "options": [...]}`` or
        ``"type"`` (see :mod:`.schema`), added to the seed's schema.
    :param tls: serve HTTPS with a certificate from a new test CA (needs ``trustme``); :attr:`ca_path` is the CA
        file clients must trust, and :meth:`airflow_conn_json` names it in the ``ca_bundle`` extra.
    :param tenant_key: the tenant's key in events (``header.tenant_key``; ``tenant_id`` of ``updated_v2``).
    :param verification_token: the apps' verification token (``header.token`` of events).
    :param long_connection: initial long-connection settings (see :meth:`configure_long_connection`).
    """

    def __init__(
        self,
        apps: Mapping[str, str] | None = None,
        token_ttl: float = 7200,
        rate_limits: RateLimitConfig = None,
        token_invalid_http_status: int = 400,
        seed: SeedSource = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token_refresh_window: float | None = None,
        random_seed: int | None = None,
        clock_start: str | float | None = None,
        clock_speed: float = 1.0,
        tenant_timezone: str = DEFAULT_TIMEZONE,
        approval_delay: float | None = None,
        processing_time: float = 0.0,
        custom_fields: Mapping[str, Any] | None = None,
        tls: bool = False,
        tenant_key: str = DEFAULT_TENANT_KEY,
        verification_token: str = DEFAULT_VERIFICATION_TOKEN,
        long_connection: Mapping[str, Any] | None = None,
    ) -> None:
        self._apps = _check_apps(DEFAULT_APPS if apps is None else apps)
        if token_invalid_http_status not in (200, 400):
            raise EmulatorError(f"token_invalid_http_status must be 200 or 400, got {token_invalid_http_status!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise EmulatorError(f"port must be 0 (any free port) or 1-65535, got {port!r}")
        self.host, self._port = host, port
        data = read_seed(seed)
        start = clock_start if clock_start is not None else data.get("clock_start")
        self._clock = Clock(start, clock_speed, tenant_timezone)
        fields = check_custom_fields(custom_fields)
        self._seed = load_seed(data, now=self._clock.text(), custom_fields=fields)
        self._tokens = TokenStore(self._clock, token_ttl, token_refresh_window)
        self._limiter = RateLimiter(self._clock, resolve_limits(rate_limits))
        self._faults = FaultPlan(random_seed)
        self._log = RequestLog()
        self._approval_delay = check_seconds("approval_delay", approval_delay, optional=True)
        self._events = EventLog(self._apps, tenant_key, verification_token)
        self._store = Store(
            *copy.deepcopy(self._seed), clock=self._clock, approval_delay=self._approval_delay, events=self._events
        )
        self._longconn = LongConnection(self._apps, self._store.tick, random_seed, long_connection)
        self._events.listen(self._longconn.publish)
        self._service = Service(
            apps=self._apps,
            clock=self._clock,
            store=self._store,
            tokens=self._tokens,
            limiter=self._limiter,
            faults=self._faults,
            log=self._log,
            token_invalid_http_status=token_invalid_http_status,
            processing_time=check_seconds("processing_time", processing_time) or 0.0,
            control=lambda request, log_id: control.handle(self, request, log_id),
            routes={ENDPOINT_PATH: self._longconn.endpoint},
        )
        self._server: EmulatorHTTPServer | None = None
        self._tls = tls
        self._certificates: TestCertificates | None = None
        self._connections_base = 0
        self._thread: threading.Thread | None = None

    # -- life cycle -------------------------------------------------------------------------------------------
    def start(self) -> FeishuEmulator:
        """Bind and serve in a background thread; returns self."""
        from airflow_provider_feishu_corehr.testing.server import EmulatorHTTPServer

        if self._server is not None:
            raise EmulatorError("the emulator is already running")
        context = None
        if self._tls:
            from airflow_provider_feishu_corehr.testing.tls import make_certificates

            self._certificates = self._certificates or make_certificates()
            context = self._certificates.server_context
        try:
            self._server = EmulatorHTTPServer((self.host, self._port), self._service, context, self._longconn.serve)
        except OSError as exc:
            raise EmulatorError(f"cannot listen on {self.host}:{self._port}: {exc.strerror or exc}") from None
        self._service.stopping.clear()
        self._connections_base = 0
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name="feishu-emulator", daemon=True
        )
        self._thread.start()
        self._longconn.start(self.base_url.replace("http", "ws", 1))
        return self

    def stop(self) -> None:
        """Stop serving, wake delayed requests, close every connection. Safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        self._service.stopping.set()
        self._longconn.stop()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._certificates is not None:
            self._certificates.cleanup()
            self._certificates = None

    def __enter__(self) -> FeishuEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- connection details -------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise EmulatorError("the emulator is not running: call start() first")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (``https://`` with ``tls=True``; the emulator must be running)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self._tls else 'http'}://{host}:{self.port}"

    @property
    def ca_path(self) -> str | None:
        """PEM file of the test CA that signed the HTTPS certificate (``tls=True`` and running), else ``None``."""
        return self._certificates.ca_path if self._certificates is not None else None

    @property
    def app_id(self) -> str:
        return next(iter(self._apps))

    @property
    def app_secret(self) -> str:
        return self._apps[self.app_id]

    def airflow_conn_json(self) -> str:
        """JSON for ``AIRFLOW_CONN_FEISHU_DEFAULT``."""
        conn: dict[str, Any] = {
            "conn_type": "feishu",
            "login": self.app_id,
            "password": self.app_secret,
            "host": self.base_url,
        }
        if self.ca_path:
            conn["extra"] = {"ca_bundle": self.ca_path}
        return json.dumps(conn)

    def airflow_conn_uri(self) -> str:
        """URI form of :meth:`airflow_conn_json` (the host URL percent-encoded, as Airflow documents)."""
        login, secret = quote(self.app_id, safe=""), quote(self.app_secret, safe="")
        uri = f"feishu://{login}:{secret}@{quote(self.base_url, safe='')}"
        return f"{uri}?ca_bundle={quote(self.ca_path, safe='')}" if self.ca_path else uri

    # -- records -------------------------------------------------------------------------------------------------
    def add_offboarding(self, *, employment_id: str, status: str = "Approved", **fields: Any) -> str:
        """Add a record (flat form: record keys, scenario flags, schema field values); returns its id.

        ``offboarding_id`` is generated (19 digits) unless given. Raises :class:`SeedError` naming a bad key.
        """
        return self._store.add({"employment_id": employment_id, "status": status, **fields})

    def get_offboarding(self, offboarding_id: str) -> dict[str, Any]:
        """The record as search returns it, with ``people_corehr_id`` ids."""
        return self._store.item(offboarding_id)

    def offboardings(self) -> list[dict[str, Any]]:
        return self._store.items()

    def record(self, offboarding_id: str) -> dict[str, Any]:
        """The record in its flat seed form, flags and facts included (``pending_approval``, ...)."""
        return self._store.seed_form(offboarding_id)

    def set_status(self, offboarding_id: str, status: str) -> None:
        """Set a record's status (e.g. an approval finished); ends a pending modification/withdrawal approval."""
        self._store.set_status(offboarding_id, status)

    def update_offboarding(self, offboarding_id: str, /, **changes: Any) -> None:
        """Change keys of a record (flags, facts, field values), validated like seed data."""
        self._store.update(offboarding_id, changes)

    def employment_id_as(self, employment_id: str, user_id_type: str) -> str:
        """How ``employment_id`` appears for ``user_id_type`` (search defaults to ``open_id``)."""
        if user_id_type not in USER_ID_TYPES:
            raise EmulatorError(f"user_id_type must be one of {', '.join(USER_ID_TYPES)}, got {user_id_type!r}")
        return ids.as_type(employment_id, user_id_type)

    # -- faults, tokens, time --------------------------------------------------------------------------------------
    def inject_fault(
        self, endpoint: str, kind: str, *, count: int | None = None, ratio: float | None = None, **params: Any
    ) -> None:
        """Make the next ``count`` requests (default 1) to ``endpoint`` (or ``"*"``) fail with ``kind``.

        With ``ratio``, each request fails with that probability instead, until ``count`` faults have fired (no
        limit without ``count``). See :mod:`.faults` for the kinds and their parameters."""
        self._faults.add(make_fault(endpoint, kind, count, ratio, params))

    def clear_faults(self) -> None:
        self._faults.clear()

    def faults(self) -> list[dict[str, Any]]:
        """Pending fault rules."""
        return self._faults.pending()

    def invalidate_tokens(self) -> None:
        """Every token issued so far answers 99991663 from now on."""
        self._tokens.invalidate_all()

    # -- observability -------------------------------------------------------------------------------------------
    @property
    def requests(self) -> list[RequestRecord]:
        return self._log.all()

    def request_count(
        self, endpoint: str | None = None, *, code: int | None = None, http_status: int | None = None
    ) -> int:
        return self._log.count(endpoint, code=code, http_status=http_status)

    @property
    def tokens_issued(self) -> int:
        return self._tokens.issued

    @property
    def connections_opened(self) -> int:
        """TCP connections accepted since start (or the last :meth:`reset_counters`): shows keep-alive reuse."""
        server = self._server
        return 0 if server is None else server.connections_opened - self._connections_base

    def state(self) -> dict[str, Any]:
        """A JSON-safe snapshot (what ``GET /_emulator/state`` returns)."""
        counts: dict[str, int] = {}
        for record in self._log.all():
            counts[record.endpoint] = counts.get(record.endpoint, 0) + 1
        return {
            "base_url": self.base_url if self._server is not None else None,
            "apps": list(self._apps),
            "offboardings": self.offboardings(),
            "requests": counts,
            "tokens_issued": self.tokens_issued,
            "connections_opened": self.connections_opened,
            "faults": self.faults(),
            "rate_limits": {name: list(limit) if limit else None for name, limit in self._limiter.limits.items()},
            "token_ttl": self._tokens.ttl,
            "token_refresh_window": self._tokens.refresh_window,
            "clock": self.clock(),
            "transitions": self.transitions(),
            "processing_time": self._service.processing_time,
            "busy": self._store.busy_ids(),
            "events": len(self._events.all()),
            "long_connection": self.long_connection(),
        }
