"""Typed errors of the Feishu client; every error raised towards a caller is a :class:`FeishuError`.

Callers branch on the type, never on the text. Five kinds: :class:`FeishuInvalidInputError` (nothing was sent),
:class:`FeishuAuthError`, :class:`FeishuRateLimitError`, :class:`FeishuTransientError` and
:class:`FeishuBusinessError`; the narrower types below are each one of those. :attr:`FeishuError.permanent` tells
an operator whether another task try could help. The text never contains a token, a secret, a header or a body."""

from __future__ import annotations

from typing import Any


class FeishuError(Exception):
    """Base of all errors of this package.

    :param msg: the Feishu ``msg`` or a description of what went wrong.
    :param code: the Feishu ``code`` (``None`` when no Feishu body was read).
    :param log_id: ``X-Tt-Logid`` header, else ``error.log_id`` of the body.
    :param http_status: HTTP status of the last response, if any.
    :param endpoint: logical endpoint name (``token``, ``revoke``, ``edit``, ``search``).
    :param advice: what the API page advises for this code, in English.
    :param attempts: how many HTTP attempts were made.
    :param elapsed: seconds spent over all attempts.
    :param outcome_unknown: a write (revoke, edit) of which at least one attempt may have reached Feishu without a
        definite answer (read timeout or reset after sending, HTTP 5xx, an unreadable body): Feishu may have
        applied it. Callers report such a record as ``unknown``, never as failed or done.
    """

    permanent: bool = True

    def __init__(
        self,
        msg: str,
        *,
        code: int | None = None,
        log_id: str | None = None,
        http_status: int | None = None,
        endpoint: str | None = None,
        advice: str | None = None,
        attempts: int = 0,
        elapsed: float = 0.0,
        outcome_unknown: bool = False,
    ) -> None:
        self.msg = msg
        self.code = code
        self.log_id = log_id
        self.http_status = http_status
        self.endpoint = endpoint
        self.advice = advice
        self.attempts = attempts
        self.elapsed = elapsed
        self.outcome_unknown = outcome_unknown
        super().__init__(msg)

    def details(self) -> dict[str, Any]:
        """Everything but the message, as keyword arguments: an error that wraps this one with a fuller message
        keeps the code, log id, attempts and whether the write may have been applied."""
        keys = ("code", "log_id", "http_status", "endpoint", "advice", "attempts", "elapsed", "outcome_unknown")
        return {key: getattr(self, key) for key in keys}

    def __str__(self) -> str:
        parts = []
        if self.endpoint:
            parts.append(f"[{self.endpoint}]")
        if self.code is not None:
            parts.append(f"code {self.code}:")
        parts.append(self.msg)
        details = []
        if self.http_status is not None:
            details.append(f"HTTP {self.http_status}")
        if self.log_id:
            details.append(f"log_id {self.log_id}")
        if self.attempts:
            details.append(f"{self.attempts} attempt(s) over {self.elapsed:.1f}s")
        text = " ".join(parts)
        if details:
            text += f" ({', '.join(details)})"
        if self.advice:
            text += f". Advice: {self.advice}"
        return text


class FeishuInvalidInputError(FeishuError, ValueError):
    """An argument or connection setting is invalid; nothing was sent."""


class FeishuAuthError(FeishuError):
    """The tenant access token could not be obtained, or was refused after one refresh and replay."""


class FeishuCredentialsError(FeishuAuthError):
    """Feishu refused a connection's credentials: it answered the token request with an error code (a wrong App
    Secret, an unknown App ID, an app not in use, ...). Raised by the clients' token fetch when the settings carry
    a ``conn_id`` (:func:`.tokens.named_refusal`). The message names the connection and its App ID, never the
    secret; the code, log id, advice and attempts are the client's error's, kept as :attr:`refused`.

    :param refused: the client's error (the token endpoint's).
    :param conn_id: the connection whose credentials were sent.
    :param app_id: its App ID.
    """

    def __init__(self, refused: FeishuAuthError, *, conn_id: str | None, app_id: str) -> None:
        super().__init__(
            f"connection {conn_id!r} (App ID {app_id}): {refused.msg}",
            **refused.details(),
        )
        self.refused = refused
        self.conn_id = conn_id


class FeishuRateLimitError(FeishuError):
    """Still rate limited (HTTP 429 / code 99991400) when the retry budget was spent."""

    permanent = False


class FeishuNotSentError(FeishuRateLimitError):
    """The client-side rate limit had no free slot within the time left to the call (its caller's deadline or
    ``max_elapsed``): this request was not sent (a write whose earlier attempt was ambiguous still says
    ``outcome_unknown``). Transient: a later try finds the schedule drained."""


class FeishuTransientError(FeishuError):
    """Network error, timeout, 5xx, non-JSON body or documented system error, retried until the budget ran out."""

    permanent = False


class FeishuBusinessError(FeishuError):
    """A non-zero Feishu ``code`` that no retry can fix (bad id, wrong state, permission, ...)."""


class FeishuRedirectError(FeishuAuthError):
    """The server answered 3xx. Redirects are never followed (the App Secret and tokens go only to the configured
    base URL); the message names the target host. Permanent: check the base URL and proxies of the connection."""


class FeishuTLSError(FeishuAuthError):
    """The TLS handshake failed on the server's certificate (untrusted CA, wrong host name); nothing was sent.
    Permanent: set a CA bundle (connection extra ``ca_bundle`` or ``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE``)."""


class FeishuResponseTooLargeError(FeishuTransientError):
    """A response body was larger than ``max_response_bytes``; reading stopped there (memory stays bounded)."""


class FeishuPagingError(FeishuBusinessError):
    """A search kept answering ``has_more`` without progress (repeated page token, empty pages) or past
    ``max_pages``; paging stopped."""


class FeishuDeadlineError(FeishuTransientError):
    """A search or look-up was given a deadline and did not finish before it (a poke stays within its time)."""


class FeishuEditFieldsError(FeishuBusinessError):
    """Feishu refused an edit for a field or a value (1160102, 1160618, 1160619, 1160623, 1160630, 1160638,
    1160639, ...; ``client.api.EDIT_FIELD_CODES``). Feishu's answer names no field, so this error names the
    offboarding and the fields the request carried (names only, never values; at most 20 listed). Made by
    ``client.api.edit_refused`` from the error the attempt loop raised; it keeps that error's code, advice, log id,
    HTTP status and counts.

    :param cause: the business error Feishu's answer gave.
    :param offboarding_id: the offboarding the edit was for.
    :param field_names: the field names the request carried, in its order.
    """

    _LISTED = 20

    def __init__(self, cause: FeishuError, *, offboarding_id: str, field_names: tuple[str, ...]) -> None:
        shown = ", ".join(field_names[: self._LISTED])
        more = len(field_names) - self._LISTED
        listed = f"{shown} and {more} more" if more > 0 else shown
        super().__init__(
            f"{cause.msg} (offboarding {offboarding_id}; the request carried the field(s) {listed})",
            **cause.details(),
        )
        self.offboarding_id = offboarding_id
        self.field_names = field_names
