"""The attempt loop of one API call, sans-IO: the sync and the async client run this same generator.

:func:`exchange` yields actions and receives their results; the transports only perform them: :class:`GetToken`
(answer: a token), :class:`Send` (answer: :class:`HttpResponse` or :class:`TransportFailure` within
:attr:`Send.seconds`), :class:`Sleep` and :class:`DropToken` (answer: ``None``). It returns the accepted
:class:`~.policy.Reply` (marked ``after_ambiguous_attempt`` when an earlier attempt may have reached Feishu without
a definite answer) or raises the error :class:`~.policy.RetryPolicy` decided on, and logs one DEBUG line per
failed attempt (endpoint, attempt, HTTP status, code, log id: never a header or a body)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from airflow_provider_feishu_corehr.client.errors import FeishuDeadlineError, FeishuError
from airflow_provider_feishu_corehr.client.policy import ENDPOINT_RULES, Fail, FailureKind, Ok, Refresh, Reply, Retry

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Mapping

    from airflow_provider_feishu_corehr.client.policy import RetryPolicy
    from airflow_provider_feishu_corehr.client.request import ApiRequest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HttpResponse:
    """What a transport read from the server: HTTP status, headers (any casing), raw body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class TransportFailure:
    """An attempt that produced no HTTP response (the exception text is not kept: it may hold a URL)."""

    kind: FailureKind


@dataclass(frozen=True)
class GetToken:
    """Ask the transport for a tenant access token."""


@dataclass(frozen=True)
class DropToken:
    """Ask the transport to drop exactly this refused token from the cache (if it is still the cached one)."""

    token: str = ""

    def __repr__(self) -> str:
        return "DropToken(token=***)"


@dataclass(frozen=True)
class Send:
    """Ask the transport to send ``request`` with ``token`` (``None``: unauthorized) within ``seconds``, from
    connect to the last body byte."""

    request: ApiRequest
    token: str | None = None
    seconds: float = 30.0

    def __repr__(self) -> str:
        return f"Send(endpoint={self.request.endpoint.value}, token={'***' if self.token else None})"


@dataclass(frozen=True)
class Sleep:
    """Ask the transport to sleep ``seconds`` before the next attempt (``rate_limited``: Feishu's rate limit
    refused the last one)."""

    seconds: float
    rate_limited: bool = False


Action = GetToken | DropToken | Send | Sleep
Result = HttpResponse | TransportFailure | str | None


MIN_ATTEMPT_SECONDS = 0.05
"""An attempt gets at least this long even when ``max_elapsed`` is nearly spent (the budget check let it start)."""


def exchange(
    policy: RetryPolicy,
    request: ApiRequest,
    *,
    clock: Callable[[], float],
    timeout: float,
    deadline: float | None = None,
) -> Generator[Action, Result, Reply]:
    """Run one API call to completion: token, send, decide, sleep/refresh/replay, until an answer or an error.

    A token failure (the transport throws it into the generator at :class:`GetToken`) or a rate-limiter refusal
    (thrown at :class:`Send`) after an ambiguous attempt of a write gets ``outcome_unknown=True`` like any other final
    error.

    :param policy: the retry table and budget.
    :param request: the request to send (built by :mod:`.api`).
    :param clock: monotonic clock in seconds (``elapsed`` is measured with it).
    :param timeout: wall-clock seconds of one attempt (capped by what is left of ``policy.max_elapsed``).
    :param deadline: a time of ``clock`` the call must end by: attempts are cut to it, and a retry whose sleep
        would pass it raises :class:`FeishuDeadlineError` instead (``None``: only the budget bounds the call).
    """
    endpoint = request.endpoint
    writes = ENDPOINT_RULES[endpoint].writes
    started = clock()
    attempt = 0
    refreshed = False
    uncertain = False
    while True:
        token: str | None = None
        if request.authorized:
            try:
                got = yield GetToken()
            except FeishuError as error:
                error.outcome_unknown = error.outcome_unknown or (writes and uncertain)
                raise
            assert isinstance(got, str)
            token = got
        left = policy.max_elapsed - (clock() - started)
        if deadline is not None:
            if deadline - clock() <= 0:
                raise _past_deadline(request, attempt, clock() - started, writes and uncertain)
            left = min(left, deadline - clock())
        attempt += 1
        try:  # the transport throws a rate-limiter refusal (nothing sent) in here
            outcome = yield Send(request, token, max(MIN_ATTEMPT_SECONDS, min(timeout, left)))
        except FeishuError as error:
            error.outcome_unknown = error.outcome_unknown or (writes and uncertain)
            raise
        elapsed = clock() - started
        if isinstance(outcome, HttpResponse):
            decision = policy.decide(
                endpoint,
                status=outcome.status,
                headers=outcome.headers,
                body=outcome.body,
                token_sent=bool(token),
                attempt=attempt,
                elapsed=elapsed,
                refreshed=refreshed,
                accept=request.accept,
                uncertain=uncertain,
                complete=request.complete,
            )
        else:
            assert isinstance(outcome, TransportFailure)
            decision = policy.decide_failure(
                endpoint, outcome.kind, attempt=attempt, elapsed=elapsed, uncertain=uncertain
            )

        if isinstance(decision, Ok):
            return replace(decision.reply, after_ambiguous_attempt=True) if uncertain else decision.reply
        if isinstance(decision, Fail):
            log.debug(
                "feishu %s attempt %d failed for good: %s", endpoint.value, attempt, type(decision.error).__name__
            )
            raise decision.error
        if isinstance(decision, Refresh):
            log.debug(
                "feishu %s attempt %d: token refused (code %s, HTTP %s, log_id %s); refreshing and replaying once",
                endpoint.value,
                attempt,
                decision.code,
                decision.http_status,
                decision.log_id,
            )
            refreshed = True
            assert token is not None
            yield DropToken(token)
            continue
        assert isinstance(decision, Retry)
        uncertain = uncertain or decision.ambiguous
        if deadline is not None and clock() + decision.delay >= deadline:
            raise _past_deadline(request, attempt, clock() - started, writes and uncertain, decision)
        log.debug(
            "feishu %s attempt %d: %s (HTTP %s, code %s, log_id %s); retrying in %.3fs",
            endpoint.value,
            attempt,
            decision.reason,
            decision.http_status,
            decision.code,
            decision.log_id,
            decision.delay,
        )
        yield Sleep(decision.delay, rate_limited=decision.rate_limited)


def _past_deadline(
    request: ApiRequest, attempts: int, elapsed: float, unknown: bool, last: Retry | None = None
) -> FeishuDeadlineError:
    """The error of a call that reached its caller's deadline (with the last attempt's code, status, log id)."""
    return FeishuDeadlineError(
        "the caller's deadline came before an answer" + (f" (last attempt: {last.reason})" if last else ""),
        code=last.code if last else None,
        log_id=last.log_id if last else None,
        http_status=last.http_status if last else None,
        endpoint=request.endpoint.value,
        attempts=attempts,
        elapsed=elapsed,
        outcome_unknown=unknown,
    )
