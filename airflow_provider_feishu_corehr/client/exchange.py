"""The attempt loop of one API call, sans-IO: the sync and the async client run this same generator.

:func:`exchange` yields *actions* and receives their results; the transports only perform them:

* :class:`GetToken` -> the transport answers with a tenant access token (from the cache or freshly fetched);
* :class:`Send` -> the transport waits for the client-side rate limiter, sends, and answers with
  :class:`HttpResponse` or :class:`TransportFailure`;
* :class:`Sleep` -> the transport sleeps (answer ``None``);
* :class:`DropToken` -> the transport drops exactly that token from the cache (answer ``None``).

The generator returns the accepted :class:`~.policy.Reply` or raises the typed error the policy decided on.
Every decision comes from :class:`~.policy.RetryPolicy`; this module only sequences them and logs one DEBUG
line per failed attempt (endpoint, attempt, HTTP status, code, log id: never a header or a body).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_feishu_corehr.client.policy import Fail, FailureKind, Ok, Refresh, Reply, Retry

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Mapping

    from airflow_provider_feishu_corehr.client.api import ApiRequest
    from airflow_provider_feishu_corehr.client.policy import RetryPolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HttpResponse:
    """What a transport read from the server.

    :param status: HTTP status.
    :param headers: response headers (any casing).
    :param body: raw body bytes.
    """

    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class TransportFailure:
    """An attempt that produced no HTTP response.

    :param kind: classification of the failure (the exception text is not kept: it may hold a URL).
    """

    kind: FailureKind


@dataclass(frozen=True)
class GetToken:
    """Ask the transport for a tenant access token."""


@dataclass(frozen=True)
class DropToken:
    """Ask the transport to drop exactly this token from the cache (if it is still the cached one).

    :param token: the token the server refused.
    """

    token: str = ""

    def __repr__(self) -> str:
        return "DropToken(token=***)"


@dataclass(frozen=True)
class Send:
    """Ask the transport to send ``request`` with ``token`` (``None`` for the token endpoint).

    :param request: what to send.
    :param token: the bearer token to send, if the request is authorized.
    """

    request: ApiRequest
    token: str | None = None

    def __repr__(self) -> str:
        return f"Send(endpoint={self.request.endpoint.value}, token={'***' if self.token else None})"


@dataclass(frozen=True)
class Sleep:
    """Ask the transport to sleep.

    :param seconds: how long.
    """

    seconds: float


Action = GetToken | DropToken | Send | Sleep
Result = HttpResponse | TransportFailure | str | None


def exchange(
    policy: RetryPolicy, request: ApiRequest, *, clock: Callable[[], float]
) -> Generator[Action, Result, Reply]:
    """Run one API call to completion: token, send, decide, sleep/refresh/replay, until an answer or an error.

    :param policy: the retry table and budget.
    :param request: the request to send (built by :mod:`.api`).
    :param clock: monotonic clock in seconds (``elapsed`` is measured with it).
    """
    endpoint = request.endpoint
    started = clock()
    attempt = 0
    refreshed = False
    while True:
        token: str | None = None
        if request.authorized:
            got = yield GetToken()
            assert isinstance(got, str)
            token = got
        attempt += 1
        outcome = yield Send(request, token)
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
            )
        else:
            assert isinstance(outcome, TransportFailure)
            decision = policy.decide_failure(endpoint, outcome.kind, attempt=attempt, elapsed=elapsed)

        if isinstance(decision, Ok):
            return decision.reply
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
        yield Sleep(decision.delay)
