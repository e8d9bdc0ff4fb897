"""Transport-neutral request/response values and the Feishu response envelopes (success and error)."""

from __future__ import annotations

import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.testing.api_pages import Endpoint, lookup

if TYPE_CHECKING:
    from collections.abc import Mapping

JSON_TYPE = "application/json; charset=utf-8"
LOG_ID_HEADER = "X-Tt-Logid"
_SEQUENCE = itertools.count(1)


@dataclass(frozen=True)
class Request:
    """One HTTP request as the emulator sees it. ``headers`` keys are lower-case."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes


@dataclass
class Response:
    """What to send back. ``code`` is the Feishu code for observability (None: no JSON envelope was sent).

    ``drop_connection`` closes the socket with a TCP reset instead of answering.
    """

    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    code: int | None = None
    drop_connection: bool = False


class BadJson(Exception):
    """The request body is not the JSON object an endpoint needs."""


def new_log_id() -> str:
    """A log id shaped like Feishu's: timestamp, sequence and random hex, upper-case."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    return f"{stamp}{next(_SEQUENCE) % 1_000_000:06d}{secrets.token_hex(6).upper()}"


def json_object(body: bytes) -> dict[str, Any]:
    """Parse a request body that must be a JSON object; an empty body counts as ``{}``."""
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadJson(str(exc)) from exc
    if not isinstance(value, dict):
        raise BadJson("body is not a JSON object")
    return value


def json_response(status: int, payload: Mapping[str, Any], *, headers: dict[str, str] | None = None) -> Response:
    code = payload.get("code")
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(status, body, headers=dict(headers or {}), code=code if isinstance(code, int) else None)


def success(data: Any, *, msg: str = "success") -> Response:
    return json_response(200, {"code": 0, "msg": msg, "data": data})


def error(
    endpoint: Endpoint | None,
    code: int,
    log_id: str,
    *,
    http_status: int | None = None,
    msg: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An error envelope with the documented message and HTTP status of ``code`` on ``endpoint``."""
    info = lookup((endpoint or Endpoint.TOKEN).value, code)  # the token table is empty: common codes only
    status = http_status if http_status is not None else (info[0] if info else 400)
    text = msg if msg is not None else (info[1] if info else "unknown error")
    return json_response(status, {"code": code, "msg": text, "error": {"log_id": log_id}}, headers=headers)
