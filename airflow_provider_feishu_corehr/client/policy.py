"""The retry table of the client, sans-IO: one answer for one HTTP outcome.

Given the endpoint, the HTTP status, the headers and the body bytes of a response (or the kind of transport
failure), whether a token was sent, the attempt number and the time spent so far, :meth:`RetryPolicy.decide`
returns exactly one :data:`Decision`:

* :class:`Ok` – a Feishu envelope with ``code == 0`` (or a code the caller accepts as an answer);
* :class:`Retry` – sleep ``delay`` seconds and send again;
* :class:`Refresh` – drop the token that was sent, fetch a new one and replay the request once;
* :class:`Fail` – raise the typed error it carries.

The table (``docs/design.md``, "Retry rule"), in the order the rows are checked:

====================================================  ========================================================
what came back                                        decision
====================================================  ========================================================
HTTP 429, or code 99991400 with any HTTP status       wait ``x-ogw-ratelimit-reset`` s (capped) + jitter, retry
token-invalid code (:data:`codes.TOKEN_INVALID`;      drop that token, refresh, replay once; a second time:
99991661 only when a token was sent), any status      :class:`FeishuAuthError`
connection error, timeout, reset, HTTP 5xx, a body    exponential backoff with full jitter, retry
that is not a JSON envelope (gateway HTML page)
documented system error (:attr:`Treatment.RETRY`)     exponential backoff with full jitter, retry
``code == 0`` (or an accepted code)                   :class:`Ok`
any other code                                        typed error (auth or business), no retry
====================================================  ========================================================

Retries stay within a budget (``max_attempts`` attempts and ``max_elapsed`` seconds per call); when it is spent
the error says how many attempts were made, over how long, and the last code, HTTP status and log id.
A non-JSON body with a 4xx status (other than 408/429) is not a gateway hiccup but a wrong URL: it fails at once.
Nothing here reads a clock, sleeps or touches a socket; randomness comes from an injectable ``random``.
"""

from __future__ import annotations

import json
import random as _random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client import codes
from airflow_provider_feishu_corehr.client.codes import Endpoint, Treatment
from airflow_provider_feishu_corehr.client.errors import (
    FeishuAuthError,
    FeishuBusinessError,
    FeishuError,
    FeishuRateLimitError,
    FeishuTransientError,
)

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.client.models import ClientSettings

LOG_ID_HEADER = "X-Tt-Logid"
RATE_LIMIT_RESET_HEADER = "x-ogw-ratelimit-reset"


class FailureKind(str, Enum):
    """Transport failures that carry no HTTP response; all of them are retried within the budget."""

    CONNECT = "connection error"
    TIMEOUT = "timeout"
    RESET = "connection reset"
    PROTOCOL = "protocol error"


@dataclass(frozen=True)
class Reply:
    """A Feishu JSON envelope that the caller accepted.

    :param code: the ``code`` of the envelope (0 unless the request accepts another code as an answer).
    :param msg: the ``msg`` of the envelope.
    :param body: the whole decoded envelope (may hold personal data and, for the token endpoint, the token:
        never log it).
    :param log_id: ``X-Tt-Logid`` header, else ``error.log_id``.
    :param http_status: HTTP status of the response.
    """

    code: int
    msg: str
    body: Mapping[str, Any]
    log_id: str | None
    http_status: int

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
    """

    delay: float
    reason: str
    code: int | None = None
    http_status: int | None = None
    log_id: str | None = None


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


def _envelope(body: bytes) -> dict[str, Any] | None:
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


def _log_id(headers: Mapping[str, str], envelope: Mapping[str, Any] | None) -> str | None:
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


def _reset_seconds(headers: Mapping[str, str]) -> float | None:
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


@dataclass(frozen=True)
class RetryPolicy:
    """The retry table with its budget.

    :param max_attempts: attempts per call, the first included.
    :param max_elapsed: seconds per call over all attempts; no sleep may end beyond it.
    :param backoff_base: first backoff ceiling in seconds, doubled per attempt (full jitter: uniform in
        ``[0, ceiling)``).
    :param backoff_max: cap of one backoff ceiling.
    :param rate_limit_wait_max: cap of one wait on ``x-ogw-ratelimit-reset``.
    :param random: returns a float in ``[0, 1)``; injectable for tests.
    """

    max_attempts: int = 5
    max_elapsed: float = 120.0
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    rate_limit_wait_max: float = 60.0
    random: Callable[[], float] = _random.random

    @classmethod
    def from_settings(cls, settings: ClientSettings, *, random: Callable[[], float] | None = None) -> RetryPolicy:
        """Build the policy from client settings.

        :param settings: the client settings (budget and backoff fields are read).
        :param random: optional source of randomness in ``[0, 1)``.
        """
        return cls(
            max_attempts=settings.max_attempts,
            max_elapsed=settings.max_elapsed,
            backoff_base=settings.backoff_base,
            backoff_max=settings.backoff_max,
            rate_limit_wait_max=settings.rate_limit_wait_max,
            random=random or _random.random,
        )

    # -- delays -------------------------------------------------------------------------------------------

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff after attempt number ``attempt`` (1-based).

        :param attempt: number of the attempt that just failed.
        """
        ceiling = min(self.backoff_max, self.backoff_base * 2.0 ** max(0, attempt - 1))
        return self.random() * ceiling

    def rate_limit_wait(self, reset: float | None, attempt: int) -> float:
        """Wait for a rate-limited attempt: the reset seconds (capped) plus a little jitter.

        Without a usable reset header the exponential backoff is used.

        :param reset: value of ``x-ogw-ratelimit-reset`` in seconds, or ``None``.
        :param attempt: number of the attempt that just failed.
        """
        if reset is None:
            return self.backoff(attempt)
        return min(reset, self.rate_limit_wait_max) + self.random() * min(self.backoff_base, self.backoff_max)

    # -- the table ----------------------------------------------------------------------------------------

    def decide(
        self,
        endpoint: Endpoint,
        *,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        token_sent: bool,
        attempt: int,
        elapsed: float,
        refreshed: bool = False,
        accept: frozenset[int] = frozenset(),
    ) -> Decision:
        """Decide what to do with one HTTP response.

        :param endpoint: the logical endpoint that was called.
        :param status: HTTP status code.
        :param headers: response headers (any casing).
        :param body: raw response body.
        :param token_sent: whether a tenant access token was sent with the request.
        :param attempt: number of this attempt (1-based).
        :param elapsed: seconds since the first attempt of this call started.
        :param refreshed: whether the token was already refreshed once during this call.
        :param accept: non-zero codes that are an answer for this request (e.g. 1160202 for revoke).
        """
        envelope = _envelope(body)
        log_id = _log_id(headers, envelope)
        code = envelope["code"] if envelope is not None else None
        msg = envelope.get("msg") if envelope is not None else None
        msg = msg if isinstance(msg, str) else ""

        # Row 1: rate limited.
        if status == 429 or code == codes.RATE_LIMITED:
            info = codes.lookup(endpoint, codes.RATE_LIMITED)
            delay = self.rate_limit_wait(_reset_seconds(headers), attempt)
            return self._retry_or_give_up(
                FeishuRateLimitError,
                endpoint,
                delay=delay,
                reason="rate limited",
                msg=msg or (info.msg if info else "rate limited"),
                code=code,
                status=status,
                log_id=log_id,
                advice=info.advice if info else None,
                attempt=attempt,
                elapsed=elapsed,
            )

        # Row 2: token invalid, whatever the HTTP status.
        if code is not None and code in codes.TOKEN_INVALID and (token_sent or code != codes.NEED_TOKEN):
            if token_sent and not refreshed and endpoint is not Endpoint.TOKEN:
                return Refresh(code=code, http_status=status, log_id=log_id)
            info = codes.lookup(endpoint, code)
            return Fail(
                FeishuAuthError(
                    (msg or (info.msg if info else "token invalid"))
                    + (" (still refused after one token refresh)" if refreshed else ""),
                    code=code,
                    log_id=log_id,
                    http_status=status,
                    endpoint=endpoint.value,
                    advice=info.advice if info else None,
                    attempts=attempt,
                    elapsed=elapsed,
                )
            )

        # Row 3: not a Feishu envelope (gateway page, truncated body) or a server error.
        if envelope is None:
            if 400 <= status < 500 and status != 408:
                return Fail(
                    FeishuBusinessError(
                        "response body is not a Feishu JSON envelope",
                        http_status=status,
                        log_id=log_id,
                        endpoint=endpoint.value,
                        advice="Check the base URL of the connection.",
                        attempts=attempt,
                        elapsed=elapsed,
                    )
                )
            return self._retry_or_give_up(
                FeishuTransientError,
                endpoint,
                delay=self.backoff(attempt),
                reason="body is not JSON",
                msg="response body is not a Feishu JSON envelope",
                code=None,
                status=status,
                log_id=log_id,
                advice=None,
                attempt=attempt,
                elapsed=elapsed,
            )
        assert code is not None

        if code == 0 or code in accept:
            if status >= 500:
                return self._retry_or_give_up(
                    FeishuTransientError,
                    endpoint,
                    delay=self.backoff(attempt),
                    reason="server error",
                    msg=msg or "server error",
                    code=code,
                    status=status,
                    log_id=log_id,
                    advice=None,
                    attempt=attempt,
                    elapsed=elapsed,
                )
            return Ok(Reply(code=code, msg=msg, body=envelope, log_id=log_id, http_status=status))

        # Row 4: documented system error, or an undocumented code with a 5xx status.
        info = codes.lookup(endpoint, code)
        if (info is not None and info.treatment is Treatment.RETRY) or (info is None and status >= 500):
            return self._retry_or_give_up(
                FeishuTransientError,
                endpoint,
                delay=self.backoff(attempt),
                reason="system error" if info else "server error",
                msg=msg or (info.msg if info else "server error"),
                code=code,
                status=status,
                log_id=log_id,
                advice=info.advice if info else None,
                attempt=attempt,
                elapsed=elapsed,
            )

        # Row 5: everything else is permanent.
        auth = endpoint is Endpoint.TOKEN or (info is not None and info.treatment is Treatment.AUTH)
        error_type = FeishuAuthError if auth else FeishuBusinessError
        return Fail(
            error_type(
                msg or (info.msg if info else "request failed"),
                code=code,
                log_id=log_id,
                http_status=status,
                endpoint=endpoint.value,
                advice=info.advice if info else None,
                attempts=attempt,
                elapsed=elapsed,
            )
        )

    def decide_failure(self, endpoint: Endpoint, kind: FailureKind, *, attempt: int, elapsed: float) -> Decision:
        """Decide what to do when an attempt ended without an HTTP response.

        :param endpoint: the logical endpoint that was called.
        :param kind: what kind of transport failure happened.
        :param attempt: number of this attempt (1-based).
        :param elapsed: seconds since the first attempt of this call started.
        """
        return self._retry_or_give_up(
            FeishuTransientError,
            endpoint,
            delay=self.backoff(attempt),
            reason=kind.value,
            msg=kind.value,
            code=None,
            status=None,
            log_id=None,
            advice=None,
            attempt=attempt,
            elapsed=elapsed,
        )

    def _retry_or_give_up(
        self,
        error_type: type[FeishuError],
        endpoint: Endpoint,
        *,
        delay: float,
        reason: str,
        msg: str,
        code: int | None,
        status: int | None,
        log_id: str | None,
        advice: str | None,
        attempt: int,
        elapsed: float,
    ) -> Decision:
        """Retry after ``delay`` if the budget allows it, else fail with an error that reports the budget."""
        if attempt < self.max_attempts and elapsed + delay <= self.max_elapsed:
            return Retry(delay=delay, reason=reason, code=code, http_status=status, log_id=log_id)
        return Fail(
            error_type(
                f"{msg}; retry budget spent (max {self.max_attempts} attempts, {self.max_elapsed:g}s)",
                code=code,
                log_id=log_id,
                http_status=status,
                endpoint=endpoint.value,
                advice=advice,
                attempts=attempt,
                elapsed=elapsed,
            )
        )
