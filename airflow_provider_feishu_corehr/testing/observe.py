"""What the emulator saw: one :class:`RequestRecord` per Feishu API request (control calls are not recorded)."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestRecord:
    """One request and its outcome.

    :param endpoint: ``token``, ``revoke``, ``edit``, ``search``, ``unknown`` (a path the emulator lacks) or
        ``foreign`` (a token this emulator never issued).
    :param http_status: HTTP status sent, None when the connection was dropped (``reset`` fault).
    :param code: Feishu ``code`` of the JSON body, None when no JSON envelope was sent (HTML, bad JSON, reset).
    :param log_id: the ``X-Tt-Logid`` of the response.
    :param authorized: a valid tenant access token was presented.
    :param at: emulator clock (monotonic seconds, plus any :meth:`advance_time`) when the request arrived.
    :param app_id: the app of the token (or of the token request), if known.
    :param fault: the injected fault kind that shaped this response, if any.
    :param offboarding_id: the ``offboarding_id`` of a revoke or edit body, if any.
    """

    endpoint: str
    http_status: int | None
    code: int | None
    log_id: str
    authorized: bool
    at: float
    app_id: str | None = None
    fault: str | None = None
    offboarding_id: str | None = None


class RequestLog:
    """Thread-safe list of request records."""

    def __init__(self) -> None:
        self._records: list[RequestRecord] = []
        self._lock = threading.Lock()

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def all(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def count(self, endpoint: str | None = None, *, code: int | None = None, http_status: int | None = None) -> int:
        """Requests matching every filter given (``endpoint`` may be an ``Endpoint`` member or its name)."""
        with self._lock:
            return sum(
                1
                for r in self._records
                if (endpoint is None or r.endpoint == endpoint)
                and (code is None or r.code == code)
                and (http_status is None or r.http_status == http_status)
            )
