"""The retry table of the client, sans-IO: one :data:`Decision` for one HTTP outcome.

:meth:`RetryPolicy.decide` (an HTTP response, rows 1-8) and :meth:`RetryPolicy.decide_failure` (no response,
rows 9-11) return :class:`Ok`, :class:`Retry` (sleep, send again), :class:`Refresh` (drop the token, replay once) or
:class:`Fail` (raise its typed error). The rows, their order, the ambiguous rows 5 and 11 (``outcome_unknown`` for
writes, no re-send of an edit) and why a 5xx retries whatever its code are in ``docs/transport.md`` ("The retry
table", "Outcome unknown"); the row numbers in the code below are that table's. Nothing here reads a clock, sleeps
or touches a socket; randomness comes from an injectable ``random``."""

from __future__ import annotations

import random as _random
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_feishu_corehr.client import codes
from airflow_provider_feishu_corehr.client.codes import Endpoint, Treatment
from airflow_provider_feishu_corehr.client.decisions import (
    Decision,
    Fail,
    Ok,
    Refresh,
    Reply,
    Retry,
    envelope_of,
    header,
    log_id_of,
    reset_seconds,
)
from airflow_provider_feishu_corehr.client.errors import (
    FeishuAuthError,
    FeishuBusinessError,
    FeishuError,
    FeishuRateLimitError,
    FeishuRedirectError,
    FeishuResponseTooLargeError,
    FeishuTLSError,
    FeishuTransientError,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from airflow_provider_feishu_corehr.client.models import ClientSettings

__all__ = [
    "ENDPOINT_RULES",
    "Decision",
    "EndpointRule",
    "Fail",
    "FailureKind",
    "Ok",
    "Refresh",
    "Reply",
    "Retry",
    "RetryPolicy",
]


class FailureKind(StrEnum):
    """Transport failures that carry no (readable) HTTP response."""

    CONNECT = "connection error"
    CONNECT_TIMEOUT = "connect timeout"
    TLS = "TLS certificate not trusted"
    TIMEOUT = "timeout"
    RESET = "connection reset"
    PROTOCOL = "protocol error"
    TOO_LARGE = "response body too large"

    @property
    def sent(self) -> bool:
        """Whether the request may have reached the server (connect failures and TLS refusals: it did not)."""
        return self not in (FailureKind.CONNECT, FailureKind.CONNECT_TIMEOUT, FailureKind.TLS)


@dataclass(frozen=True)
class EndpointRule:
    """What an endpoint's requests do on the server, for the outcome-unknown rule.

    :param writes: a request changes data: an attempt that may have reached Feishu without a definite answer
        leaves the outcome unknown.
    :param resend_after_ambiguous: whether the request may be sent again after such an attempt.
    """

    writes: bool
    resend_after_ambiguous: bool


ENDPOINT_RULES: dict[Endpoint, EndpointRule] = {
    Endpoint.TOKEN: EndpointRule(writes=False, resend_after_ambiguous=True),
    # A repeated revoke answers 1160202 (already withdrawn): re-sending is safe and resolves the outcome.
    Endpoint.REVOKE: EndpointRule(writes=True, resend_after_ambiguous=True),
    # An edit held by the server and applied after the client gave up could overwrite a value written in between
    # (by our own retry or by someone else): never re-sent after an ambiguous attempt.
    Endpoint.EDIT: EndpointRule(writes=True, resend_after_ambiguous=False),
    Endpoint.SEARCH: EndpointRule(writes=False, resend_after_ambiguous=True),
}


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
        """The policy of ``settings`` (budget and backoff fields).

        :param settings: the client settings.
        :param random: source of randomness in ``[0, 1)``.
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
        """Wait for a rate-limited attempt: the reset seconds (capped) plus a little jitter, else the backoff.

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
        uncertain: bool = False,
        complete: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> Decision:
        """Decide what to do with one HTTP response (rows 1-8).

        :param endpoint: the endpoint that was called.
        :param status: HTTP status code.
        :param headers: response headers (any casing).
        :param body: raw response body.
        :param token_sent: whether a tenant access token was sent.
        :param attempt: number of this attempt (1-based).
        :param elapsed: seconds since the call's first attempt started.
        :param refreshed: whether the token was already refreshed once in this call.
        :param accept: non-zero codes that answer this request (1160202 for revoke).
        :param uncertain: an earlier attempt may have reached Feishu without a definite answer.
        :param complete: checks that an accepted envelope holds what the request needs (row 7).
        """
        envelope = envelope_of(body)
        log_id = log_id_of(headers, envelope)
        code = envelope["code"] if envelope is not None else None
        msg = envelope.get("msg") if envelope is not None else None
        msg = msg if isinstance(msg, str) else ""
        done = _Attempt(self, endpoint, attempt, elapsed, uncertain, code, status, log_id)

        # Row 1: a redirect is an error, never followed.
        if 300 <= status < 400:
            target = _host_of(header(headers, "Location"))
            return done.fail(
                FeishuRedirectError,
                f"HTTP {status} redirect to {target}; redirects are never followed (no request goes elsewhere)",
                advice="Check the base URL of the connection (and any proxy in between).",
            )

        # Row 2: rate limited.
        if status == 429 or code == codes.RATE_LIMITED:
            info = codes.lookup(endpoint, codes.RATE_LIMITED)
            return done.retry(
                FeishuRateLimitError,
                delay=self.rate_limit_wait(reset_seconds(headers), attempt),
                reason="rate limited",
                msg=msg or (info.msg if info else "rate limited"),
                advice=info.advice if info else None,
            )

        # Row 3: token invalid, whatever the HTTP status.
        if code is not None and code in codes.TOKEN_INVALID and (token_sent or code != codes.NEED_TOKEN):
            if token_sent and not refreshed and endpoint is not Endpoint.TOKEN:
                return Refresh(code=code, http_status=status, log_id=log_id)
            info = codes.lookup(endpoint, code)
            text = msg or (info.msg if info else "token invalid")
            return done.fail(
                FeishuAuthError,
                text + (" (still refused after one token refresh)" if refreshed else ""),
                advice=info.advice if info else None,
            )

        # Row 4: a 4xx page that is not a Feishu envelope: a wrong URL, not a hiccup.
        if envelope is None and 400 <= status < 500 and status != 408:
            return done.fail(
                FeishuBusinessError,
                "response body is not a Feishu JSON envelope",
                advice="Check the base URL of the connection.",
            )

        # Row 5: a server error (whatever the body code) or a body that is not an envelope: ambiguous.
        if envelope is None or status >= 500:
            info = codes.lookup(endpoint, code) if code is not None else None
            text = "response body is not a Feishu JSON envelope" if envelope is None else (msg or "server error")
            return done.retry(
                FeishuTransientError,
                delay=self.backoff(attempt),
                reason="body is not JSON" if envelope is None else "server error",
                msg=text,
                advice=info.advice if info else None,
                ambiguous=True,
            )
        assert code is not None

        # Row 6: documented system error, with a definite (non-5xx) answer.
        info = codes.lookup(endpoint, code)
        if info is not None and info.treatment is Treatment.RETRY and code not in accept:
            return done.retry(
                FeishuTransientError,
                delay=self.backoff(attempt),
                reason="system error",
                msg=msg or info.msg,
                advice=info.advice,
            )

        # Row 7: an answer (a malformed one is a hiccup, retried).
        if code == 0 or code in accept:
            if complete is not None and not complete(envelope):
                return done.retry(
                    FeishuTransientError,
                    delay=self.backoff(attempt),
                    reason="incomplete answer",
                    msg="the answer lacks the fields this request needs",
                )
            return Ok(Reply(code=code, msg=msg, body=envelope, log_id=log_id, http_status=status))

        # Row 8: everything else is permanent.
        auth = endpoint is Endpoint.TOKEN or (info is not None and info.treatment is Treatment.AUTH)
        return done.fail(
            FeishuAuthError if auth else FeishuBusinessError,
            msg or (info.msg if info else "request failed"),
            advice=info.advice if info else None,
        )

    def decide_failure(
        self, endpoint: Endpoint, kind: FailureKind, *, attempt: int, elapsed: float, uncertain: bool = False
    ) -> Decision:
        """Decide what to do when an attempt ended without a readable HTTP response (rows 9-11).

        :param endpoint: the endpoint that was called.
        :param kind: what kind of transport failure happened.
        :param attempt: number of this attempt (1-based).
        :param elapsed: seconds since the call's first attempt started.
        :param uncertain: an earlier attempt may have reached Feishu without a definite answer.
        """
        done = _Attempt(self, endpoint, attempt, elapsed, uncertain, None, None, None)
        if kind is FailureKind.TLS:
            return done.fail(
                FeishuTLSError,
                "the server's TLS certificate is not trusted; nothing was sent",
                advice="Set the connection extra ca_bundle (or REQUESTS_CA_BUNDLE / SSL_CERT_FILE) to the CA "
                "that issued the server's certificate.",
            )
        error_type = FeishuResponseTooLargeError if kind is FailureKind.TOO_LARGE else FeishuTransientError
        return done.retry(
            error_type, delay=self.backoff(attempt), reason=kind.value, msg=kind.value, ambiguous=kind.sent
        )


def _host_of(location: str | None) -> str:
    """The host (and port) a ``Location`` header points to, for the error message; never the path or query."""
    if not location:
        return "an unnamed location (no Location header)"
    try:
        parts = urlsplit(location.strip())
        host = parts.netloc.rpartition("@")[2]
    except ValueError:
        return "an unreadable location"
    return f"{parts.scheme}://{host}" if host else "a path on the same host"


@dataclass(frozen=True)
class _Attempt:
    """One finished attempt, turning "retry" or "fail" into a decision with the budget and outcome rules."""

    policy: RetryPolicy
    endpoint: Endpoint
    attempt: int
    elapsed: float
    uncertain: bool
    code: int | None
    status: int | None
    log_id: str | None

    def retry(
        self,
        error_type: type[FeishuError],
        *,
        delay: float,
        reason: str,
        msg: str,
        advice: str | None = None,
        ambiguous: bool = False,
    ) -> Decision:
        """Retry after ``delay`` if the budget and the endpoint's rule allow it, else fail."""
        policy, rule = self.policy, ENDPOINT_RULES[self.endpoint]
        if ambiguous and rule.writes and not rule.resend_after_ambiguous:
            return self.fail(
                error_type,
                f"{msg}; the request may have reached Feishu, so it is not sent again (outcome unknown)",
                advice="Read the record back before sending it again: Feishu may have applied it.",
                ambiguous=True,
            )
        if self.attempt < policy.max_attempts and self.elapsed + delay <= policy.max_elapsed:
            return Retry(
                delay=delay,
                reason=reason,
                code=self.code,
                http_status=self.status,
                log_id=self.log_id,
                ambiguous=ambiguous,
                rate_limited=error_type is FeishuRateLimitError,
            )
        budget = f"max {policy.max_attempts} attempts, {policy.max_elapsed:g}s"
        return self.fail(error_type, f"{msg}; retry budget spent ({budget})", advice=advice, ambiguous=ambiguous)

    def fail(
        self, error_type: type[FeishuError], msg: str, *, advice: str | None = None, ambiguous: bool = False
    ) -> Fail:
        """Give up with ``error_type``; a write any of whose attempts was ambiguous has an unknown outcome."""
        unknown = ENDPOINT_RULES[self.endpoint].writes and (ambiguous or self.uncertain)
        return Fail(
            error_type(
                msg,
                code=self.code,
                log_id=self.log_id,
                http_status=self.status,
                endpoint=self.endpoint.value,
                advice=advice,
                attempts=self.attempt,
                elapsed=self.elapsed,
                outcome_unknown=unknown,
            )
        )
