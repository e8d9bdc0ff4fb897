"""The control API over HTTP (``/_emulator/...``), for other processes: the CLI's users, the demo.

=======  ===================================  ==================================================================
GET      /_emulator/state                     base URL, apps, offboardings, request counts, tokens issued, faults
GET      /_emulator/requests                  every recorded request with its outcome
POST     /_emulator/offboardings              add a record (flat form, see ``records``) -> ``offboarding_id``
GET      /_emulator/offboardings/<id>         the record as search returns it (``people_corehr_id``)
POST     /_emulator/offboardings/<id>         change keys of a record (flags, facts, field values)
POST     /_emulator/offboardings/<id>/status  ``{"status": "Approved"}``; ends a pending approval
POST     /_emulator/faults                    ``{"endpoint", "kind", "count"?, "ratio"?, ...parameters}``
DELETE   /_emulator/faults                    drop every pending fault
POST     /_emulator/tokens/invalidate         every token issued so far is invalid
POST     /_emulator/reset-counters            forget recorded requests and the tokens-issued count
POST     /_emulator/clock/advance             ``{"seconds": 1800}``: tokens age, windows pass, the calendar moves
GET      /_emulator/clock                     ``tenant_time``, ``timezone``, ``epoch``, ``speed``, ``approval_delay``
POST     /_emulator/clock                     any of ``{"set": "2026-06-30 23:59:00", "advance": 60, "speed": 60,
                                              "approval_delay": 3600}`` (applied in that order) -> the clock
GET      /_emulator/transitions               every status change with its cause and tenant time
POST     /_emulator/reset                     back to the seed: records, clock, faults, counters, rate-limit
                                              windows, events, tokens (``{"keep_tokens": true}`` keeps tokens)
GET      /_emulator/events                    every event emitted, with its delivery state and attempts
                                              (``?event_type=corehr.offboarding.updated_v2`` filters)
GET      /_emulator/connections               the open long connections
POST     /_emulator/connections/drop          ``{"device_id": ...}`` (or ``{}``: all): cut at once
GET      /_emulator/long-connection           settings, endpoint requests served, open connections
POST     /_emulator/long-connection           any of ``client_config``, ``max_connections``, ``ack_timeout``,
                                              ``retry_delays``, ``fragment_size`` -> the settings
POST     /_emulator/events/faults             ``{"kind", "count"?, ...parameters}`` (see ``event_faults``)
GET      /_emulator/events/faults             pending long-connection faults
DELETE   /_emulator/events/faults             drop them
=======  ===================================  ==================================================================

Success is HTTP 200 with a JSON object; a bad call is HTTP 400 ``{"error": "<what is wrong>"}``, an unknown
offboarding or route HTTP 404.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.testing import wire
from airflow_provider_feishu_corehr.testing.errors import EmulatorError, UnknownOffboardingError

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing.emulator import FeishuEmulator

PREFIX = "/_emulator/"


def _body(request: wire.Request) -> dict[str, Any]:
    try:
        return wire.json_object(request.body)
    except wire.BadJson as exc:
        raise EmulatorError(f"the body must be a JSON object ({exc})") from None


def _route(emu: FeishuEmulator, request: wire.Request) -> Any:
    parts = request.path[len(PREFIX) :].strip("/").split("/")
    method = request.method
    if method == "GET" and parts == ["state"]:
        return emu.state()
    if method == "GET" and parts == ["requests"]:
        return {"requests": [dataclasses.asdict(r) for r in emu.requests]}
    if method == "POST" and parts == ["offboardings"]:
        return {"offboarding_id": emu.add_offboarding(**_body(request))}
    if parts[0] == "offboardings" and len(parts) == 2 and method == "GET":
        return emu.get_offboarding(parts[1])
    if parts[0] == "offboardings" and len(parts) == 2 and method == "POST":
        emu.update_offboarding(parts[1], **_body(request))
        return emu.get_offboarding(parts[1])
    if parts[0] == "offboardings" and parts[2:] == ["status"] and len(parts) == 3 and method == "POST":
        status = _body(request).get("status")
        if not isinstance(status, str):
            raise EmulatorError('the body must be {"status": "<status>"}')
        emu.set_status(parts[1], status)
        return emu.get_offboarding(parts[1])
    if parts == ["faults"] and method == "POST":
        spec = _body(request)
        endpoint, kind = spec.pop("endpoint", None), spec.pop("kind", None)
        if not isinstance(endpoint, str) or not isinstance(kind, str):
            raise EmulatorError('the body must name "endpoint" and "kind"')
        emu.inject_fault(endpoint, kind, **spec)
        return {"faults": emu.faults()}
    if parts == ["faults"] and method == "DELETE":
        emu.clear_faults()
        return {"faults": []}
    if parts == ["tokens", "invalidate"] and method == "POST":
        emu.invalidate_tokens()
        return {"invalidated": True}
    if parts == ["reset-counters"] and method == "POST":
        emu.reset_counters()
        return {"reset": True}
    if parts == ["clock", "advance"] and method == "POST":
        seconds = _body(request).get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise EmulatorError(f'the body must be {{"seconds": <number>}}, got seconds={seconds!r}')
        emu.advance_time(seconds)
        return {"advanced": True}
    if parts == ["clock"] and method == "GET":
        return emu.clock()
    if parts == ["clock"] and method == "POST":
        return _clock(emu, _body(request))
    if parts == ["transitions"] and method == "GET":
        return {"transitions": emu.transitions()}
    if parts[0] in ("events", "connections", "long-connection"):
        return _events(emu, method, parts, request)
    if parts == ["reset"] and method == "POST":
        body = _body(request) if request.body.strip() else {}
        unknown = sorted(set(body) - {"keep_tokens"})
        if unknown:
            raise EmulatorError(f"reset: unknown key(s) {', '.join(unknown)}; allowed: keep_tokens")
        emu.reset(keep_tokens=body.get("keep_tokens", False))
        return {"reset": True, "clock": emu.clock()}
    return None


CLOCK_KEYS = ("set", "advance", "speed", "approval_delay")


def _events(emu: FeishuEmulator, method: str, parts: list[str], request: wire.Request) -> Any:
    """The events and long-connection routes (None: no such route)."""
    if parts == ["events"] and method == "GET":
        return {"events": emu.events(request.query.get("event_type"))}
    if parts == ["connections"] and method == "GET":
        return {"connections": emu.connections()}
    if parts == ["connections", "drop"] and method == "POST":
        device_id = _body(request).get("device_id")
        if device_id is not None and not isinstance(device_id, str):
            raise EmulatorError('the body must be {"device_id": "<id>"} or {}')
        return {"dropped": emu.drop_connections(device_id)}
    if parts == ["long-connection"] and method == "GET":
        return emu.long_connection()
    if parts == ["long-connection"] and method == "POST":
        return emu.configure_long_connection(**_body(request))
    if parts == ["events", "faults"] and method == "POST":
        spec = _body(request)
        kind = spec.pop("kind", None)
        if not isinstance(kind, str):
            raise EmulatorError('the body must name "kind"')
        emu.inject_event_fault(kind, **spec)
        return {"faults": emu.event_faults()}
    if parts == ["events", "faults"] and method == "GET":
        return {"faults": emu.event_faults()}
    if parts == ["events", "faults"] and method == "DELETE":
        emu.clear_event_faults()
        return {"faults": []}
    return None


def _clock(emu: FeishuEmulator, body: dict[str, Any]) -> Any:
    unknown = sorted(set(body) - set(CLOCK_KEYS))
    if unknown or not body:
        raise EmulatorError(f"clock: give any of {', '.join(CLOCK_KEYS)}; unknown: {', '.join(unknown) or 'none'}")
    if "set" in body:
        emu.set_time(body["set"])
    if "advance" in body:
        emu.advance_time(body["advance"])
    if "speed" in body:
        emu.set_clock_speed(body["speed"])
    if "approval_delay" in body:
        emu.set_approval_delay(body["approval_delay"])
    return emu.clock()


def handle(emu: FeishuEmulator, request: wire.Request, log_id: str) -> wire.Response:
    """Serve one control call; errors name the problem."""
    try:
        result = _route(emu, request)
    except UnknownOffboardingError as exc:
        return wire.json_response(404, {"error": str(exc)})
    except (EmulatorError, TypeError) as exc:
        return wire.json_response(400, {"error": str(exc)})
    if result is None:
        return wire.json_response(404, {"error": f"no control route {request.method} {request.path}"})
    return wire.json_response(200, result)
