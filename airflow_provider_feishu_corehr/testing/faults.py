"""Fault injection: per endpoint (or ``"*"``), for the next N requests or a share of requests.

Kinds and their parameters:

``http_500`` / ``http_503``  HTTP 500/503 with a JSON body (``code``: body code, default 500/503)
``html_502``                 HTTP 502 with a gateway HTML page (not JSON)
``delay``                    wait ``seconds`` (default 2.0), then answer normally
``reset``                    close the connection with a TCP reset, no response
``bad_json``                 HTTP 200, ``application/json``, truncated body
``rate_limit_429``           HTTP 429 + 99991400 + ``x-ogw-ratelimit-*`` headers (``reset`` s, default 1; ``limit``)
``rate_limit_400``           the same with HTTP 400 (Feishu does this too)
``system_error``             a documented system error ``code`` (default per endpoint) with its HTTP status
``redirect``                 HTTP ``status`` (default 307) to ``location`` (default another loopback port); the
                             request is not processed
``drip``                     process normally, then send the body one byte every ``seconds`` (default 0.5);
                             ``headers=True`` drips the status line and headers too
``huge_body``                HTTP 200 with a body of ``size`` bytes (default 256 MiB) made on the fly (never held in
                             memory); ``chunked=True`` sends it without ``Content-Length``
``endless_pages``            search only: ``has_more`` with a fresh ``page_token`` every time and ``items`` made-up
                             records per page (default 0); inject it with ``ratio=1`` to make it endless
``late_apply``               hold the request ``seconds`` (default 2.0: past the client's timeout), then apply it
                             and drop the connection: the write lands after the client gave up

``drop_write``               revoke/edit: the request is checked and answered as usual, but its change is not kept
                             (a write Feishu acknowledged and then lost; what ``verify=True`` detects)
``hide_fields``              search: the fields named in ``fields`` (a list) are left out of every item and listed
                             in ``offboarding_info.no_permission_fields`` (the app lacks those fields' scopes)
``no_data``                  edit: the request is processed (the change is kept) and a success is answered code 0
                             without its ``data`` (the documented answer echoes the edited fields)

``after_processing=True`` (http_500, http_503, html_502, reset, bad_json) lets the request take effect before the
response is lost: a client that retries a revoke then sees 1160202.
"""

from __future__ import annotations

import copy
import json
import random
import secrets
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.testing import wire
from airflow_provider_feishu_corehr.testing.api_pages import RATE_LIMITED, Endpoint
from airflow_provider_feishu_corehr.testing.errors import EmulatorError

if TYPE_CHECKING:
    from collections.abc import Callable

KINDS = (
    "http_500",
    "http_503",
    "html_502",
    "delay",
    "reset",
    "bad_json",
    "rate_limit_429",
    "rate_limit_400",
    "system_error",
    "redirect",
    "drip",
    "huge_body",
    "endless_pages",
    "late_apply",
    "drop_write",
    "hide_fields",
    "no_data",
)
# Kinds that let the request be processed and change its effect or answer (see :func:`process_with`).
PROCESSING_KINDS = frozenset({"drop_write", "hide_fields", "no_data"})
TARGETS = (*(e.value for e in Endpoint), "*")
_PARAMS: dict[str, frozenset[str]] = {
    "http_500": frozenset({"code", "after_processing"}),
    "http_503": frozenset({"code", "after_processing"}),
    "html_502": frozenset({"after_processing"}),
    "delay": frozenset({"seconds"}),
    "reset": frozenset({"after_processing"}),
    "bad_json": frozenset({"after_processing"}),
    "rate_limit_429": frozenset({"reset", "limit"}),
    "rate_limit_400": frozenset({"reset", "limit"}),
    "system_error": frozenset({"code", "http_status"}),
    "redirect": frozenset({"status", "location"}),
    "drip": frozenset({"seconds", "headers"}),
    "huge_body": frozenset({"size", "chunked"}),
    "endless_pages": frozenset({"items"}),
    "late_apply": frozenset({"seconds"}),
    "drop_write": frozenset(),
    "hide_fields": frozenset({"fields"}),
    "no_data": frozenset(),
}
WAITING_KINDS = frozenset({"delay", "late_apply"})
"""Kinds that hold the request ``seconds`` before anything else happens."""
_PROCESSED_FIRST = frozenset({"drip", "late_apply"})
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
DEFAULT_REDIRECT = "http://127.0.0.1:9/elsewhere"
DEFAULT_HUGE = 256 * 1024 * 1024
SYSTEM_CODES = {"token": 10013, "revoke": 1160101, "edit": 1161000, "search": 1160999}
_HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)


@dataclass
class Fault:
    """One injected rule. ``remaining`` None means no count limit (ratio rules)."""

    endpoint: str
    kind: str
    remaining: int | None
    ratio: float | None
    params: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "kind": self.kind, "remaining": self.remaining, "ratio": self.ratio}


def _number(kind: str, name: str, value: Any, *, integer: bool = False) -> None:
    valid = isinstance(value, int if integer else int | float) and not isinstance(value, bool) and value >= 0
    if not valid:
        raise EmulatorError(f"fault {kind}: {name} must be a {'whole ' if integer else ''}number >= 0, got {value!r}")


def make_fault(endpoint: str, kind: str, count: int | None, ratio: float | None, params: dict[str, Any]) -> Fault:
    """Validate an injection request and build the rule; raises :class:`EmulatorError` naming the problem."""
    if endpoint not in TARGETS:
        raise EmulatorError(f"fault endpoint {endpoint!r} is unknown; use one of {', '.join(TARGETS)}")
    if kind not in KINDS:
        raise EmulatorError(f"fault kind {kind!r} is unknown; use one of {', '.join(KINDS)}")
    unknown = sorted(set(params) - _PARAMS[kind])
    if unknown:
        allowed = ", ".join(sorted(_PARAMS[kind])) or "none"
        raise EmulatorError(f"fault {kind}: unknown parameter(s) {', '.join(unknown)}; allowed: {allowed}")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise EmulatorError(f"fault count must be a whole number >= 1, got {count!r}")
    if ratio is not None and (isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 <= ratio <= 1):
        raise EmulatorError(f"fault ratio must be a number between 0 and 1, got {ratio!r}")
    for name in ("seconds", "reset"):
        if name in params:
            _number(kind, name, params[name])
    for name in ("code", "limit", "http_status", "size", "items", "status"):
        if name in params:
            _number(kind, name, params[name], integer=True)
    for name in ("after_processing", "chunked", "headers"):
        if name in params and not isinstance(params[name], bool):
            raise EmulatorError(f"fault {kind}: {name} must be true or false")
    if kind == "redirect":
        if params.get("status", 307) not in REDIRECT_STATUSES:
            raise EmulatorError(f"fault redirect: status must be one of {REDIRECT_STATUSES}")
        if not isinstance(params.get("location", DEFAULT_REDIRECT), str):
            raise EmulatorError("fault redirect: location must be a URL string")
    if kind == "endless_pages" and endpoint != Endpoint.SEARCH.value:
        raise EmulatorError("fault endless_pages applies to the search endpoint only")
    targets = {"drop_write": ("revoke", "edit"), "hide_fields": ("search",), "no_data": ("edit",)}.get(kind)
    if targets is not None and endpoint not in targets:
        raise EmulatorError(f"fault {kind} applies to {' and '.join(targets)} only, not {endpoint!r}")
    fields = params.get("fields", [] if kind != "hide_fields" else None)
    if not isinstance(fields, list) or not all(isinstance(f, str) and f for f in fields):
        raise EmulatorError(f"fault {kind}: fields must be a list of field names")
    remaining = count if count is not None else (None if ratio is not None else 1)
    rule_params = dict(params)
    if kind in _PROCESSED_FIRST:
        rule_params["after_processing"] = True
    return Fault(endpoint, kind, remaining, None if ratio is None else float(ratio), rule_params)


def wait_seconds(fault: Fault | None) -> float:
    """How long the request is held before anything else happens (``delay``, ``late_apply``); 0 for others."""
    if fault is None or fault.kind not in WAITING_KINDS:
        return 0.0
    return float(fault.params.get("seconds", 2.0))


@dataclass
class DripResponse(wire.Response):
    """A response whose body (and with :attr:`drip_headers` its head) the server sends a byte at a time."""

    drip_seconds: float = 0.5
    drip_headers: bool = False


@dataclass
class HugeResponse(wire.Response):
    """A response whose body of :attr:`size` bytes the server makes while sending (never held in memory)."""

    size: int = DEFAULT_HUGE
    chunked: bool = False


def _endless_page(items: int) -> wire.Response:
    made_up = [
        {
            "offboarding_id": str(7_000_000_000_000_000_000 + random.randrange(10**15)),
            "status": "Approved",
            "offboarding_info": {"employment_id": str(7_100_000_000_000_000_000 + random.randrange(10**15))},
        }
        for _ in range(items)
    ]
    return wire.success({"items": made_up, "page_token": secrets.token_urlsafe(12), "has_more": True})


class FaultPlan:
    """Thread-safe list of fault rules; the first matching rule (in injection order) fires."""

    def __init__(self, random_seed: int | None = None) -> None:
        self._rules: list[Fault] = []
        self._lock = threading.Lock()
        self._random = random.Random(random_seed)

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._rules.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.describe() for rule in self._rules]

    def take(self, endpoint: str) -> Fault | None:
        """The fault for one request to ``endpoint``, consuming one use of it, or None."""
        with self._lock:
            for rule in self._rules:
                if rule.endpoint not in (endpoint, "*"):
                    continue
                if rule.ratio is not None and self._random.random() >= rule.ratio:
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                return Fault(rule.endpoint, rule.kind, rule.remaining, rule.ratio, dict(rule.params))
        return None


def fault_response(
    fault: Fault, endpoint: Endpoint, log_id: str, limit: int | None, processed: wire.Response | None = None
) -> wire.Response:
    """The response a fault produces (``delay`` has none: the request is then processed normally).

    ``processed`` is the endpoint's own answer when the fault fires after processing (``drip`` sends it slowly).
    """
    kind, params = fault.kind, fault.params
    if kind == "drip":
        answer = processed or wire.success({})
        return DripResponse(
            answer.status,
            answer.body,
            answer.content_type,
            dict(answer.headers),
            answer.code,
            False,
            float(params.get("seconds", 0.5)),
            bool(params.get("headers", False)),
        )
    if kind == "late_apply":
        return wire.Response(0, drop_connection=True)
    if kind == "redirect":
        headers = {"Location": params.get("location", DEFAULT_REDIRECT)}
        return wire.Response(params.get("status", 307), b"", content_type="text/html", headers=headers)
    if kind == "huge_body":
        return HugeResponse(200, size=int(params.get("size", DEFAULT_HUGE)), chunked=bool(params.get("chunked")))
    if kind == "endless_pages":
        return _endless_page(int(params.get("items", 0)))
    if kind in ("http_500", "http_503"):
        status = 500 if kind == "http_500" else 503
        text = "Internal Server Error" if status == 500 else "Service Unavailable"
        payload = {"code": params.get("code", status), "msg": text, "error": {"log_id": log_id}}
        return wire.json_response(status, payload)
    if kind == "html_502":
        return wire.Response(502, _HTML_502, content_type="text/html")
    if kind == "reset":
        return wire.Response(0, drop_connection=True)
    if kind == "bad_json":
        return wire.Response(200, b'{"code":0,"msg":"success","data":{"items":[{"offboarding_id":')
    if kind in ("rate_limit_429", "rate_limit_400"):
        headers = {
            "x-ogw-ratelimit-limit": str(params.get("limit", limit or 1)),
            "x-ogw-ratelimit-reset": str(params.get("reset", 1)),
        }
        status = 429 if kind == "rate_limit_429" else 400
        return wire.error(endpoint, RATE_LIMITED, log_id, http_status=status, headers=headers)
    if kind == "system_error":
        code = params.get("code", SYSTEM_CODES[endpoint.value])
        return wire.error(endpoint, code, log_id, http_status=params.get("http_status"))
    raise EmulatorError(f"fault {kind} has no response")  # delay: the caller handles it


def process_with(fault: Fault, call: Any, process: Callable[[Any], wire.Response]) -> wire.Response:
    """Process ``call`` under a :data:`PROCESSING_KINDS` fault: ``drop_write`` undoes the change after the answer
    was made; ``hide_fields`` takes the named fields out of a search answer and lists them as not permitted;
    ``no_data`` drops the ``data`` of a success."""
    if fault.kind == "drop_write":
        store = call.store
        with store.lock, store.muted():
            saved = {r.offboarding_id: copy.deepcopy(r) for r in store.records()}
            response = process(call)
            record = store.get(call.offboarding_id or "")
            if record is not None and record.offboarding_id in saved:  # undo this request's change only
                vars(record).update(vars(saved[record.offboarding_id]))
        return response
    response = process(call)
    if response.code != 0:
        return response
    if fault.kind == "no_data":
        payload = {k: v for k, v in json.loads(response.body).items() if k != "data"}
        return wire.json_response(response.status, payload, headers=response.headers)
    hidden = list(fault.params["fields"])
    payload = json.loads(response.body)
    for item in payload["data"]["items"]:
        info = item.setdefault("offboarding_info", {})
        for name in hidden:
            info.pop(name, None)
        info["custom_fields"] = [c for c in info.get("custom_fields", []) if c.get("custom_api_name") not in hidden]
        info["no_permission_fields"] = hidden
    return wire.json_response(response.status, payload, headers=response.headers)
