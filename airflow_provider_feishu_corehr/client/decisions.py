"""The values the retry table (:mod:`.policy`) works with: a decoded reply, the four decisions, header helpers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.client.errors import FeishuError

LOG_ID_HEADER = "X-Tt-Logid"
RATE_LIMIT_RESET_HEADER = "x-ogw-ratelimit-reset"


@dataclass(frozen=True)
class Reply:
    """A Feishu JSON envelope that the caller accepted.

    :param code: the ``code`` of the envelope (0 unless the request accepts another code as an answer).
    :param msg: the ``msg`` of the envelope.
    :param body: the whole decoded envelope (may hold personal data and, for the token endpoint, the token:
        never log it).
    :param log_id: ``X-Tt-Logid`` header, else ``error.log_id``.
    :param http_status: HTTP status of the response.
    :param after_ambiguous_attempt: an earlier attempt of the same call may have reached Feishu without a definite
        answer (set by :func:`.exchange.exchange`; a revoke answered 1160202 then means our own revoke landed).
    """

    code: int
    msg: str
    body: Mapping[str, Any]
    log_id: str | None
    http_status: int
    after_ambiguous_attempt: bool = False

    @property
    def data(self) -> Mapping[str, Any]:
        """The ``data`` object of the envelope (empty when absent)."""
        data = self.body.get("data")
        return data if isinstance(data, Mapping) else {}


@dataclass(frozen=True)
class Ok:
    """The response is an answer: hand :attr:`reply` to the response parser."""

    reply: Reply


@dataclass(frozen=True)
class Retry:
    """Sleep :attr:`delay` seconds, then send the same request again.

    :param delay: seconds to wait before the next attempt.
    :param reason: what went wrong, for a DEBUG log line (no body, no header).
    :param code: Feishu code of the failed attempt, if any.
    :param http_status: HTTP status of the failed attempt, if any.
    :param log_id: log id of the failed attempt, if any.
    :param ambiguous: the failed attempt may have reached Feishu (a write's outcome is then unknown).
    :param rate_limited: Feishu refused the attempt for its rate limit (row 2 of the retry table).
    """

    delay: float
    reason: str
    code: int | None = None
    http_status: int | None = None
    log_id: str | None = None
    ambiguous: bool = False
    rate_limited: bool = False


@dataclass(frozen=True)
class Refresh:
    """The token that was sent is invalid: drop exactly that token, fetch a new one, replay once."""

    code: int
    http_status: int
    log_id: str | None


@dataclass(frozen=True)
class Fail:
    """Give up: raise :attr:`error`."""

    error: FeishuError


Decision = Ok | Retry | Refresh | Fail


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Return header ``name`` looked up case-insensitively (works on plain dicts too).

    :param headers: response headers.
    :param name: header name in any casing.
    """
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, val in headers.items():
        if key.lower() == lowered:
            return val
    return None


def envelope_of(body: bytes) -> dict[str, Any] | None:
    """Decode a Feishu envelope; ``None`` when the body is not a JSON object with an integer ``code``."""
    try:
        decoded = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(decoded, dict):
        return None
    code = decoded.get("code")
    if not isinstance(code, int) or isinstance(code, bool):
        return None
    return decoded


def log_id_of(headers: Mapping[str, str], envelope: Mapping[str, Any] | None) -> str | None:
    """``X-Tt-Logid`` header, else ``error.log_id`` of the envelope."""
    found = header(headers, LOG_ID_HEADER)
    if found:
        return found
    if envelope is not None:
        error = envelope.get("error")
        if isinstance(error, Mapping):
            log_id = error.get("log_id")
            if isinstance(log_id, str) and log_id:
                return log_id
    return None


def reset_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``x-ogw-ratelimit-reset``; ``None`` when missing or not a non-negative number."""
    raw = header(headers, RATE_LIMIT_RESET_HEADER)
    if raw is None:
        return None
    try:
        seconds = float(raw.strip())
    except ValueError:
        return None
    if seconds != seconds or seconds < 0 or seconds == float("inf"):
        return None
    return seconds
