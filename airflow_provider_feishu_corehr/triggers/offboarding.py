"""Deferrable half of the offboarding sensor: polls Feishu with the async client in the triggerer.

The trigger only reads (v1 offboarding search); it never revokes or edits anything.

Event payloads (one event per run, then the trigger returns), all JSON-safe and free of secrets:

* ``{"status": "success", "record": {...}}`` – a target status was reached; ``record`` is
  :meth:`OffboardingRecord.summary() <airflow_provider_feishu_corehr.client.models.OffboardingRecord.summary>`.
* ``{"status": "failure", "record": {...}, "message": "..."}`` – a failure status was reached.
* ``{"status": "error", "message": "...", "permanent": bool, "consecutive_failures": int,
  "error_type": "FeishuAuthError", "msg": ..., "code": ..., "log_id": ..., "http_status": ...,
  "endpoint": ..., "advice": ..., "attempts": ..., "elapsed": ...}`` – a permanent error (at once), or
  ``max_consecutive_failures`` transient errors in a row. :func:`error_from_event` rebuilds the typed error.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_feishu_corehr.client.errors import (
    FeishuAuthError,
    FeishuBusinessError,
    FeishuError,
    FeishuInvalidInputError,
    FeishuRateLimitError,
    FeishuTransientError,
)
from airflow_provider_feishu_corehr.client.validation import check_user_id_type, optional_id, require_id
from airflow_provider_feishu_corehr.sensors.rules import (
    Outcome,
    check_max_consecutive_failures,
    check_poll_interval,
    classify,
    describe,
    failure_message,
    log_waiting,
    resolve_statuses,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Collection

    from airflow_provider_feishu_corehr.client.aio import AsyncFeishuClient

EVENT_SUCCESS = "success"
EVENT_FAILURE = "failure"
EVENT_ERROR = "error"

_ERROR_TYPES: dict[str, type[FeishuError]] = {
    cls.__name__: cls
    for cls in (
        FeishuError,
        FeishuInvalidInputError,
        FeishuAuthError,
        FeishuRateLimitError,
        FeishuTransientError,
        FeishuBusinessError,
    )
}


def _event(payload: dict[str, Any]) -> TriggerEvent:
    return TriggerEvent(payload)  # type: ignore[no-untyped-call]


def error_event(exc: FeishuError, consecutive_failures: int) -> dict[str, Any]:
    """Payload of an ``error`` event: the typed error's fields (its text never holds a token or body)."""
    return {
        "status": EVENT_ERROR,
        "message": str(exc),
        "permanent": exc.permanent,
        "consecutive_failures": consecutive_failures,
        "error_type": type(exc).__name__ if type(exc).__name__ in _ERROR_TYPES else FeishuError.__name__,
        "msg": exc.msg,
        "code": exc.code,
        "log_id": exc.log_id,
        "http_status": exc.http_status,
        "endpoint": exc.endpoint,
        "advice": exc.advice,
        "attempts": exc.attempts,
        "elapsed": exc.elapsed,
    }


def error_from_event(event: dict[str, Any]) -> FeishuError:
    """Rebuild the typed error of an ``error`` event (same class, code, log id and text)."""
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


class OffboardingStatusTrigger(BaseTrigger):
    """Poll an offboarding's status until it reaches a target or a failure status.

    Sleeps ``poll_interval`` seconds after every look that did not end the trigger, errors included.
    Permanent errors (authentication, permission, bad input) end it at once; transient ones (network, 5xx,
    rate limit, documented system errors, after the client's own retries) end it after
    ``max_consecutive_failures`` in a row. How long it may run is bounded by Airflow's ``timeout`` on defer.

    :param feishu_conn_id: Airflow connection id of type ``feishu``.
    :param employment_id: employment whose offboarding is watched.
    :param target_statuses: statuses that end the wait successfully.
    :param failure_statuses: statuses that end the wait as failed; must not overlap the targets
        (``None``: ``Rejected`` and ``Withdrawn`` minus the targets).
    :param offboarding_id: a specific offboarding; ``None`` watches the employment's most recent one.
    :param user_id_type: id type of ``employment_id``; ``None`` means the connection's default.
    :param poll_interval: seconds between two looks.
    :param max_consecutive_failures: transient errors in a row after which the trigger gives up.
    """

    def __init__(
        self,
        *,
        feishu_conn_id: str,
        employment_id: str,
        target_statuses: str | Collection[str],
        failure_statuses: str | Collection[str] | None = None,
        offboarding_id: str | None = None,
        user_id_type: str | None = None,
        poll_interval: float = 60.0,
        max_consecutive_failures: int = 5,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.feishu_conn_id = feishu_conn_id
        self.employment_id = require_id("employment_id", employment_id)
        self.offboarding_id = optional_id("offboarding_id", offboarding_id)
        self.target_statuses, self.failure_statuses = resolve_statuses(target_statuses, failure_statuses)
        self.user_id_type = None if user_id_type is None else check_user_id_type(user_id_type)
        self.poll_interval = check_poll_interval(poll_interval)
        self.max_consecutive_failures = check_max_consecutive_failures(max_consecutive_failures)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and arguments: connection id, ids, statuses and timing only (no secret, no token)."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "feishu_conn_id": self.feishu_conn_id,
                "employment_id": self.employment_id,
                "offboarding_id": self.offboarding_id,
                "target_statuses": list(self.target_statuses),
                "failure_statuses": list(self.failure_statuses),
                "user_id_type": self.user_id_type,
                "poll_interval": self.poll_interval,
                "max_consecutive_failures": self.max_consecutive_failures,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Look up the offboarding every ``poll_interval`` seconds; yield exactly one event, then return.

        The HTTP client is closed before the event is yielded.
        """
        yield _event(await self._wait())

    async def _wait(self) -> dict[str, Any]:
        """Poll until an outcome ends the wait; return the event payload."""
        watched = describe(self.employment_id, self.offboarding_id)
        try:
            client = await self._client()
        except FeishuError as exc:
            self.log.error("Cannot watch %s: %s", watched, exc)
            return error_event(exc, 0)
        failures = 0
        async with client:
            while True:
                try:
                    record = await client.get_offboarding(
                        self.employment_id, offboarding_id=self.offboarding_id, user_id_type=self.user_id_type
                    )
                except FeishuError as exc:
                    if exc.permanent:
                        self.log.error("Looking up %s failed permanently: %s", watched, exc)
                        return error_event(exc, failures)
                    failures += 1
                    if failures >= self.max_consecutive_failures:
                        self.log.error(
                            "Giving up on %s after %d transient errors in a row; last: %s", watched, failures, exc
                        )
                        return error_event(exc, failures)
                    self.log.warning(
                        "Transient error %d of at most %d in a row looking up %s: %s; next look in %ss",
                        failures,
                        self.max_consecutive_failures,
                        watched,
                        exc,
                        self.poll_interval,
                    )
                else:
                    failures = 0
                    outcome = classify(record, self.target_statuses, self.failure_statuses)
                    if outcome is Outcome.TARGET and record is not None:
                        self.log.info("Target status %s reached: %s.", record.status, watched)
                        return {"status": EVENT_SUCCESS, "record": record.summary()}
                    if outcome is Outcome.FAILURE and record is not None:
                        message = failure_message(watched, record.status, self.failure_statuses)
                        self.log.error("%s", message)
                        return {"status": EVENT_FAILURE, "record": record.summary(), "message": message}
                    log_waiting(self.log, watched, record.status if record else None, self.target_statuses)
                await asyncio.sleep(self.poll_interval)

    async def _client(self) -> AsyncFeishuClient:
        from airflow.providers.common.compat.connection import get_async_connection
        from airflow.providers.common.compat.sdk import AirflowNotFoundException, mask_secret

        from airflow_provider_feishu_corehr.client.aio import AsyncFeishuClient
        from airflow_provider_feishu_corehr.hooks.connection import settings_from_connection

        try:
            conn = await get_async_connection(self.feishu_conn_id)
        except AirflowNotFoundException as exc:
            raise FeishuInvalidInputError(f"connection {self.feishu_conn_id!r} is not defined") from exc
        return AsyncFeishuClient(settings_from_connection(conn), on_token=mask_secret)
