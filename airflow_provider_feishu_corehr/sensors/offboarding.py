"""``OffboardingStatusSensor``: wait until a Feishu People (CoreHR) offboarding reaches a status."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)

from airflow_provider_feishu_corehr._arguments import invalid_argument, is_static
from airflow_provider_feishu_corehr.client.errors import FeishuError
from airflow_provider_feishu_corehr.client.privacy import SUMMARY_VALUES, hide_summary, is_digest, key_for
from airflow_provider_feishu_corehr.hooks.connection_fields import DEFAULT_CONN_ID
from airflow_provider_feishu_corehr.status.looks import Looks, check_max_consecutive_failures, check_poll_interval
from airflow_provider_feishu_corehr.status.statuses import Outcome, describe, ends_wait
from airflow_provider_feishu_corehr.status.trigger_event import (
    EVENT_ERROR,
    EVENT_FAILURE,
    EVENT_SUCCESS,
    error_from_event,
)
from airflow_provider_feishu_corehr.status.watch import Watch, check_watch, group_by_employment

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    import jinja2
    from airflow.sdk import Context

    from airflow_provider_feishu_corehr.client.models import OffboardingRecord
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

_WATCHED = ("employment_id", "employment_ids", "offboarding_id", "target_statuses", "failure_statuses", "user_id_type")
"""The templated arguments of the watch (:func:`..status.watch.check_watch`)."""

_MIN_POKE_SECONDS = 1.0
"""A poke's least time for its search, even nearer the timeout (Airflow's timeout check then ends the task)."""


class OffboardingStatusSensor(BaseSensorOperator):
    """Wait until an offboarding reaches one of ``target_statuses``; fail early on a failure status.

    Looks up the employment's offboarding (``offboarding_id``, else its most recent) or a list of employments'
    with ``POST /open-apis/corehr/v1/offboardings/search`` (read only): every ``poke_interval`` seconds through
    :class:`~airflow_provider_feishu_corehr.hooks.feishu.FeishuHook` (``poke`` and ``reschedule`` modes), or with
    ``deferrable=True`` in :class:`~airflow_provider_feishu_corehr.triggers.offboarding.OffboardingStatusTrigger`
    from the first poke, ``timeout`` being the deferral timeout. Outcomes, XCom and logs are the same in every mode
    (docs/reference.md, "OffboardingStatusSensor"; docs/scaling.md for many sensors). A poke never outlives ``timeout``.

    ``soft_fail=True`` turns a failure status, a permanent error and a timeout into a skip, as Airflow does for
    every sensor; giving up after transient errors is not skipped in any mode (use ``never_fail`` for that).
    Templated statuses: one status per string (``"{{ params.target }}"`` or ``["{{ a }}", "{{ b }}"]``), or a
    list rendered with ``render_template_as_native_obj=True``; a list rendered as text is refused. Bad values raise
    ``InvalidOperatorArgumentError`` when the task is built (static values) or rendered (templated ones).

    :param employment_id: employment whose offboarding is watched, in ``user_id_type`` (an int is taken as its
        decimal text: native rendering turns digit ids into ints). Give this or ``employment_ids``. (templated)
    :param target_statuses: one status or a list that end the wait successfully. (templated)
    :param offboarding_id: watch this offboarding of the employment; ``None``: its most recent. (templated)
    :param failure_statuses: statuses that fail the task at once, not overlapping the targets; ``None``:
        ``Rejected`` and ``Withdrawn`` minus any target; ``[]`` never fails early. (templated)
    :param user_id_type: id type of the employment ids; ``None``: the connection's default. (templated)
    :param feishu_conn_id: Airflow connection id of type ``feishu``. (templated)
    :param max_consecutive_failures: transient errors in a row after which the wait gives up (at least 1).
    :param deferrable: defer to the triggerer; default ``[operators] default_deferrable``; needs ``poke_interval`` > 0.
    :param employment_ids: a list of employments watched together (each one's most recent offboarding); XCom is
        then a list of summaries in that order. (templated)
    :param match: with ``employment_ids``: ``"all"`` (default) or ``"any"`` must reach a target (``mode`` is
        the sensor's poke/reschedule mode).
    :param kwargs: the usual sensor arguments: ``poke_interval``, ``timeout``, ``mode``, ``soft_fail``, ...
    """

    template_fields: Sequence[str] = (*_WATCHED, "feishu_conn_id")
    ui_color = "#d6f0ff"

    def __init__(
        self,
        *,
        target_statuses: str | Collection[str],
        employment_id: str | None = None,
        offboarding_id: str | None = None,
        failure_statuses: str | Collection[str] | None = None,
        user_id_type: str | None = None,
        feishu_conn_id: str = DEFAULT_CONN_ID,
        max_consecutive_failures: int = 5,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        employment_ids: Sequence[str] | None = None,
        match: str = "all",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.employment_id = employment_id
        self.employment_ids = employment_ids
        self.match = match
        self.target_statuses = target_statuses
        self.offboarding_id = offboarding_id
        self.failure_statuses = failure_statuses
        self.user_id_type = user_id_type
        self.feishu_conn_id = feishu_conn_id
        self.max_consecutive_failures = max_consecutive_failures
        self.deferrable = deferrable
        self._looks: Looks | None = None
        self._first_poke: float | None = None
        self._last_poke_end: float | None = None
        with invalid_argument():  # also an AirflowFailException: a bad mapped value fails without retry
            check_max_consecutive_failures(self.max_consecutive_failures)
            if self.deferrable:
                check_poll_interval(self.poke_interval, "poke_interval (deferrable mode)")
            check_watch(**self._arguments(), known=is_static)  # templated values are checked when rendered

    def _arguments(self) -> dict[str, Any]:
        return {**{name: getattr(self, name) for name in _WATCHED}, "match": self.match}

    def _watch(self) -> Watch:
        """Validate the rendered arguments; a bad value fails the task without retries."""
        with invalid_argument(f"{self.task_id}: "):
            watch = check_watch(**self._arguments())
        assert watch is not None  # every value is final
        return watch

    def render_template_fields(self, context: Context, jinja_env: jinja2.Environment | None = None) -> None:
        """Render the templated fields, then refuse invalid values before anything is sent."""
        super().render_template_fields(context, jinja_env)
        self._watch()

    @cached_property
    def hook(self) -> FeishuHook:
        """The hook of ``feishu_conn_id``, built on first use (after rendering)."""
        from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

        return FeishuHook(feishu_conn_id=self.feishu_conn_id)

    def _private(self, value: Any) -> Any:
        """The XCom value with its dates hashed when the connection's extra ``privacy`` is on (docs/privacy.md).
        When the connection cannot be read the mode is unknown: the task fails rather than store a value in the clear.

        :param value: one record summary, or a list of them.
        """
        summaries = value if isinstance(value, list) else [value]
        if all(s.get(k) is None or is_digest(s.get(k)) for s in summaries for k in SUMMARY_VALUES):
            return value  # nothing to hash
        try:
            key = key_for(self.hook.settings)
        except FeishuError as err:
            raise AirflowFailException(
                f"{self.task_id}: privacy mode cannot be decided, the connection cannot be read ({err}); "
                "the record summary is not stored"
            ) from err
        if isinstance(value, list):
            return [hide_summary(v, key) for v in value]
        return hide_summary(value, key)

    def _defer(self, watch: Watch) -> NoReturn:
        """Hand the whole wait to the trigger from the first poke, before any look (docs/decisions.md)."""
        from airflow_provider_feishu_corehr.triggers.offboarding import OffboardingStatusTrigger

        self.log.info("Deferring: waiting for %s to reach %s.", watch.name, " or ".join(watch.targets))
        self.defer(
            trigger=OffboardingStatusTrigger(
                feishu_conn_id=self.feishu_conn_id,
                poll_interval=self.poke_interval,
                max_consecutive_failures=self.max_consecutive_failures,
                **watch.arguments(),
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def _time_left(self, now: float) -> float:
        """Seconds this poke may take: what is left of ``timeout`` since the first poke of this run (poke mode),
        the whole ``timeout`` in reschedule mode (Airflow checks the timeout between pokes there)."""
        if self._first_poke is None:
            self._first_poke = now
        left = float(self.timeout) - (now - self._first_poke)
        return max(left, _MIN_POKE_SECONDS)

    def _look(self, watch: Watch, seconds: float) -> dict[str, OffboardingRecord | None]:
        """One look: one search per up to 100 employments (pages followed), bounded by ``seconds``: the client's
        ``deadline`` ends its HTTP work, ``within`` the limiter's waits (a slot further away is not booked)."""
        from airflow_provider_feishu_corehr.client.lookup import employment_batches
        from airflow_provider_feishu_corehr.client.ratelimit import within

        deadline = time.monotonic() + seconds
        client = self.hook.get_conn()
        found: list[OffboardingRecord] = []
        with within(seconds):
            for batch in employment_batches(watch.employment_ids):
                found.extend(
                    client.search_offboardings(employment_ids=batch, user_id_type=watch.user_id_type, deadline=deadline)
                )
        return watch.pick(group_by_employment(found))

    def _fail(self, watched: str, error: FeishuError) -> NoReturn:
        """End the try: a permanent error without retry, a transient one so that the task's ``retries`` apply."""
        if error.permanent:
            raise AirflowFailException(f"Looking up {watched} failed: {error}") from error
        raise error

    def poke(self, context: Context) -> PokeReturnValue:
        """Look once at every watched employment; done (with the XCom) when the target is reached.

        With ``deferrable=True`` the first poke defers instead of looking.
        """
        watch = self._watch()
        if self.deferrable:
            self._defer(watch)
        if self._looks is None:
            self._looks = Looks(self.max_consecutive_failures, float(self.poke_interval))
        started = time.monotonic()
        due = None if self._last_poke_end is None else self._last_poke_end + float(self.poke_interval)
        records: dict[str, OffboardingRecord | None] = {}
        error: FeishuError | None = None
        try:
            records = self._look(watch, self._time_left(started))
        except FeishuError as exc:
            error = exc
        self._last_poke_end = time.monotonic()
        lateness = None if due is None else self._last_poke_end - due
        if (ended := self._looks.ended(error, lateness, self.log, watch.name)) is not None:
            self._fail(watch.name, ended)
        if error is not None:
            return PokeReturnValue(is_done=False)
        decision = watch.judge(records, self.log, self.poke_interval)
        if decision.outcome is Outcome.FAILURE:
            raise AirflowFailException(decision.message)
        done = ends_wait(decision.outcome)  # a failure has raised above
        return PokeReturnValue(is_done=done, xcom_value=self._private(watch.xcom(records)) if done else None)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Turn the trigger's event (:mod:`..status.trigger_event`) into the task's outcome: the XCom, or the error
        raised."""
        event = event or {}
        status = event.get("status")
        if status == EVENT_SUCCESS:
            if "records" in event:
                records: list[dict[str, Any]] = event["records"]
                self.log.info("Target status reached: %d employments listed in XCom.", len(records))
                return self._private(records)
            record: dict[str, Any] = event["record"]
            self.log.info(
                "Target status %s reached: %s.",
                record.get("status"),
                describe(str(record.get("employment_id")), record.get("offboarding_id")),
            )
            return self._private(record)
        if status == EVENT_FAILURE:
            raise AirflowFailException(str(event["message"]))
        if status == EVENT_ERROR:
            error = error_from_event(event)
            if not error.permanent:
                self.log.error(
                    "Giving up after %s transient errors in a row.", event.get("consecutive_failures", "several")
                )
            self._fail(self._watch().name, error)
        raise AirflowException(f"{self.task_id}: unexpected trigger event {status!r}")
