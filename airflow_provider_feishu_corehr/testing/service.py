"""The request pipeline behind the HTTP server: route, fault, authorize, rate-limit, handle, record.

Order for a Feishu API request: a token this emulator never issued is refused first (a leftover client of an
emulator that ran before on the same port: it takes no fault and is counted apart, as ``foreign``); then an
injected fault fires (it stands for the network or the gateway; a
``delay`` waits, then processing goes on), then the ``Authorization`` check (CoreHR paths only), then the rate
limit of (app, endpoint), then the endpoint handler. Every response carries ``X-Tt-Logid``.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from airflow_provider_feishu_corehr.testing import wire
from airflow_provider_feishu_corehr.testing.api_pages import INVALID_TOKEN, NEED_TOKEN, RATE_LIMITED, Endpoint
from airflow_provider_feishu_corehr.testing.faults import (
    PROCESSING_KINDS,
    FaultPlan,
    fault_response,
    process_with,
    wait_seconds,
)
from airflow_provider_feishu_corehr.testing.handlers import Call, edit, revoke, search, token
from airflow_provider_feishu_corehr.testing.observe import RequestLog, RequestRecord

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing.clock import Clock
    from airflow_provider_feishu_corehr.testing.ratelimit import RateLimiter
    from airflow_provider_feishu_corehr.testing.state import Store
    from airflow_provider_feishu_corehr.testing.tokens import TokenStore

ROUTES = {endpoint.path: endpoint for endpoint in Endpoint}
HANDLERS: dict[Endpoint, Callable[[Call], wire.Response]] = {
    Endpoint.TOKEN: token.handle,
    Endpoint.REVOKE: revoke.handle,
    Endpoint.EDIT: edit.handle,
    Endpoint.SEARCH: search.handle,
}
ControlHandler = Callable[[wire.Request, str], wire.Response]


class Service:
    """Turns a :class:`wire.Request` into a :class:`wire.Response`; thread-safe."""

    def __init__(
        self,
        *,
        apps: Mapping[str, str],
        clock: Clock,
        store: Store,
        tokens: TokenStore,
        limiter: RateLimiter,
        faults: FaultPlan,
        log: RequestLog,
        token_invalid_http_status: int,
        control: ControlHandler,
        processing_time: float = 0.0,
        routes: Mapping[str, Callable[[wire.Request], wire.Response]] | None = None,
    ) -> None:
        self.apps = apps
        self.clock = clock
        self.store = store
        self.tokens = tokens
        self.limiter = limiter
        self.faults = faults
        self.log = log
        self.token_invalid_http_status = token_invalid_http_status
        self.control = control
        self.stopping = threading.Event()
        self.processing_time = processing_time
        self.routes = dict(routes or {})

    def __call__(self, request: wire.Request) -> wire.Response:
        log_id = wire.new_log_id()
        try:
            self.store.tick()  # time moves statuses before anything reads them
            if request.path.startswith("/_emulator/"):
                response = self.control(request, log_id)
            elif request.path in self.routes:  # the long connection's endpoint request
                response = self.routes[request.path](request)
            else:
                response = self._feishu(request, log_id)
        except Exception as exc:  # an emulator bug: answer (clients must not hang), and show it on stderr
            traceback.print_exc()
            text = f"emulator internal error: {type(exc).__name__}"
            response = wire.json_response(500, {"code": -1, "msg": text, "error": {"log_id": log_id}})
        response.headers[wire.LOG_ID_HEADER] = log_id
        return response

    def _feishu(self, request: wire.Request, log_id: str) -> wire.Response:
        at = self.clock.now()
        endpoint = ROUTES.get(request.path)
        if endpoint is None or request.method != "POST":
            response = wire.json_response(404, {"code": 404, "msg": "404 page not found", "error": {"log_id": log_id}})
            self.log.add(RequestRecord("unknown", 404, 404, log_id, False, at))
            return response
        if self._foreign(request, endpoint):  # a client of another emulator: refused, takes no fault, not counted
            self.log.add(RequestRecord("foreign", 400, INVALID_TOKEN, log_id, False, at))
            return wire.error(endpoint, INVALID_TOKEN, log_id, http_status=self.token_invalid_http_status)
        call = Call(request, endpoint, log_id, self.store, self.tokens, self.apps, self.processing_time, self.stopping)
        fault = self.faults.take(endpoint.value)
        if wait_seconds(fault):
            self.stopping.wait(wait_seconds(fault))
        if fault is not None and fault.kind in PROCESSING_KINDS:
            response = process_with(fault, call, self._process)
        elif fault is not None and fault.kind != "delay" and not fault.params.get("after_processing"):
            response = fault_response(fault, endpoint, log_id, self._limit(endpoint))
        else:
            response = self._process(call)
            if fault is not None and fault.kind != "delay":
                response = fault_response(fault, endpoint, log_id, self._limit(endpoint), processed=response)
        authorized = endpoint is not Endpoint.TOKEN and call.app_id is not None
        status = None if response.drop_connection else response.status
        kind = fault.kind if fault is not None else None
        self.log.add(
            RequestRecord(
                endpoint.value, status, response.code, log_id, authorized, at, call.app_id, kind, call.offboarding_id
            )
        )
        return response

    def _foreign(self, request: wire.Request, endpoint: Endpoint) -> bool:
        """A bearer token this emulator never issued: a client of an emulator that ran before on the same port
        (a test's leftover thread) must not take this emulator's faults or count as one of its requests."""
        if endpoint is Endpoint.TOKEN:
            return False
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and bool(value.strip()) and not self.tokens.ever_issued(value.strip())

    def _limit(self, endpoint: Endpoint) -> int | None:
        limit = self.limiter.limits.get(endpoint.value)
        return limit[0] if limit else None

    def _process(self, call: Call) -> wire.Response:
        if call.endpoint is not Endpoint.TOKEN:
            scheme, _, value = call.request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                return wire.error(call.endpoint, NEED_TOKEN, call.log_id)
            call.app_id = self.tokens.app_of(value.strip())
            if call.app_id is None:
                return wire.error(call.endpoint, INVALID_TOKEN, call.log_id, http_status=self.token_invalid_http_status)
        over = self.limiter.check(call.app_id or "*", call.endpoint.value)
        if over is not None:
            headers = {"x-ogw-ratelimit-limit": str(over[0]), "x-ogw-ratelimit-reset": str(over[1])}
            return wire.error(call.endpoint, RATE_LIMITED, call.log_id, http_status=429, headers=headers)
        return HANDLERS[call.endpoint](call)
