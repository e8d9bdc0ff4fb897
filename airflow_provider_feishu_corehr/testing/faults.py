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

``drop_write``               revoke/edit: the request is checked and answered as usual, but its change is not kept
                             (a write Feishu acknowledged and then lost; what ``verify=True`` detects)
``hide_fields``              search: the fields named in ``fields`` (a list) are left out of every item and listed
                             in ``offboarding_info.no_permission_fields`` (the app lacks those fields' scopes)

``after_processing=True`` (http_500, http_503, html_502, reset, bad_json) lets the request take effect before the
response is lost: a client that retries a revoke then sees 1160202.
"""

from __future__ import annotations

import copy
import json
import random
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.codes import RATE_LIMITED, Endpoint
from airflow_provider_feishu_corehr.testing import wire
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
    "drop_write",
    "hide_fields",
)
# Kinds that let the request be processed and change its effect or answer (see :func:`process_with`).
PROCESSING_KINDS = frozenset({"drop_write", "hide_fields"})
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
    "drop_write": frozenset(),
    "hide_fields": frozenset({"fields"}),
}
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
    for name in ("code", "limit", "http_status"):
        if name in params:
            _number(kind, name, params[name], integer=True)
    targets = {"drop_write": ("revoke", "edit"), "hide_fields": ("search",)}.get(kind)
    if targets is not None and endpoint not in targets:
        raise EmulatorError(f"fault {kind} applies to {' and '.join(targets)} only, not {endpoint!r}")
    fields = params.get("fields", [] if kind != "hide_fields" else None)
    if not isinstance(fields, list) or not all(isinstance(f, str) and f for f in fields):
        raise EmulatorError(f"fault {kind}: fields must be a list of field names")
    if "after_processing" in params and not isinstance(params["after_processing"], bool):
        raise EmulatorError(f"fault {kind}: after_processing must be true or false")
    remaining = count if count is not None else (None if ratio is not None else 1)
    return Fault(endpoint, kind, remaining, None if ratio is None else float(ratio), dict(params))


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


def fault_response(fault: Fault, endpoint: Endpoint, log_id: str, limit: int | None) -> wire.Response:
    """The response a fault produces (``delay`` has none: the request is then processed normally)."""
    kind, params = fault.kind, fault.params
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
    was made; ``hide_fields`` takes the named fields out of a search answer and lists them as not permitted."""
    if fault.kind == "drop_write":
        store = call.store
        with store.lock:
            saved = {r.offboarding_id: copy.deepcopy(r) for r in store.records()}
            response = process(call)
            record = store.get(call.offboarding_id or "")
            if record is not None and record.offboarding_id in saved:  # undo this request's change only
                vars(record).update(vars(saved[record.offboarding_id]))
        return response
    response = process(call)
    if response.code != 0:
        return response
    hidden = list(fault.params["fields"])
    payload = json.loads(response.body)
    for item in payload["data"]["items"]:
        info = item.setdefault("offboarding_info", {})
        for name in hidden:
            info.pop(name, None)
        info["custom_fields"] = [c for c in info.get("custom_fields", []) if c.get("custom_api_name") not in hidden]
        info["no_permission_fields"] = hidden
    return wire.json_response(response.status, payload, headers=response.headers)
