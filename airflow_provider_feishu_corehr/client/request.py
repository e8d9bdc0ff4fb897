"""One request, ready to send (:class:`ApiRequest`); made by :mod:`.api` and :mod:`.paging`, sent by :mod:`.exchange`
and the transports, below all of them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from airflow_provider_feishu_corehr.client.codes import Endpoint

USER_AGENT = "airflow-provider-feishu-corehr"
_JSON = "application/json; charset=utf-8"


@dataclass(frozen=True)
class ApiRequest:
    """One request, ready to send: endpoint, query parameters and JSON body.

    :param endpoint: logical endpoint (gives the path and the error table).
    :param params: query parameters.
    :param payload: JSON body (may hold the App Secret for the token endpoint: never log it).
    :param authorized: whether a tenant access token must be sent.
    :param accept: non-zero codes that are an answer for this request rather than an error.
    :param complete: checks that an accepted envelope holds what the parser needs; ``False`` makes the retry table
        treat the answer as a hiccup (retried), not as a permanent error.
    """

    endpoint: Endpoint
    params: Mapping[str, str] = field(default_factory=dict)
    payload: Mapping[str, Any] = field(default_factory=dict, repr=False)
    authorized: bool = True
    accept: frozenset[int] = frozenset()
    complete: Callable[[Mapping[str, Any]], bool] | None = field(default=None, compare=False)

    def url(self, base_url: str) -> str:
        """Full URL of the request on ``base_url`` (an origin without trailing slash).

        :param base_url: e.g. ``https://open.feishu.cn``.
        """
        url = base_url + self.endpoint.path
        return f"{url}?{urlencode(self.params)}" if self.params else url

    def body(self) -> bytes:
        """The JSON body as UTF-8 bytes."""
        return json.dumps(self.payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def headers(self, token: str | None) -> dict[str, str]:
        """Request headers; ``Authorization`` only when ``token`` is given.

        :param token: tenant access token, or ``None``.
        """
        headers = {"Content-Type": _JSON, "User-Agent": USER_AGENT}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers
