"""Deferrable half of the offboarding sensor: reads (v1 offboarding search) with the async client in the triggerer,
then sends one event (:mod:`..status.trigger_event`) and returns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_feishu_corehr.client.errors import FeishuError
from airflow_provider_feishu_corehr.client.privacy import key_for
from airflow_provider_feishu_corehr.status.looks import (
    Looks,
    check_max_consecutive_failures,
    check_poll_interval,
    next_look_text,
)
from airflow_provider_feishu_corehr.status.statuses import Outcome, ends_wait
from airflow_provider_feishu_corehr.status.trigger_event import end_event, error_event
from airflow_provider_feishu_corehr.status.watch import check_watch

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Collection, Sequence


class OffboardingStatusTrigger(BaseTrigger):
    """Poll the status of one offboarding, or of many employments' offboardings, until the wait ends.

    Triggers of one triggerer process that share a connection target and ``user_id_type`` are polled together
    (:mod:`._poller`, docs/scaling.md section 1); the rules of a look are :mod:`..status`'s, as in the sensor.
    Rows written by earlier releases (one ``employment_id``, no ``employment_ids`` / ``match``) still run.

    :param feishu_conn_id: Airflow connection id of type ``feishu``.
    :param employment_id: the employment whose offboarding is watched (or give ``employment_ids``).
    :param target_statuses: statuses that end the wait successfully.
    :param failure_statuses: statuses that end the wait as failed; must not overlap the targets
        (``None``: ``Rejected`` and ``Withdrawn`` minus the targets).
    :param offboarding_id: a specific offboarding (with ``employment_id`` only); ``None`` watches the most recent.
    :param user_id_type: id type of the employment ids; ``None`` means the connection's default.
    :param poll_interval: seconds between two looks, on the shared poller's beat: the first look comes within
        ``min(poll_interval / 2, 30 s)``, the second joins the beat (half an interval early or late at most), then one
        look per interval (docs/scaling.md section 1).
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
        watch = check_watch(
            employment_id=employment_id,
            employment_ids=employment_ids,
            offboarding_id=offboarding_id,
            target_statuses=target_statuses,
            failure_statuses=failure_statuses,
            user_id_type=user_id_type,
            match=match,
        )
        assert watch is not None  # every value is final
        self.watch = watch
        self.poll_interval = check_poll_interval(poll_interval)
        self.max_consecutive_failures = check_max_consecutive_failures(max_consecutive_failures)
        # The attributes of earlier releases (employment_id: the first, for one employment the only one).
        self.employment_id, self.offboarding_id = watch.employment_ids[0], watch.offboarding_id
        self.target_statuses, self.failure_statuses = watch.targets, watch.failures
        self.user_id_type = watch.user_id_type

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and arguments: connection id, the watch (:meth:`.Watch.arguments`) and timing; no secret."""
        kwargs = {
            "feishu_conn_id": self.feishu_conn_id,
            **self.watch.arguments(),
            "poll_interval": self.poll_interval,
            "max_consecutive_failures": self.max_consecutive_failures,
        }
        return f"{type(self).__module__}.{type(self).__qualname__}", kwargs

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Wait through the shared poller; yield exactly one event, then return (leaving the poller)."""
        yield TriggerEvent(await self._wait())  # type: ignore[no-untyped-call]

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
        self.log.info(
            "Watching %s in the shared poll of this triggerer; %s.",
            watch.name,
            next_look_text(poller.next_look_in(sub), "first look"),
        )
        looks = Looks(self.max_consecutive_failures, self.poll_interval)
        try:
            while True:
                look = await sub.next_look()
                if (error := looks.ended(look.error, look.lateness, self.log, watch.name, look.next_in)) is not None:
                    return error_event(error, looks.count)
                if look.error is None:
                    decision = watch.judge(watch.pick(look.records), self.log, look.next_in)
                    if decision.outcome is Outcome.FAILURE:
                        self.log.error("%s", decision.message)
                    if ends_wait(decision.outcome):
                        return end_event(watch, decision, key_for(settings))
        finally:
            poller.unsubscribe(sub)
