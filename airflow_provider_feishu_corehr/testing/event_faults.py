"""Faults of the long connection, injected through the control API (``POST /_emulator/events/faults``).

Each rule fires for the next ``count`` occasions (default 1) of its kind:

====================  ==============================================================================================
``delay``             the next events wait ``seconds`` (default 5) before their first push
``duplicate``         the next events are pushed ``copies`` times (default 2), each copy its own message (same
                      ``event_id``): at-least-once delivery, as the event overview warns
``fragment``          the next events are split over ``parts`` frames (default 3; ``sum``/``seq`` headers)
``drop_connection``   at the next pushes the connection chosen is closed instead (the event is pushed again on
                      the retry schedule)
``refuse_handshake``  the next WebSocket handshakes are refused with ``handshake-status`` ``status`` (default 500,
                      a server error the client retries; 403 forbidden and 514 auth failed are client errors
                      only with ``autherrcode`` 1000040350 for 514), ``msg`` and ``autherrcode``
``connection_limit``  the next handshakes are refused as over the app's connection limit (514, 1000040350)
``endpoint_error``    the next endpoint requests answer ``code`` (default 1, "system busy") with ``msg``
====================  ==============================================================================================
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_feishu_corehr.testing.errors import EmulatorError

_PARAMS: dict[str, dict[str, Any]] = {
    "delay": {"seconds": 5.0},
    "duplicate": {"copies": 2},
    "fragment": {"parts": 3},
    "drop_connection": {},
    "refuse_handshake": {"status": 500, "msg": "server error", "autherrcode": None},
    "connection_limit": {},
    "endpoint_error": {"code": 1, "msg": "system busy"},
}
KINDS = tuple(_PARAMS)
_WHOLE = {"copies": 2, "parts": 2, "status": 100, "code": 1, "autherrcode": 0}


@dataclass
class EventFault:
    """One rule: its kind, how many more times it fires, and its parameters (defaults filled in)."""

    kind: str
    remaining: int
    params: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "remaining": self.remaining, **self.params}


def make_event_fault(kind: Any, count: Any = None, **params: Any) -> EventFault:
    """Validate a rule; raises :class:`EmulatorError` naming the kind, the parameter and the rule.

    :param kind: one of :data:`KINDS`.
    :param count: how many occasions it fires for (default 1).
    :param params: the kind's parameters (see the module docstring).
    """
    if kind not in _PARAMS:
        raise EmulatorError(f"event fault kind {kind!r} is unknown; use one of {', '.join(KINDS)}")
    unknown = sorted(set(params) - set(_PARAMS[kind]))
    if unknown:
        allowed = ", ".join(_PARAMS[kind]) or "none"
        raise EmulatorError(f"event fault {kind}: unknown parameter(s) {', '.join(unknown)}; allowed: {allowed}")
    count = 1 if count is None else count
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise EmulatorError(f"event fault {kind}: count must be a whole number >= 1, got {count!r}")
    merged = {**_PARAMS[kind], **params}
    for name, minimum in _WHOLE.items():
        value = merged.get(name)
        if name in params and value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise EmulatorError(f"event fault {kind}: {name} must be a whole number >= {minimum}, got {value!r}")
        if name in params and value is not None and value < minimum:
            raise EmulatorError(f"event fault {kind}: {name} must be a whole number >= {minimum}, got {value!r}")
    seconds = merged.get("seconds", 0)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        raise EmulatorError(f"event fault {kind}: seconds must be a number >= 0, got {seconds!r}")
    if "msg" in merged and not isinstance(merged["msg"], str):
        raise EmulatorError(f"event fault {kind}: msg must be text")
    return EventFault(kind, count, merged)


class EventFaultPlan:
    """Pending long-connection fault rules; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[EventFault] = []

    def add(self, rule: EventFault) -> None:
        with self._lock:
            self._rules.append(rule)

    def take(self, kind: str) -> EventFault | None:
        """The oldest pending rule of ``kind``, used once (None: no such rule).

        :param kind: the occasion: one of :data:`KINDS`.
        """
        with self._lock:
            rule = next((r for r in self._rules if r.kind == kind), None)
            if rule is None:
                return None
            rule.remaining -= 1
            if rule.remaining <= 0:
                self._rules.remove(rule)
            return rule

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.describe() for r in self._rules]

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
