"""``OffboardingStatusSensor``: wait until a Feishu People (CoreHR) offboarding reaches a status."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)

from airflow_provider_feishu_corehr._arguments import invalid_argument, is_static
from airflow_provider_feishu_corehr.client.errors import FeishuError
from airflow_provider_feishu_corehr.status.looks import (
    FailureCounter,
    SlipWatch,
    check_max_consecutive_failures,
    check_poll_interval,
)
from airflow_provider_feishu_corehr.status.statuses import Outcome, check_status_list, describe, resolve_statuses
from airflow_provider_feishu_corehr.status.trigger_event import (
    EVENT_ERROR,
    EVENT_FAILURE,
    EVENT_SUCCESS,
    error_from_event,
)
from airflow_provider_feishu_corehr.status.watch import Watch, build_watch, check_watch_arguments, group_by_employment

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    import jinja2
    from airflow.sdk import Context

    from airflow_provider_feishu_corehr.client.models import OffboardingRecord
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

_MIN_POKE_SECONDS = 1.0
"""A poke never gets less than this much time for its search, even when the timeout is nearer (then Airflow's
timeout check ends the task after the poke)."""


class OffboardingStatusSensor(BaseSensorOperator):
    """Wait until an offboarding reaches one of ``target_statuses``; fail early on a failure status.

    Looks the offboarding up with ``POST /open-apis/corehr/v1/offboardings/search`` (read only), by employment
    id and, optionally, offboarding id. Without ``offboarding_id`` the employment's most recent offboarding
    (latest ``apply_initiating_time``) is watched. A record that is not found yet keeps the sensor waiting
    (new records may not be visible at once); each look is logged at INFO with ids and status only, what it
    waits for and when it next looks. ``employment_ids`` watches a list of employments with one search per up to
    100 of them per look (``match`` says whether all or any must reach a target).

    One poke never outlives ``timeout``: its search (retries, backoff and client-side rate-limit waits included)
    is bounded by the time left. Looks that slip far behind ``poke_interval`` (the app's shared search budget) are
    reported in the task log.

    Modes: ``poke`` and ``reschedule`` call :class:`~airflow_provider_feishu_corehr.hooks.feishu.FeishuHook`
    every ``poke_interval`` seconds; ``deferrable=True`` hands the wait to
    :class:`~airflow_provider_feishu_corehr.triggers.offboarding.OffboardingStatusTrigger` at the first poke,
    before any look (async client in the triggerer, the same rules), with ``timeout`` as the deferral timeout.

    Outcomes, the same in every mode:

    * a target status: success; XCom ``return_value`` is the record's summary, a JSON dict
      ``{"offboarding_id", "employment_id", "status", "offboarding_date", "expected_offboarding_date",
      "checklist_status"}`` (dates ``YYYY-MM-DD`` or ``None``).
    * a failure status: :class:`AirflowFailException` (no task retry).
    * a permanent Feishu error (credentials, permission, bad input): :class:`AirflowFailException` at once.
    * a transient Feishu error (network, 5xx, rate limit, system error; the client has already retried it):
      logged, and the sensor keeps waiting; after ``max_consecutive_failures`` in a row the task try fails
      with that typed error, so the task's ``retries`` apply. In ``reschedule`` mode every poke is a new
      run of the task, so the count cannot carry over from one poke to the next: there, transient errors
      are bounded by ``timeout`` only.
    * ``timeout`` elapsed: :class:`AirflowSensorTimeout`.

    ``soft_fail=True`` turns a failure status, a permanent error and a timeout into a skip, as Airflow does
    for every sensor (:class:`AirflowFailException` and timeouts). The give-up after transient errors is not
    skipped by ``soft_fail`` in any mode (use ``never_fail`` for that).

    Templated statuses: one status per string (``"{{ params.target }}"`` or ``["{{ a }}", "{{ b }}"]``), or a
    list rendered with ``render_template_as_native_obj=True``; a list rendered as text is refused.

    Unknown status names, overlapping target and failure statuses, an empty ``employment_id`` and an unknown
    ``user_id_type`` are refused when the task is built (static values) or rendered (templated values), with
    ``InvalidOperatorArgumentError`` (a ``FeishuInvalidInputError`` and an ``AirflowFailException``: a bad
    mapped value fails its task without retry).

    :param employment_id: employment whose offboarding is watched, in ``user_id_type``; an int is taken as its
        decimal text (native rendering turns digit ids into ints). Give this or ``employment_ids``. (templated)
    :param target_statuses: one status or a list of statuses that end the wait successfully: ``Approving``,
        ``Approved``, ``Offboarded``, ``Rejected``, ``Withdrawn``, ``NoNeedApproval``. (templated)
    :param offboarding_id: watch this offboarding of the employment (an int is taken as its decimal text);
        ``None`` (default) watches the employment's most recent offboarding. Not with ``employment_ids``.
        (templated)
    :param failure_statuses: statuses that end the task as failed at once; must not overlap
        ``target_statuses``. ``None`` (default) means ``Rejected`` and ``Withdrawn``, minus any of them that
        is a target; ``[]`` never fails early. (templated)
    :param user_id_type: id type of the employment ids (``people_corehr_id``, ``open_id``, ``union_id``,
        ``user_id``); ``None`` uses the connection's default. (templated)
    :param feishu_conn_id: Airflow connection id of type ``feishu``. (templated)
    :param max_consecutive_failures: transient errors in a row after which the wait gives up (at least 1).
    :param deferrable: defer to the triggerer instead of poking; default from
        ``[operators] default_deferrable``. Needs ``poke_interval`` > 0.
    :param employment_ids: a list of employments watched together, each one's most recent offboarding: one
        search per up to 100 of them per look, in every mode. XCom is then a list with one summary per employment,
        in the order given (``offboarding_id`` and ``status`` ``None`` for one without a record yet).
        (templated)
    :param match: with ``employment_ids``: ``"all"`` (default; done when every employment has a target status,
        failed as soon as one has a failure status) or ``"any"`` (done when one has a target status, failed when
        every one has a failure status). Named ``match`` because ``mode`` is the sensor's poke/reschedule mode.
    :param kwargs: the usual sensor arguments: ``poke_interval``, ``timeout``, ``mode``, ``soft_fail``,
        ``exponential_backoff`` (poke and reschedule modes), ...
    """

    template_fields: Sequence[str] = (
        "employment_id",
        "employment_ids",
        "offboarding_id",
        "target_statuses",
        "failure_statuses",
        "user_id_type",
        "feishu_conn_id",
    )
    ui_color = "#d6f0ff"

    def __init__(
        self,
        *,
        target_statuses: str | Collection[str],
        employment_id: str | None = None,
        offboarding_id: str | None = None,
        failure_statuses: str | Collection[str] | None = None,
        user_id_type: str | None = None,
        feishu_conn_id: str = "feishu_default",
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
        self._failures: FailureCounter | None = None
        self._slip: SlipWatch | None = None
        self._first_poke: float | None = None
        self._last_poke_end: float | None = None
        with invalid_argument():  # also an AirflowFailException: a bad mapped value fails without retry
            self._check_static_arguments()

    def _check_static_arguments(self) -> None:
        """Refuse what is already wrong when the DAG is parsed; templated values are checked when rendered."""
        check_max_consecutive_failures(self.max_consecutive_failures)
        if self.deferrable:
            check_poll_interval(self.poke_interval)
        check_watch_arguments(
            employment_id=self.employment_id,
            employment_ids=self.employment_ids,
            offboarding_id=self.offboarding_id,
            user_id_type=self.user_id_type,
            match=self.match,
            known=is_static,
        )
        targets_known = is_static(self.target_statuses)
        failures_known = is_static(self.failure_statuses)
        if targets_known and failures_known:
            resolve_statuses(self.target_statuses, self.failure_statuses)
        elif targets_known:
            check_status_list("target_statuses", self.target_statuses)
        elif failures_known and self.failure_statuses is not None:
            check_status_list("failure_statuses", self.failure_statuses)

    def _watch(self) -> Watch:
        """Validate the rendered arguments; a bad value fails the task without retries."""
        with invalid_argument(f"{self.task_id}: "):
            targets, failures = resolve_statuses(self.target_statuses, self.failure_statuses)
            return build_watch(
                employment_id=self.employment_id,
                employment_ids=self.employment_ids,
                offboarding_id=self.offboarding_id,
                targets=targets,
                failures=failures,
                user_id_type=self.user_id_type,
                match=self.match,
            )

    def render_template_fields(self, context: Context, jinja_env: jinja2.Environment | None = None) -> None:
        """Render the templated fields, then refuse invalid values before anything is sent."""
        super().render_template_fields(context, jinja_env)
        self._watch()

    @cached_property
    def hook(self) -> FeishuHook:
        """The hook of ``feishu_conn_id``, built on first use (after rendering)."""
        from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

        return FeishuHook(feishu_conn_id=self.feishu_conn_id)

    def _defer(self, watch: Watch) -> None:
        """Hand the whole wait to :class:`..triggers.offboarding.OffboardingStatusTrigger` (raises ``TaskDeferred``).

        Called from the first poke, before any look: Airflow's own ``execute`` runs every mode (no override of it),
        and an operator may call ``self.defer`` from any of its methods. ``timeout`` becomes the deferral timeout.
        """
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
        """One look: one search per up to 100 employments (pages followed), bounded by ``seconds``.

        The searches' HTTP work (attempts, retries, backoff) ends by the client's ``deadline``; ``within`` bounds
        the client-side limiter's waits (a slot further away is not booked: the poke reports why instead).
        """
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

    def _after_look(self, due: float | None, watch: Watch) -> None:
        """Note when this look ended; say so in the task log when looks slip far behind ``poke_interval``."""
        self._last_poke_end = now = time.monotonic()
        if due is not None and self._slip is not None:
            self._slip.observe(now - due, self.log, watch.name)

    def poke(self, context: Context) -> PokeReturnValue:
        """Look once at every watched employment; done (with the XCom) when the target is reached.

        With ``deferrable=True`` the first poke defers instead of looking.
        """
        watch = self._watch()
        if self.deferrable:
            self._defer(watch)
        if self._failures is None:
            self._failures = FailureCounter(self.max_consecutive_failures)
            self._slip = SlipWatch(float(self.poke_interval))
        started = time.monotonic()
        due = None if self._last_poke_end is None else self._last_poke_end + float(self.poke_interval)
        try:
            records = self._look(watch, self._time_left(started))
        except FeishuError as exc:
            self._after_look(due, watch)
            if self._failures.failure(exc, self.log, watch.name, float(self.poke_interval)):
                if exc.permanent:
                    raise AirflowFailException(f"Looking up {watch.name} failed: {exc}") from exc
                raise
            return PokeReturnValue(is_done=False)
        self._after_look(due, watch)
        self._failures.success()
        decision = watch.decide(records)
        if decision.outcome is Outcome.TARGET:
            self.log.info("%s", watch.reached_text(records))
            return PokeReturnValue(is_done=True, xcom_value=watch.xcom(records))
        if decision.outcome is Outcome.FAILURE:
            raise AirflowFailException(decision.message)
        watch.log_waiting(self.log, records, self.poke_interval)
        return PokeReturnValue(is_done=False)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Turn the trigger's event (:mod:`..status.trigger_event`) into the task's outcome: the XCom, or the error
        raised."""
        status = event.get("status") if event else None
        if event is not None and status == EVENT_SUCCESS:
            if "records" in event:
                records: list[dict[str, Any]] = event["records"]
                self.log.info("Target status reached: %d employments listed in XCom.", len(records))
                return records
            record: dict[str, Any] = event["record"]
            self.log.info(
                "Target status %s reached: %s.",
                record.get("status"),
                describe(str(record.get("employment_id")), record.get("offboarding_id")),
            )
            return record
        if event is not None and status == EVENT_FAILURE:
            raise AirflowFailException(str(event["message"]))
        if event is not None and status == EVENT_ERROR:
            error = error_from_event(event)
            if error.permanent:
                raise AirflowFailException(f"Looking up {self._watch().name} failed: {error}") from error
            self.log.error(
                "Giving up after %s transient errors in a row.", event.get("consecutive_failures", "several")
            )
            raise error
        raise AirflowException(f"{self.task_id}: unexpected trigger event {status!r}")
