"""The one event the status trigger sends when a wait ends, and how the sensor reads it back. Payloads are
JSON-safe and free of secrets: ``success`` or ``failure`` with the record summary (:meth:`.Watch.xcom`) under
``record`` (``records`` for a list) and a failure's ``message``; ``error`` with the typed error's fields
(:func:`error_event`), which :func:`error_from_event` rebuilds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client import errors
from airflow_provider_feishu_corehr.client.errors import FeishuError
from airflow_provider_feishu_corehr.client.privacy import hide_summary
from airflow_provider_feishu_corehr.status.statuses import Outcome

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider_feishu_corehr.status.watch import Decision, Watch

EVENT_SUCCESS = "success"
EVENT_FAILURE = "failure"
EVENT_ERROR = "error"

_ERROR_TYPES: dict[str, type[FeishuError]] = {
    cls.__name__: cls
    for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, FeishuError) and cls.__init__ is FeishuError.__init__
}
"""Every error type of :mod:`..client.errors` built from the event's fields, by name: what an ``error`` event can be
rebuilt as (one that wraps another error, e.g. ``FeishuCredentialsError``, is sent as its nearest such base)."""


def end_event(watch: Watch, decision: Decision, key: bytes | None = None) -> dict[str, Any]:
    """Payload of a wait that ended on a status: ``success`` (target) or ``failure`` with its message.

    :param watch: the watch that ended.
    :param decision: the decision of the look that ended it (``TARGET`` or ``FAILURE``).
    :param key: privacy mode's hashing key (:func:`..client.privacy.key_for`): the summaries' dates are hashed;
        ``None``: privacy off.
    :raises ValueError: for any other outcome (the wait has not ended).
    """
    summaries = watch.xcom(decision.records)
    hidden = [hide_summary(s, key) for s in summaries] if watch.many else hide_summary(summaries, key)
    records = {"records" if watch.many else "record": hidden}
    if decision.outcome is Outcome.TARGET:
        return {"status": EVENT_SUCCESS, **records}
    if decision.outcome is Outcome.FAILURE:
        return {"status": EVENT_FAILURE, **records, "message": decision.message}
    raise ValueError(f"outcome {decision.outcome.value!r} does not end the wait")


def error_event(exc: FeishuError, consecutive_failures: int) -> dict[str, Any]:
    """Payload of an ``error`` event: the typed error's fields (its text never holds a token or body).

    :param exc: the error that ended the wait.
    :param consecutive_failures: transient errors in a row when it ended (0 for a permanent one at once).
    """
    return {
        "status": EVENT_ERROR,
        "message": str(exc),
        "permanent": exc.permanent,
        "consecutive_failures": consecutive_failures,
        # the nearest client error type: a subclass defined elsewhere is sent as its base
        "error_type": next(c.__name__ for c in type(exc).__mro__ if _ERROR_TYPES.get(c.__name__) is c),
        "msg": exc.msg,
        "code": exc.code,
        "log_id": exc.log_id,
        "http_status": exc.http_status,
        "endpoint": exc.endpoint,
        "advice": exc.advice,
        "attempts": exc.attempts,
        "elapsed": exc.elapsed,
    }


def error_from_event(event: Mapping[str, Any]) -> FeishuError:
    """Rebuild the typed error of an ``error`` event (same class, code, log id and text).

    :param event: the payload of an ``error`` event.
    """
    cls = _ERROR_TYPES.get(str(event.get("error_type")), FeishuError)
    return cls(
        str(event.get("msg") or event.get("message") or "unknown error"),
        code=event.get("code"),
        log_id=event.get("log_id"),
        http_status=event.get("http_status"),
        endpoint=event.get("endpoint"),
        advice=event.get("advice"),
        attempts=int(event.get("attempts") or 0),
        elapsed=float(event.get("elapsed") or 0.0),
    )
