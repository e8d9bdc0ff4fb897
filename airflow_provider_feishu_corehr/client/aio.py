"""Async Feishu client on :class:`httpx.AsyncClient` (triggers and other asyncio code), the twin of :mod:`.sync`.

Only I/O and sleeping are awaited here; everything else is shared (:mod:`.api`, :mod:`.exchange`, :mod:`.policy`,
tokens and limiters). Only documented ``httpx`` API: the client's ``verify``/``proxy``/``timeout``/``limits``,
``stream`` with ``aiter_bytes``, and the ``trace`` extension, which tells whether the request headers went out (a
timeout before that is a connect timeout, after it an ambiguous one). ``httpx`` is imported on first use."""

from __future__ import annotations

import asyncio
import random as _random
import ssl
import time
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client import api, lookup
from airflow_provider_feishu_corehr.client.base import ClientBase, apaced_within_budget
from airflow_provider_feishu_corehr.client.errors import FeishuBusinessError, FeishuError
from airflow_provider_feishu_corehr.client.exchange import (
    DropToken,
    GetToken,
    HttpResponse,
    Send,
    Sleep,
    TransportFailure,
    exchange,
)
from airflow_provider_feishu_corehr.client.network import caused_by, declared_too_large, network_settings
from airflow_provider_feishu_corehr.client.policy import FailureKind
from airflow_provider_feishu_corehr.client.tokens import TOKENS, TokenCache

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
    from typing import Unpack

    import httpx

    from airflow_provider_feishu_corehr.client.models import (
        ClientSettings,
        EditResult,
        FieldValue,
        OffboardingRecord,
        RevokeResult,
    )
    from airflow_provider_feishu_corehr.client.paging import SearchPager
    from airflow_provider_feishu_corehr.client.policy import Reply
    from airflow_provider_feishu_corehr.client.request import ApiRequest

POOL_SIZE = 32


class _TooLarge(Exception):
    """The body went past ``max_response_bytes``."""


def _classify(exc: BaseException, *, sent: bool) -> FailureKind:
    """Map an ``httpx`` transport exception to a :class:`FailureKind` (the exception text is dropped).

    :param exc: what ``httpx`` raised.
    :param sent: whether the request headers had started to go out (the ``trace`` request extension).
    """
    import httpx

    if caused_by(exc, ssl.SSLCertVerificationError):
        return FailureKind.TLS
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return FailureKind.CONNECT_TIMEOUT
    if isinstance(exc, httpx.TimeoutException):
        return FailureKind.TIMEOUT if sent else FailureKind.CONNECT_TIMEOUT
    if isinstance(exc, httpx.ConnectError):
        return FailureKind.CONNECT
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.RemoteProtocolError):
        return FailureKind.RESET if sent else FailureKind.CONNECT
    return FailureKind.PROTOCOL


async def _read_body(response: httpx.Response, limit: int) -> bytes:
    """Read the body chunk by chunk; past ``limit`` bytes raise :class:`_TooLarge` (memory stays bounded)."""
    if declared_too_large(response.headers.get("Content-Length"), limit):
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class AsyncFeishuClient(ClientBase):
    """Async client of the Feishu CoreHR offboarding API: ``async with AsyncFeishuClient(...) as c:``, or call
    :meth:`aclose` when done. One instance belongs to one event loop. Parameters as
    :class:`~.sync.FeishuClient`'s, with an async ``sleep``, and ``aon_token``.

    :param settings: validated client settings.
    :param on_token: called with every token this client is about to use for the first time, before it is sent.
    :param sleep: the async sleep function.
    :param random: source of randomness in ``[0, 1)`` for backoff jitter.
    :param clock: monotonic clock in seconds.
    :param token_cache: the token cache; default the process-wide one.
    :param aon_token: awaited with every token this client is about to use for the first time, before it is sent
        (and before ``on_token``); the hook passes the async secret masker (``hooks.masking.amask``).
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        on_token: Callable[[str], None] | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        random: Callable[[], float] = _random.random,
        clock: Callable[[], float] = time.monotonic,
        token_cache: TokenCache = TOKENS,
        aon_token: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(
            settings, on_token=on_token, random=random, clock=clock, token_cache=token_cache, aon_token=aon_token
        )
        self._sleep = sleep
        self._client: httpx.AsyncClient | None = None

    # -- plumbing -----------------------------------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            network = network_settings(self.settings)
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.settings.timeout),
                limits=httpx.Limits(max_connections=POOL_SIZE, max_keepalive_connections=POOL_SIZE),
                verify=network.ssl_context(),
                proxy=network.proxy,
                trust_env=False,
                follow_redirects=False,
            )
        return self._client

    async def _send(self, action: Send) -> HttpResponse | TransportFailure:
        import httpx

        request = action.request
        limiter = self._limiter(request.endpoint)
        if limiter is not None:
            await limiter.aacquire(self._sleep)
        sent = False

        async def trace(event: str, info: object) -> None:
            nonlocal sent
            sent = sent or ".send_request_headers." in event

        try:
            async with asyncio.timeout(action.seconds):
                async with self._http().stream(
                    "POST",
                    request.url(self.settings.base_url),
                    content=request.body(),
                    headers=request.headers(action.token),
                    extensions={"trace": trace},
                ) as response:
                    body = await _read_body(response, self.settings.max_response_bytes)
        except TimeoutError:
            return TransportFailure(FailureKind.TIMEOUT if sent else FailureKind.CONNECT_TIMEOUT)
        except _TooLarge:
            return TransportFailure(FailureKind.TOO_LARGE)
        except httpx.TransportError as exc:
            return TransportFailure(_classify(exc, sent=sent))
        return HttpResponse(response.status_code, response.headers, body)

    @apaced_within_budget
    async def _call(self, request: ApiRequest, deadline: float | None = None) -> Reply:
        """Run the shared attempt loop for ``request``, awaiting its actions."""
        steps = exchange(self._policy, request, clock=self._clock, timeout=self.settings.timeout, deadline=deadline)
        result: Any = None
        try:
            action = next(steps)
            while True:
                if isinstance(action, GetToken):
                    try:
                        result = await self._token(deadline=deadline)
                    except FeishuError as error:
                        action = steps.throw(error)
                        continue
                elif isinstance(action, Send):
                    try:  # a rate-limiter refusal: not sent (the attempt loop adds an earlier ambiguous attempt)
                        result = await self._send(action)
                    except FeishuError as error:
                        action = steps.throw(error)
                        continue
                elif isinstance(action, Sleep):
                    await self._sleep(action.seconds)
                    result = None
                elif isinstance(action, DropToken):
                    self._tokens.invalidate(self._token_key, action.token)
                    result = None
                action = steps.send(result)
        except StopIteration as done:
            reply: Reply = done.value
            return reply

    async def _grant(self, deadline: float | None = None) -> api.TokenGrant:
        with self._credentials_named():
            return api.parse_token(await self._call(api.token_request(self.settings), deadline))

    async def _token(self, *, fresh: bool = False, deadline: float | None = None) -> str:
        token, _ = await self._tokens.aget(self._token_key, lambda: self._grant(deadline), fresh=fresh)
        return await self._aannounce(token)

    # -- API: the twin of the sync client's (same arguments, same results) -----------------------------------

    async def fetch_token(self, *, fresh: bool = False) -> str:
        """A tenant access token (cached unless due for refresh); for diagnostics and tests.

        :param fresh: fetch a new one even if one is cached.
        """
        return await self._token(fresh=fresh)

    async def revoke_offboarding(
        self, offboarding_id: str, *, operator_id: str | None = None, user_id_type: str | None = None
    ) -> RevokeResult:
        """Revoke (withdraw) an offboarding; already withdrawn (1160202) gives ``already_withdrawn=True``.

        :param offboarding_id: the offboarding to revoke.
        :param operator_id: operator's employment id; ``None`` = system operator.
        :param user_id_type: id type of ``operator_id``; ``None`` = ``settings.user_id_type``.
        """
        request = api.revoke_request(self.settings, offboarding_id, operator_id=operator_id, user_id_type=user_id_type)
        return api.parse_revoke(request, await self._call(request))

    async def edit_offboarding(
        self,
        offboarding_id: str,
        update_data: Sequence[FieldValue],
        *,
        operator_id: str | None = None,
        user_id_type: str | None = None,
    ) -> EditResult:
        """Edit fields of an offboarding; returns the fields Feishu echoed.

        :param offboarding_id: the offboarding to edit.
        :param update_data: fields in wire form.
        :param operator_id: operator's employment id; ``None`` = system operator.
        :param user_id_type: id type of ``operator_id`` and person fields; ``None`` = ``settings.user_id_type``.
        """
        request = api.edit_request(
            self.settings, offboarding_id, update_data, operator_id=operator_id, user_id_type=user_id_type
        )
        try:
            reply = await self._call(request)
        except FeishuBusinessError as error:  # a refusal about the fields names them (api.edit_refused)
            raise api.edit_refused(request, error) from None
        return api.parse_edit(request, reply)

    def search_offboardings(
        self, *, deadline: float | None = None, **filters: Unpack[api.SearchFilters]
    ) -> AsyncIterator[OffboardingRecord]:
        """``async for`` over every record of every page; filters are checked at the call (not a coroutine).

        :param deadline: as in :meth:`.sync.FeishuClient.search_offboardings`.
        :param filters: the :class:`~.api.SearchFilters`.
        """
        return self._pages(api.search_pager(self.settings, **filters), deadline)

    async def search_page(self, pager: SearchPager, deadline: float | None = None) -> list[OffboardingRecord]:
        """The next page of ``pager``'s search (``[]`` once every page was read), for a caller that spreads one
        search's pages over time: the asset watcher reads a bounded number per poll (docs/events.md, "Budget").

        :param pager: the search, from :func:`.api.search_pager`; it keeps the place between calls.
        :param deadline: as in :meth:`search_offboardings`.
        """
        request = pager.next_request()
        return [] if request is None else pager.feed(await self._call(request, deadline))

    async def _pages(self, pager: SearchPager, deadline: float | None = None) -> AsyncIterator[OffboardingRecord]:
        while (request := pager.next_request()) is not None:
            for record in pager.feed(await self._call(request, deadline)):
                yield record

    async def get_offboarding(
        self,
        employment_id: str,
        *,
        offboarding_id: str | None = None,
        user_id_type: str | None = None,
        deadline: float | None = None,
    ) -> OffboardingRecord | None:
        """One offboarding of an employment: ``offboarding_id``, else the most recent; ``None`` when there is none.

        :param employment_id: the employment.
        :param offboarding_id: a specific offboarding id, or ``None``.
        :param user_id_type: id type of ``employment_id``; ``None`` = ``settings.user_id_type``.
        :param deadline: as in :meth:`search_offboardings`.
        """
        pager, wanted = api.get_offboarding_pager(
            self.settings, employment_id, offboarding_id=offboarding_id, user_id_type=user_id_type
        )
        return api.pick_offboarding([record async for record in self._pages(pager, deadline)], wanted)

    async def lookup_offboardings(
        self, employment_ids: Sequence[str], *, user_id_type: str | None = None, deadline: float | None = None
    ) -> dict[str, OffboardingRecord]:
        """The most recent offboarding of each employment (absent: none), one search per up to 100 distinct ids.

        :param employment_ids: employment ids.
        :param user_id_type: id type of the ids; ``None`` = ``settings.user_id_type``.
        :param deadline: as in :meth:`search_offboardings`, for every search.
        """
        found: list[OffboardingRecord] = []
        for batch in lookup.batches(employment_ids):
            search = self.search_offboardings(employment_ids=batch, user_id_type=user_id_type, deadline=deadline)
            found.extend([record async for record in search])
        return lookup.latest_by_employment(found)

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def __aenter__(self) -> AsyncFeishuClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
