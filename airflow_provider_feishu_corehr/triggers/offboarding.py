"""Deferrable half of the offboarding sensor: polls Feishu with the async client in the triggerer.

The trigger only reads (v1 offboarding search); it never revokes or edits anything.

Event payloads (one event per run, then the trigger returns), all JSON-safe and free of secrets:

* ``{"status": "success", "record": {...}}`` – a target status was reached; ``record`` is
  :meth:`OffboardingRecord.summary() <airflow_provider_feishu_corehr.client.models.OffboardingRecord.summary>`.
  A trigger over a list (``employment_ids``) sends ``"records": [...]`` instead: one summary per employment.
* ``{"status": "failure", "record": {...}, "message": "..."}`` – a failure status was reached (``records`` for
  a list).
* ``{"status": "error", "message": "...", "permanent": bool, "consecutive_failures": int,
  "error_type": "FeishuAuthError", "msg": ..., "code": ..., "log_id": ..., "http_status": ...,
  "endpoint": ..., "advice": ..., "attempts": ..., "elapsed": ...}`` – a permanent error (at once), or
  ``max_consecutive_failures`` transient errors in a row. :func:`error_from_event` rebuilds the typed error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_feishu_corehr.client import errors
from airflow_provider_feishu_corehr.client.errors import FeishuError
from airflow_provider_feishu_corehr.sensors.rules import (
    FailureCounter,
    Outcome,
    SlipWatch,
    check_max_consecutive_failures,
    check_poll_interval,
    resolve_statuses,
)
from airflow_provider_feishu_corehr.sensors.watch import build_watch

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Collection, Sequence

    from airflow_provider_feishu_corehr.client.models import OffboardingRecord

EVENT_SUCCESS = "success"
EVENT_FAILURE = "failure"
EVENT_ERROR = "error"

_ERROR_TYPES: dict[str, type[FeishuError]] = {
    cls.__name__: cls for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, FeishuError)
}
"""Every error type of :mod:`..client.errors` by name: what an ``error`` event can be rebuilt as."""


def _event_type(exc: FeishuError) -> str:
    """The name of the nearest client error type of ``exc`` (a subclass defined elsewhere maps to its base)."""
    return next(cls.__name__ for cls in type(exc).__mro__ if _ERROR_TYPES.get(cls.__name__) is cls)


def _event(payload: dict[str, Any]) -> TriggerEvent:
    return TriggerEvent(payload)  # type: ignore[no-untyped-call]


def error_event(exc: FeishuError, consecutive_failures: int) -> dict[str, Any]:
    """Payload of an ``error`` event: the typed error's fields (its text never holds a token or body)."""
    return {
        "status": EVENT_ERROR,
        "message": str(exc),
        "permanent": exc.permanent,
        "consecutive_failures": consecutive_failures,
        "error_type": _event_type(exc),
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
    """Poll the status of one offboarding, or of many employments' offboardings, until the wait ends.

    Triggers of one triggerer process that share a connection target and ``user_id_type`` are polled together
    (:mod:`._poller`): one search per up to 100 employments per round, each trigger looked at no more often than
    its ``poll_interval``, one pooled HTTP client. A look that did not end the trigger is followed by the next
    one after ``poll_interval`` (errors included). Permanent errors (authentication, permission, bad input) end it
    at once; transient ones (network, 5xx, rate limit, documented system errors, after the client's own retries)
    end it after ``max_consecutive_failures`` in a row. How long it may run is bounded by Airflow's ``timeout``.

    Rows written by earlier releases (one ``employment_id``, no ``employment_ids`` / ``match``) still run.

    :param feishu_conn_id: Airflow connection id of type ``feishu``.
    :param employment_id: the employment whose offboarding is watched (or give ``employment_ids``).
    :param target_statuses: statuses that end the wait successfully.
    :param failure_statuses: statuses that end the wait as failed; must not overlap the targets
        (``None``: ``Rejected`` and ``Withdrawn`` minus the targets).
    :param offboarding_id: a specific offboarding (with ``employment_id`` only); ``None`` watches the most recent.
    :param user_id_type: id type of the employment ids; ``None`` means the connection's default.
    :param poll_interval: seconds between two looks.
    :param max_consecutive_failures: transient errors in a row after which the trigger gives up.
    :param employment_ids: a list of employments, watched together (instead of ``employment_id``).
    :param match: with ``employment_ids``: ``all`` (every one must reach a target) or ``any`` (one is enough).
    """

    def __init__(
        self,
        *,
        feishu_conn_id: str,
        target_statuses: str | Collection[str],
        employment_id: str | None = None,
        failure_statuses: str | Collection[str] | None = None,
        offboarding_id: str | None = None,
        user_id_type: str | None = None,
        poll_interval: float = 60.0,
        max_consecutive_failures: int = 5,
        employment_ids: Sequence[str] | None = None,
        match: str = "all",
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.feishu_conn_id = feishu_conn_id
        targets, failures = resolve_statuses(target_statuses, failure_statuses)
        self.watch = build_watch(
            employment_id=employment_id,
            employment_ids=employment_ids,
            offboarding_id=offboarding_id,
            targets=targets,
            failures=failures,
            user_id_type=user_id_type,
            match=match,
        )
        self.poll_interval = check_poll_interval(poll_interval)
        self.max_consecutive_failures = check_max_consecutive_failures(max_consecutive_failures)

    @property
    def employment_id(self) -> str:
        """The first (for single watches: the only) employment id."""
        return self.watch.employment_ids[0]

    @property
    def offboarding_id(self) -> str | None:
        return self.watch.offboarding_id

    @property
    def target_statuses(self) -> tuple[str, ...]:
        return self.watch.targets

    @property
    def failure_statuses(self) -> tuple[str, ...]:
        return self.watch.failures

    @property
    def user_id_type(self) -> str | None:
        return self.watch.user_id_type

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and arguments: connection id, ids, statuses and timing only (no secret, no token).

        A single-employment trigger keeps the form earlier releases wrote; a list adds ``employment_ids`` and
        ``match`` instead of ``employment_id``.
        """
        watch = self.watch
        kwargs: dict[str, Any] = {"feishu_conn_id": self.feishu_conn_id}
        if watch.many:
            kwargs["employment_ids"] = list(watch.employment_ids)
            kwargs["match"] = watch.match
        else:
            kwargs["employment_id"] = watch.employment_ids[0]
            kwargs["offboarding_id"] = watch.offboarding_id
        kwargs.update(
            {
                "target_statuses": list(watch.targets),
                "failure_statuses": list(watch.failures),
                "user_id_type": watch.user_id_type,
                "poll_interval": self.poll_interval,
                "max_consecutive_failures": self.max_consecutive_failures,
            }
        )
        return f"{type(self).__module__}.{type(self).__qualname__}", kwargs

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Wait through the shared poller; yield exactly one event, then return (leaving the poller)."""
        yield _event(await self._wait())

    async def _wait(self) -> dict[str, Any]:
        """Subscribe to the poller of this connection target; apply every look until one ends the wait."""
        from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook
        from airflow_provider_feishu_corehr.triggers._poller import poller_for

        watch = self.watch
        hook = FeishuHook(feishu_conn_id=self.feishu_conn_id)
        try:
            settings = await hook.aget_settings()
        except FeishuError as exc:
            self.log.error("Cannot watch %s: %s", watch.name, exc)
            return error_event(exc, 0)
        poller = poller_for(settings, watch.user_id_type, hook.async_client)
        sub = poller.subscribe(watch.employment_ids, self.poll_interval)
        counter = FailureCounter(self.max_consecutive_failures)
        slip = SlipWatch(self.poll_interval)
        try:
            while True:
                look = await sub.next_look()
                slip.observe(look.lateness, self.log, watch.name)
                if look.error is not None:
                    if counter.failure(look.error, self.log, watch.name, self.poll_interval):
                        return error_event(look.error, counter.count)
                    continue
                counter.success()
                payload = self._apply(watch.pick(look.records))
                if payload is not None:
                    return payload
        finally:
            poller.unsubscribe(sub)

    def _apply(self, records: dict[str, OffboardingRecord | None]) -> dict[str, Any] | None:
        """The event payload if this look ends the wait, else ``None`` (after logging the wait)."""
        watch = self.watch
        decision = watch.decide(records)
        key = "records" if watch.many else "record"
        if decision.outcome is Outcome.TARGET:
            self.log.info("%s", watch.reached_text(records))
            return {"status": EVENT_SUCCESS, key: watch.xcom(records)}
        if decision.outcome is Outcome.FAILURE:
            self.log.error("%s", decision.message)
            return {"status": EVENT_FAILURE, key: watch.xcom(records), "message": decision.message}
        watch.log_waiting(self.log, records, self.poll_interval)
        return None
