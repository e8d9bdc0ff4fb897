"""Blocking Feishu client on a pooled :class:`requests.Session`.

Only I/O and sleeping happen here: requests are built and replies parsed by :mod:`.api`, every retry / refresh
decision is made by :mod:`.policy` through the shared attempt loop of :mod:`.exchange`, and one bounded attempt is
:func:`.sync_http.attempt`. ``requests`` is imported
when the first request is sent, so importing this module (and the hook) stays cheap for DAG parsing.
"""

from __future__ import annotations

import random as _random
import threading
import time
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client import api, lookup, sync_http
from airflow_provider_feishu_corehr.client.base import ClientBase
from airflow_provider_feishu_corehr.client.errors import FeishuError
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
    import datetime as dt
    from collections.abc import Callable, Iterable, Iterator, Sequence

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


class FeishuClient(ClientBase):
    """Blocking client of the Feishu CoreHR offboarding API; safe to share between threads.

    :param settings: validated client settings (see ``hooks/connection.py`` for the Airflow side).
    :param on_token: called with every newly fetched tenant access token this client uses, before it is
        sent anywhere (the hook passes Airflow's ``mask_secret``).
    :param sleep: the sleep function (tests inject a recorder).
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
    ) -> None:
        super().__init__(settings, on_token=on_token, random=random, clock=clock, token_cache=token_cache)
        self._sleep = sleep
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
        if limiter is not None:
            limiter.acquire(self._sleep)
        return sync_http.attempt(
            self._http(),
            request.url(self.settings.base_url),
            request.body(),
            request.headers(action.token),
            seconds=action.seconds,
            limit=self.settings.max_response_bytes,
        )

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
                    result = self._send(action)
                elif isinstance(action, Sleep):
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
        return api.parse_token(self._call(api.token_request(self.settings), deadline))

    def _token(self, *, fresh: bool = False, deadline: float | None = None) -> str:
        token, _ = self._tokens.get(self._token_key, lambda: self._grant(deadline), fresh=fresh)
        return self._announce(token)

    # -- API ----------------------------------------------------------------------------------------------

    def fetch_token(self, *, fresh: bool = False) -> str:
        """Return a tenant access token (cached unless due for refresh); for diagnostics and tests.

        :param fresh: fetch a new one from the server even if one is cached (``test_connection`` does).
        """
        return self._token(fresh=fresh)

    def revoke_offboarding(
        self, offboarding_id: str, *, operator_id: str | None = None, user_id_type: str | None = None
    ) -> RevokeResult:
        """Revoke (withdraw) an offboarding.

        An offboarding that is already withdrawn (code 1160202) is an answer, not an error:
        ``RevokeResult(already_withdrawn=True)``. Any other failure raises a typed :class:`FeishuError`.

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
        :param update_data: fields in wire form (see :func:`..fields.normalize_update_data`).
        :param operator_id: operator's employment id; ``None`` = system operator.
        :param user_id_type: id type of ``operator_id`` and person fields; ``None`` = ``settings.user_id_type``.
        """
        request = api.edit_request(
            self.settings, offboarding_id, update_data, operator_id=operator_id, user_id_type=user_id_type
        )
        return api.parse_edit(request, self._call(request))

    def search_offboardings(
        self,
        *,
        employment_ids: Iterable[str] | str | None = None,
        statuses: Iterable[str] | str | None = None,
        offboarding_date_start: dt.date | str | None = None,
        offboarding_date_end: dt.date | str | None = None,
        expected_offboarding_date_start: dt.date | str | None = None,
        expected_offboarding_date_end: dt.date | str | None = None,
        user_id_type: str | None = None,
        page_size: int = api.MAX_PAGE_SIZE,
        apply_initiating_time_start: dt.datetime | int | None = None,
        apply_initiating_time_end: dt.datetime | int | None = None,
        deadline: float | None = None,
    ) -> Iterator[OffboardingRecord]:
        """Search offboardings and iterate over every record of every page.

        Filters are validated when this method is called; pages are fetched lazily while iterating.

        :param employment_ids: employment ids; ``None`` = all employments.
        :param statuses: statuses, OR-ed (at most 10); ``None`` or empty = all.
        :param offboarding_date_start: offboarding-date range start (``date`` or ``YYYY-MM-DD``; with the end).
        :param offboarding_date_end: offboarding-date range end.
        :param expected_offboarding_date_start: expected-offboarding-date range start (with the end).
        :param expected_offboarding_date_end: expected-offboarding-date range end.
        :param user_id_type: id type of ``employment_ids`` and of ids in the records; ``None`` = settings.
        :param page_size: records per page, 1-100.
        :param apply_initiating_time_start: application-time range start (aware datetime or epoch seconds).
        :param apply_initiating_time_end: application-time range end (with the start).
        :param deadline: a ``time.monotonic()`` value (the client's clock) by which the whole search must end: each
            attempt is cut to it and :class:`~.errors.FeishuDeadlineError` is raised when it passes (a sensor's
            poke stays within its time); ``None`` = bounded only by the retry budget and ``max_pages``.
        """
        pager = api.search_pager(
            self.settings,
            employment_ids=employment_ids,
            statuses=statuses,
            offboarding_date_start=offboarding_date_start,
            offboarding_date_end=offboarding_date_end,
            expected_offboarding_date_start=expected_offboarding_date_start,
            expected_offboarding_date_end=expected_offboarding_date_end,
            user_id_type=user_id_type,
            page_size=page_size,
            apply_initiating_time_start=apply_initiating_time_start,
            apply_initiating_time_end=apply_initiating_time_end,
        )
        return self._pages(pager, deadline)

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
        """Fetch one offboarding of an employment.

        :param employment_id: the employment.
        :param offboarding_id: a specific offboarding id; ``None`` = the employment's most recent offboarding
            (latest ``apply_initiating_time``).
        :param user_id_type: id type of ``employment_id``; ``None`` = ``settings.user_id_type``.
        :param deadline: a ``time.monotonic()`` value by which the search must end (see :meth:`search_offboardings`).
        :return: the record, or ``None`` when there is no such offboarding.
        """
        pager, wanted = api.get_offboarding_pager(
            self.settings, employment_id, offboarding_id=offboarding_id, user_id_type=user_id_type
        )
        return api.pick_offboarding(self._pages(pager, deadline), wanted)

    def lookup_offboardings(
        self, employment_ids: Sequence[str], *, user_id_type: str | None = None, deadline: float | None = None
    ) -> dict[str, OffboardingRecord]:
        """The most recent offboarding of each employment: one search per up to 100 distinct ids, all pages.

        :param employment_ids: employment ids (duplicates are looked up once).
        :param user_id_type: id type of the ids; ``None`` = ``settings.user_id_type``.
        :param deadline: a ``time.monotonic()`` value by which every search must end (see :meth:`search_offboardings`).
        :return: employment id -> its most recent offboarding; employments without one are absent.
        """
        found: list[OffboardingRecord] = []
        for batch in lookup.employment_batches(employment_ids):
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
