"""What the sync and the async client share besides the attempt loop: settings, policy, tokens, rate limiters, the
rule that every token goes to ``on_token`` (and, in async code, ``aon_token``) before it is first sent, the rule
that a token fetch Feishu refused names the settings' connection (:meth:`ClientBase._credentials_named`), and the
rule that no rate-limiter wait outlasts the call's ``max_elapsed`` (:func:`paced_within_budget`)."""

from __future__ import annotations

import contextlib
import functools
import threading
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from airflow_provider_feishu_corehr.client.errors import FeishuError
from airflow_provider_feishu_corehr.client.policy import RetryPolicy
from airflow_provider_feishu_corehr.client.ratelimit import RateLimiter, rate_for, within
from airflow_provider_feishu_corehr.client.tokens import TokenKey, named_refusal

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

    from airflow_provider_feishu_corehr.client.codes import Endpoint
    from airflow_provider_feishu_corehr.client.models import ClientSettings
    from airflow_provider_feishu_corehr.client.tokens import TokenCache

_P = ParamSpec("_P")
_R = TypeVar("_R")
_C = TypeVar("_C", bound="ClientBase")


def paced_within_budget(call: Callable[Concatenate[_C, _P], _R]) -> Callable[Concatenate[_C, _P], _R]:
    """Decorate a client's one-call method: inside it, no rate-limiter wait ends later than the call's
    ``max_elapsed`` from its start (nor than an enclosing :func:`~.ratelimit.within`); a slot further away raises
    :class:`~.errors.FeishuNotSentError` at once instead of being booked.

    :param call: ``FeishuClient._call``.
    """

    @functools.wraps(call)
    def bounded(self: _C, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with within(self.settings.max_elapsed):
            return call(self, *args, **kwargs)

    return bounded


def apaced_within_budget(
    call: Callable[Concatenate[_C, _P], Awaitable[_R]],
) -> Callable[Concatenate[_C, _P], Awaitable[_R]]:
    """:func:`paced_within_budget` for a coroutine method (``AsyncFeishuClient._call``).

    :param call: ``AsyncFeishuClient._call``.
    """

    @functools.wraps(call)
    async def bounded(self: _C, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with within(self.settings.max_elapsed):
            return await call(self, *args, **kwargs)

    return bounded


_registry: dict[tuple[object, ...], RateLimiter] = {}
_registry_lock = threading.Lock()


def limiter_for(settings: ClientSettings, endpoint: Endpoint) -> RateLimiter | None:
    """The limiter of (base URL, app id, endpoint) at the configured rate, scope and share, or ``None`` when off.

    Clients configured alike share one limiter object per process; ``host`` scope limiters
    (:class:`~.budget_sqlite.HostRateLimiter`) also share their schedule with the other processes of the machine,
    ``redis`` scope limiters (:class:`~.budget_redis.RedisRateLimiter`) with every process using the Redis server.

    :param settings: client settings.
    :param endpoint: logical endpoint.
    """
    rate = rate_for(settings, endpoint)
    if rate is None:
        return None
    limit, window = rate
    share, scope = settings.rate_limit_share, settings.rate_limit_scope
    store = settings.rate_limit_redis if scope == "redis" else settings.rate_limit_store
    key = (settings.base_url, settings.app_id, endpoint.value, limit, window, share, scope, store)
    label = f"{endpoint.value} budget of app {settings.app_id}"
    with _registry_lock:
        limiter = _registry.get(key)
        if limiter is None:
            if scope == "redis":
                from airflow_provider_feishu_corehr.client.budget_redis import redis_limiter  # redis-py: when used

                limiter = redis_limiter(settings, endpoint.value, limit, window, share=share, label=label)
            elif scope == "host":
                from airflow_provider_feishu_corehr.client.budget_sqlite import HostRateLimiter  # sqlite3: when used

                limiter = HostRateLimiter(
                    limit,
                    window,
                    share=share,
                    label=label,
                    endpoint=endpoint.value,
                    key=f"{settings.base_url} {settings.app_id} {endpoint.value}",
                    path=settings.rate_limit_store,
                )
            else:
                limiter = RateLimiter(limit, window, share=share, label=label, endpoint=endpoint.value)
            _registry[key] = limiter
        return limiter


class ClientBase:
    """State shared by :class:`~.sync.FeishuClient` and :class:`~.aio.AsyncFeishuClient`.

    :param settings: validated client settings.
    :param on_token: called with every tenant access token this client is about to use for the first time.
    :param random: source of randomness in ``[0, 1)`` for backoff jitter.
    :param clock: monotonic clock in seconds.
    :param token_cache: the token cache.
    :param aon_token: awaited with every such token, before ``on_token``, by the async client
        (:meth:`_aannounce`); ``None``: none.
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        on_token: Callable[[str], None] | None,
        random: Callable[[], float],
        clock: Callable[[], float],
        token_cache: TokenCache,
        aon_token: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self._on_token = on_token
        self._aon_token = aon_token
        self._clock = clock
        self._policy = RetryPolicy.from_settings(settings, random=random)
        self._tokens = token_cache
        self._token_key = TokenKey.for_settings(settings)
        self._announced: str | None = None
        self._limiters: dict[Endpoint, RateLimiter | None] = {}

    def _limiter(self, endpoint: Endpoint) -> RateLimiter | None:
        """The process-wide limiter of ``endpoint`` for these settings (``None`` when off)."""
        if endpoint not in self._limiters:
            self._limiters[endpoint] = limiter_for(self.settings, endpoint)
        return self._limiters[endpoint]

    def _first_use(self, token: str) -> bool:
        """The rule: ``token`` goes to the callbacks when this client is about to use it for the first time
        (tokens fetched by another client of the process included), so a token is always masked before it is sent;
        it counts as used once every callback returned."""
        return token != self._announced

    def _announce(self, token: str) -> str:
        """Tell ``on_token`` about ``token`` on its first use (:meth:`_first_use`); return it."""
        if self._first_use(token):
            if self._on_token is not None:
                self._on_token(token)
            self._announced = token
        return token

    async def _aannounce(self, token: str) -> str:
        """Async code's :meth:`_announce`: on its first use, ``aon_token`` is awaited with ``token`` before
        ``on_token`` is told; return it."""
        if self._aon_token is not None and self._first_use(token):
            await self._aon_token(token)
        return self._announce(token)

    @contextlib.contextmanager
    def _credentials_named(self) -> Iterator[None]:
        """Around a token fetch (sync or async): Feishu refusing the credentials raises the
        :class:`~.errors.FeishuCredentialsError` naming ``settings.conn_id`` (:func:`~.tokens.named_refusal`);
        any other error passes unchanged."""
        try:
            yield
        except FeishuError as error:
            named = named_refusal(error, conn_id=self.settings.conn_id, app_id=self.settings.app_id)
            if named is error:
                raise
            raise named from error
