"""Blocking Feishu client on a pooled :class:`requests.Session`.

Only I/O and sleeping happen here: requests and replies are :mod:`.api`'s, the attempt loop :mod:`.exchange`'s, one
bounded attempt :func:`.sync_http.attempt`. ``requests`` is imported on first use (DAG parsing stays cheap)."""

from __future__ import annotations

import random as _random
import threading
import time
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_feishu_corehr.client import api, lookup, sync_http
from airflow_provider_feishu_corehr.client.base import ClientBase, paced_within_budget
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
from airflow_provider_feishu_corehr.client.tokens import TOKENS, TokenCache

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from typing import Unpack

    import requests

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


class SendGuard(Protocol):
    """Watches every request of a client, and may stop it by raising (the operators' batch gate); nothing is sent
    after a method raised."""

    def pace(self, seconds: float) -> None:
        """Wait ``seconds`` for a rate-limiter slot."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` before the next attempt."""

    def sending(self, endpoint: str) -> None:
        """A request to ``endpoint`` goes out now."""

    def rate_limited(self) -> None:
        """Feishu's rate limit refused the last attempt; the client waits, then tries again."""


class FeishuClient(ClientBase):
    """Blocking client of the Feishu CoreHR offboarding API; safe to share between threads.

    :param settings: validated client settings.
    :param on_token: called with every token this client is about to use for the first time, before it is sent
        (the hook passes Airflow's ``mask_secret``).
    :param sleep: the sleep function (tests inject a recorder).
    :param guard: watches and may stop every request (its ``sleep`` replaces ``sleep``); ``None``: none.
    :param random: source of randomness in ``[0, 1)`` for backoff jitter.
    :param clock: monotonic clock in seconds.
    :param token_cache: the token cache; default the process-wide one.
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        on_token: Callable[[str], None] | None = None,
        sleep: Callable[[float], object] = time.sleep,
        random: Callable[[], float] = _random.random,
        clock: Callable[[], float] = time.monotonic,
        token_cache: TokenCache = TOKENS,
        guard: SendGuard | None = None,
    ) -> None:
        super().__init__(settings, on_token=on_token, random=random, clock=clock, token_cache=token_cache)
        self._guard = guard
        self._sleep = guard.sleep if guard is not None else sleep
        self._session: requests.Session | None = None
        self._session_lock = threading.Lock()

    # -- plumbing -----------------------------------------------------------------------------------------

    def _http(self) -> requests.Session:
        session = self._session
        if session is None:
            with self._session_lock:
                session = self._session
                if session is None:
                    session = sync_http.new_session(self.settings)
                    self._session = session
        return session

    def _send(self, action: Send) -> HttpResponse | TransportFailure:
        request = action.request
        limiter = self._limiter(request.endpoint)
        guard = self._guard
        if limiter is not None:
            limiter.acquire(self._sleep if guard is None else guard.pace)
        if guard is not None:
            guard.sending(request.endpoint.value)
        result = sync_http.attempt(
            self._http(),
            request.url(self.settings.base_url),
            request.body(),
            request.headers(action.token),
            seconds=action.seconds,
            limit=self.settings.max_response_bytes,
        )
        return result

    @paced_within_budget
    def _call(self, request: ApiRequest, deadline: float | None = None) -> Reply:
        """Run the shared attempt loop for ``request``, performing its actions."""
        steps = exchange(self._policy, request, clock=self._clock, timeout=self.settings.timeout, deadline=deadline)
        result: Any = None
        try:
            action = next(steps)
            while True:
                if isinstance(action, GetToken):
                    try:
                        result = self._token(deadline=deadline)
                    except FeishuError as error:
                        action = steps.throw(error)
                        continue
                elif isinstance(action, Send):
                    try:  # a rate-limiter refusal: not sent (the attempt loop adds an earlier ambiguous attempt)
                        result = self._send(action)
                    except FeishuError as error:
                        action = steps.throw(error)
                        continue
                elif isinstance(action, Sleep):
                    if action.rate_limited and self._guard is not None:
                        self._guard.rate_limited()
                    self._sleep(action.seconds)
                    result = None
                elif isinstance(action, DropToken):
                    self._tokens.invalidate(self._token_key, action.token)
                    result = None
                action = steps.send(result)
        except StopIteration as done:
            reply: Reply = done.value
            return reply

    def _grant(self, deadline: float | None = None) -> api.TokenGrant:
        with self._credentials_named():
            return api.parse_token(self._call(api.token_request(self.settings), deadline))

    def _token(self, *, fresh: bool = False, deadline: float | None = None) -> str:
        token, _ = self._tokens.get(self._token_key, lambda: self._grant(deadline), fresh=fresh)
        return self._announce(token)

    # -- API (arguments: see the hook, FeishuHook, which delegates here) ---------------------------------------

    def fetch_token(self, *, fresh: bool = False) -> str:
        """A tenant access token (cached unless due for refresh); for diagnostics and tests.

        :param fresh: fetch a new one even if one is cached (``test_connection`` does).
        """
        return self._token(fresh=fresh)

    def revoke_offboarding(
        self, offboarding_id: str, *, operator_id: str | None = None, user_id_type: str | None = None
    ) -> RevokeResult:
        """Revoke (withdraw) an offboarding; already withdrawn (1160202) gives ``already_withdrawn=True``.

        :param offboarding_id: the offboarding to revoke.
        :param operator_id: operator's employment id; ``None`` = system operator.
        :param user_id_type: id type of ``operator_id``; ``None`` = ``settings.user_id_type``.
        """
        request = api.revoke_request(self.settings, offboarding_id, operator_id=operator_id, user_id_type=user_id_type)
        return api.parse_revoke(request, self._call(request))

    def edit_offboarding(
        self,
        offboarding_id: str,
        update_data: Sequence[FieldValue],
        *,
        operator_id: str | None = None,
        user_id_type: str | None = None,
    ) -> EditResult:
        """Edit fields of an offboarding; returns the fields Feishu echoed.

        :param offboarding_id: the offboarding to edit.
        :param update_data: fields in wire form (:func:`.fields.normalize_update_data` converts Python values).
        :param operator_id: operator's employment id; ``None`` = system operator.
        :param user_id_type: id type of ``operator_id`` and person fields; ``None`` = ``settings.user_id_type``.
        """
        request = api.edit_request(
            self.settings, offboarding_id, update_data, operator_id=operator_id, user_id_type=user_id_type
        )
        try:
            reply = self._call(request)
        except FeishuBusinessError as error:  # a refusal about the fields names them (api.edit_refused)
            raise api.edit_refused(request, error) from None
        return api.parse_edit(request, reply)

    def search_offboardings(
        self, *, deadline: float | None = None, **filters: Unpack[api.SearchFilters]
    ) -> Iterator[OffboardingRecord]:
        """Every record of every page; filters are checked at the call, pages fetched while iterating.

        :param deadline: a ``time.monotonic()`` value by which the search must end: attempts are cut to it, then
            :class:`~.errors.FeishuDeadlineError`; ``None`` = bounded by the retry budget and ``max_pages`` only.
        :param filters: the :class:`~.api.SearchFilters`.
        """
        return self._pages(api.search_pager(self.settings, **filters), deadline)

    def _pages(self, pager: SearchPager, deadline: float | None = None) -> Iterator[OffboardingRecord]:
        while (request := pager.next_request()) is not None:
            yield from pager.feed(self._call(request, deadline))

    def get_offboarding(
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
        return api.pick_offboarding(self._pages(pager, deadline), wanted)

    def lookup_offboardings(
        self, employment_ids: Sequence[str], *, user_id_type: str | None = None, deadline: float | None = None
    ) -> dict[str, OffboardingRecord]:
        """The most recent offboarding of each employment (absent: none), one search per up to 100 distinct ids.

        :param employment_ids: employment ids.
        :param user_id_type: id type of the ids; ``None`` = ``settings.user_id_type``.
        :param deadline: as in :meth:`search_offboardings`, for every search.
        """
        found: list[OffboardingRecord] = []
        for batch in lookup.batches(employment_ids):
            found.extend(self.search_offboardings(employment_ids=batch, user_id_type=user_id_type, deadline=deadline))
        return lookup.latest_by_employment(found)

    def close(self) -> None:
        """Close the pooled HTTP connections (the client can still be used; a new pool is opened then)."""
        with self._session_lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()

    def __enter__(self) -> FeishuClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
