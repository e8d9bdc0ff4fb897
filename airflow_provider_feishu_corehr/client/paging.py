"""The pages of one search, bounded: :class:`SearchPager` stops with :class:`~.errors.FeishuPagingError` on no
progress (a ``page_token`` seen before, or more than :data:`MAX_EMPTY_PAGES` empty pages in a row that still say
``has_more``), on ``has_more`` without a ``page_token`` (nothing is silently dropped), or past ``max_pages``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from airflow_provider_feishu_corehr.client.codes import Endpoint
from airflow_provider_feishu_corehr.client.errors import FeishuPagingError
from airflow_provider_feishu_corehr.client.models import DEFAULT_MAX_PAGES, OffboardingRecord
from airflow_provider_feishu_corehr.client.request import ApiRequest

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.client.decisions import Reply

MAX_EMPTY_PAGES = 5
"""Pages in a row without an item that still say ``has_more``: more than this is no progress."""


def _text(source: Mapping[str, Any], key: str) -> str | None:
    value = source.get(key)
    return value if isinstance(value, str) and value else None


def _object(source: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = source.get(key)
    return value if isinstance(value, Mapping) else {}


def parse_record(item: Mapping[str, Any]) -> OffboardingRecord:
    """Flatten one ``items[]`` entry of the search response.

    :param item: the item as decoded from JSON.
    """
    info = _object(item, "offboarding_info")
    application = _object(item, "application_info")
    checklist = _object(item, "offboarding_checklist")
    return OffboardingRecord(
        offboarding_id=str(item.get("offboarding_id") or ""),
        employment_id=_text(info, "employment_id"),
        status=str(item.get("status") or ""),
        expected_offboarding_date=_text(info, "expected_offboarding_date"),
        offboarding_date=_text(info, "offboarding_date"),
        checklist_status=_text(checklist, "checklist_status"),
        apply_initiating_time=_text(application, "apply_initiating_time"),
        raw=dict(item),
    )


@dataclass
class SearchPager:
    """The pages of one search: :meth:`next_request` until it returns ``None``, :meth:`feed` each reply.

    Build it with :func:`.api.search_pager` (which validates the filters).

    :param params: query parameters of every page (``page_size``, ``user_id_type``).
    :param payload: the filter body of every page.
    :param max_pages: most pages followed; one more raises :class:`FeishuPagingError`.
    """

    params: dict[str, str]
    payload: dict[str, Any]
    max_pages: int = DEFAULT_MAX_PAGES
    pages: int = 0
    _page_token: str | None = None
    _done: bool = False
    _empty_in_a_row: int = 0
    _seen_tokens: set[str] = field(default_factory=set)

    def next_request(self) -> ApiRequest | None:
        """The request of the next page, or ``None`` when every page was read."""
        if self._done:
            return None
        params = dict(self.params)
        if self._page_token:
            params["page_token"] = self._page_token
        return ApiRequest(Endpoint.SEARCH, params=params, payload=self.payload)

    def feed(self, reply: Reply) -> list[OffboardingRecord]:
        """Read one page: return its records and remember where the next page starts.

        :param reply: accepted reply of the page request.
        :raises FeishuPagingError: no progress, ``has_more`` without a token, or past ``max_pages`` (see module).
        """
        self.pages += 1
        data = reply.data
        items = data.get("items")
        records = [parse_record(item) for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []
        token = data.get("page_token")
        if data.get("has_more") is not True:
            self._done = True
            return records
        self._empty_in_a_row = 0 if records else self._empty_in_a_row + 1
        if not isinstance(token, str) or not token:
            self._stop(reply, "search said has_more but sent no page_token; the rest of the results cannot be read")
        elif token in self._seen_tokens:
            self._stop(reply, "search returned a page_token it had already returned (no progress)")
        elif self._empty_in_a_row > MAX_EMPTY_PAGES:
            self._stop(reply, f"search returned {self._empty_in_a_row} empty pages in a row that said has_more")
        elif self.pages >= self.max_pages:
            self._stop(reply, f"search still had more after {self.pages} pages (max_pages {self.max_pages})")
        self._seen_tokens.add(token)
        self._page_token = token
        return records

    def _stop(self, reply: Reply, why: str) -> NoReturn:
        self._done = True
        raise FeishuPagingError(
            f"{why}; paging stopped",
            code=reply.code,
            log_id=reply.log_id,
            http_status=reply.http_status,
            endpoint=Endpoint.SEARCH.value,
            advice="Narrow the search (employment ids, statuses, dates); raise max_pages if it is really this big.",
        )
