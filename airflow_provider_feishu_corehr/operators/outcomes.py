"""Outcomes of the records of a task, the error objects of XCom, the breaker, and the XCom envelope.

The outcomes and the envelope are described in ``docs/operators.md`` and ``docs/xcom.md``. No Airflow import
here: :mod:`.batch` turns a failed batch into ``AirflowFailException`` or ``AirflowException``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.errors import (
    FeishuAuthError,
    FeishuBusinessError,
    FeishuError,
    FeishuInvalidInputError,
    FeishuNotSentError,
    FeishuRateLimitError,
    FeishuTransientError,
)
from airflow_provider_feishu_corehr.operators.gate import RequestNotStarted

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

FAILED = "failed"
UNKNOWN = "unknown"
NOT_SENT = "not_sent"
SYSTEMIC_FAILURES_BEFORE_STOP = 10


class RecordNotSent(Exception):
    """A record of a batch that was not sent because the batch stopped (see :class:`Breaker`)."""

    def __init__(self, cause: BaseException, reason: str) -> None:
        super().__init__(f"not sent: {reason}; last error: {cause}")
        self.cause = cause
        self.reason = reason


class InFlight(Exception):
    """A record whose write may have reached Feishu without an answer read (outcome ``unknown``): the task was
    interrupted while it was in flight, or an unexpected error came after a request was sent.

    :param reason: what happened, for the message.
    :param cause: the unexpected error, if any (only its type reaches XCom).
    """

    def __init__(self, reason: str, cause: BaseException | None = None) -> None:
        super().__init__(f"outcome unknown: {reason}")
        self.reason = reason
        self.cause = cause


def outcome_of(exc: BaseException) -> str:
    """The XCom outcome of a record that did not succeed: ``unknown`` when Feishu may have applied it,
    ``not_sent`` when nothing of it was sent because the batch stopped, else ``failed``.

    :param exc: the record's error.
    """
    if isinstance(exc, InFlight) or (isinstance(exc, FeishuError) and exc.outcome_unknown):
        return UNKNOWN
    if isinstance(exc, (RecordNotSent, RequestNotStarted, FeishuNotSentError)):  # the last: the budget refused it
        return NOT_SENT
    return FAILED


class Breaker:
    """Stops sending the rest of a batch when the failures are not about the records.

    After ``threshold`` records in a row failed with a systemic error (authentication, and whatever outlasted the
    client's retry budget or was unexpected), or when the batch could not start, the records not sent yet fail as
    ``not_sent``. A success or a business error (an answer about that record) resets the count.
    """

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self._lock = threading.Lock()
        self._in_a_row = 0
        self._stop: RecordNotSent | None = None

    def trip(self, cause: BaseException, reason: str) -> None:
        with self._lock:
            if self._stop is None:
                self._stop = RecordNotSent(cause, reason)

    @property
    def stopped(self) -> bool:
        """Whether the batch has stopped (the rest of it is not sent, and nothing is sent to settle it)."""
        return self._stop is not None

    def check(self) -> None:
        """Raise :class:`RecordNotSent` once the batch has stopped."""
        stop = self._stop
        if stop is not None:
            raise RecordNotSent(stop.cause, stop.reason)

    def record(self, exc: BaseException | None) -> None:
        """Count one finished record (``exc`` None for a success)."""
        with self._lock:
            if exc is None or not (isinstance(exc, FeishuAuthError) or not is_permanent(exc)):
                self._in_a_row = 0
                return
            self._in_a_row += 1
            if self._in_a_row >= self.threshold and self._stop is None:
                self._stop = RecordNotSent(
                    exc, f"{self._in_a_row} records in a row failed with {error_kind(exc)} errors"
                )


def error_kind(exc: BaseException) -> str:
    """Short, stable name of the error type for XCom (``invalid_input``, ``business``, ``auth``, ...)."""
    for cls, kind in (
        (RecordNotSent, "not_sent"),
        (RequestNotStarted, "not_sent"),
        (InFlight, "transient"),
        (FeishuInvalidInputError, "invalid_input"),
        (FeishuBusinessError, "business"),
        (FeishuAuthError, "auth"),
        (FeishuRateLimitError, "rate_limited"),
        (FeishuTransientError, "transient"),
        (FeishuError, "feishu"),
    ):
        if isinstance(exc, cls):
            return kind
    return "unexpected"


def is_permanent(exc: BaseException) -> bool:
    """Only Feishu errors marked permanent are (a record not sent: its cause); anything unexpected may pass on
    another try."""
    if isinstance(exc, RecordNotSent):
        return is_permanent(exc.cause)
    return isinstance(exc, FeishuError) and exc.permanent and not exc.outcome_unknown


def _error(
    kind: str, message: str, *, code: Any = None, advice: str | None = None, log_id: str | None = None
) -> dict[str, Any]:
    return {"kind": kind, "code": code, "message": message, "advice": advice, "log_id": log_id, "permanent": False}


def error_info(exc: BaseException, unknown_advice: str | None = None) -> dict[str, Any]:
    """The XCom error object of a failure (``docs/xcom.md``).

    :param exc: the record's error.
    :param unknown_advice: what to check when the outcome is unknown, put before the error's own advice.
    """
    if isinstance(exc, InFlight):
        why = f" ({error_info(exc.cause)['message']})" if exc.cause is not None else ""
        return _error("transient", f"{exc}{why}", advice=unknown_advice)
    if isinstance(exc, RequestNotStarted):
        return _error("not_sent", str(exc), advice="Nothing of this record was sent; run the task again to send it.")
    if isinstance(exc, RecordNotSent):
        cause = error_info(exc.cause)
        message = f"not sent: {exc.reason}; last error: {cause['message']}"
        return {**cause, "kind": "not_sent", "message": message, "log_id": None, "permanent": is_permanent(exc)}
    if isinstance(exc, FeishuError):
        unknown = exc.outcome_unknown
        advice = " ".join(a for a in (unknown_advice if unknown else None, exc.advice) if a) or None
        message = f"outcome unknown: {exc.msg}" if unknown else exc.msg
        return {
            **_error(error_kind(exc), message, code=exc.code, advice=advice, log_id=exc.log_id),
            "permanent": is_permanent(exc),
        }
    # The text of an error that is not ours may quote a value or a URL: XCom (not redacted) gets its type only.
    return _error("unexpected", f"unexpected {type(exc).__name__} (see the task log)")


@dataclass(frozen=True)
class Failure:
    """A record that failed: its position, its id (if usable) and why."""

    index: int
    offboarding_id: str | None
    error: BaseException

    def describe(self) -> str:
        """One log line about the record (ids and rules, no value of any field)."""
        exc = self.error
        if isinstance(exc, FeishuInvalidInputError):
            return f"refused before sending: {exc}"
        where = f"offboarding {self.offboarding_id}" if self.offboarding_id else f"record {self.index}"
        if isinstance(exc, (FeishuError, RecordNotSent, RequestNotStarted, InFlight)):
            return f"{where}: {exc}"
        return f"{where}: unexpected {type(exc).__name__}: {exc}"


def tally(values: Iterable[Any], keys: Sequence[str]) -> dict[str, int]:
    """How many of ``values`` are each of ``keys`` (zeros included, in that order; others are added after).

    :param values: the values counted.
    :param keys: the keys always present.
    """
    counts = dict.fromkeys(keys, 0)
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def envelope(
    operation: str, mode: str, user_id_type: str | None, records: list[dict[str, Any]], outcomes: Sequence[str]
) -> dict[str, Any]:
    """The XCom value of every run that writes (``docs/xcom.md``): the same keys whatever the input was.

    :param operation: ``"revoke"`` or ``"edit"``.
    :param mode: ``"direct"``, ``"only_changed"`` or ``"plan"``.
    :param user_id_type: id type of the employment and operator ids (``None``: the connection's default).
    :param records: one XCom record per input position.
    :param outcomes: every outcome of the operation: the keys of ``counts``.
    """
    return {
        "operation": operation,
        "mode": mode,
        "user_id_type": user_id_type,
        "total": len(records),
        "counts": tally((r["outcome"] for r in records), outcomes),
        "verification": None,
        "records": records,
    }
