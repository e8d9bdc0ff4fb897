"""``OffboardingStatusSensor``: wait until a Feishu People (CoreHR) offboarding reaches a status."""

from __future__ import annotations

from dataclasses import dataclass
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
from airflow_provider_feishu_corehr.client.validation import (
    check_statuses,
    check_user_id_type,
    optional_id,
    require_id,
)
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
    from collections.abc import Collection, Sequence

    import jinja2
    from airflow.sdk import Context

    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook


def _id_text(value: Any) -> Any:
    """Ids are digit strings; native rendering (``render_template_as_native_obj``) turns them into ints."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


@dataclass(frozen=True)
class _Watch:
    """The sensor's arguments after rendering, validated."""

    employment_id: str
    offboarding_id: str | None
    targets: tuple[str, ...]
    failures: tuple[str, ...]
    user_id_type: str | None

    @property
    def name(self) -> str:
        return describe(self.employment_id, self.offboarding_id)


class OffboardingStatusSensor(BaseSensorOperator):
    """Wait until an offboarding reaches one of ``target_statuses``; fail early on a failure status.

    Looks the offboarding up with ``POST /open-apis/corehr/v1/offboardings/search`` (read only), by employment
    id and, optionally, offboarding id. Without ``offboarding_id`` the employment's most recent offboarding
    (latest ``apply_initiating_time``) is watched. A record that is not found yet keeps the sensor waiting
    (new records may not be visible at once); each look is logged with ids and status only.

    Modes: ``poke`` and ``reschedule`` call :class:`~airflow_provider_feishu_corehr.hooks.feishu.FeishuHook`
    every ``poke_interval`` seconds; ``deferrable=True`` hands the wait to
    :class:`~airflow_provider_feishu_corehr.triggers.offboarding.OffboardingStatusTrigger` at once (async
    client in the triggerer, the same rules), with ``timeout`` as the deferral timeout.

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
        decimal text (native rendering turns digit ids into ints). (templated)
    :param target_statuses: one status or a list of statuses that end the wait successfully: ``Approving``,
        ``Approved``, ``Offboarded``, ``Rejected``, ``Withdrawn``, ``NoNeedApproval``. (templated)
    :param offboarding_id: watch this offboarding of the employment (an int is taken as its decimal text);
        ``None`` (default) watches the employment's most recent offboarding. (templated)
    :param failure_statuses: statuses that end the task as failed at once; must not overlap
        ``target_statuses``. ``None`` (default) means ``Rejected`` and ``Withdrawn``, minus any of them that
        is a target; ``[]`` never fails early. (templated)
    :param user_id_type: id type of ``employment_id`` (``people_corehr_id``, ``open_id``, ``union_id``,
        ``user_id``); ``None`` uses the connection's default. (templated)
    :param feishu_conn_id: Airflow connection id of type ``feishu``. (templated)
    :param max_consecutive_failures: transient errors in a row after which the wait gives up (at least 1).
    :param deferrable: defer to the triggerer instead of poking; default from
        ``[operators] default_deferrable``. Needs ``poke_interval`` > 0.
    :param kwargs: the usual sensor arguments: ``poke_interval``, ``timeout``, ``mode``, ``soft_fail``,
        ``exponential_backoff`` (poke and reschedule modes), ...
    """

    template_fields: Sequence[str] = (
        "employment_id",
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
        employment_id: str,
        target_statuses: str | Collection[str],
        offboarding_id: str | None = None,
        failure_statuses: str | Collection[str] | None = None,
        user_id_type: str | None = None,
        feishu_conn_id: str = "feishu_default",
        max_consecutive_failures: int = 5,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.employment_id = employment_id
        self.target_statuses = target_statuses
        self.offboarding_id = offboarding_id
        self.failure_statuses = failure_statuses
        self.user_id_type = user_id_type
        self.feishu_conn_id = feishu_conn_id
        self.max_consecutive_failures = max_consecutive_failures
        self.deferrable = deferrable
        self._consecutive_failures = 0
        with invalid_argument():  # also an AirflowFailException: a bad mapped value fails without retry
            self._check_static_arguments()

    def _check_static_arguments(self) -> None:
        """Refuse what is already wrong when the DAG is parsed; templated values are checked when rendered."""
        check_max_consecutive_failures(self.max_consecutive_failures)
        if self.deferrable:
            check_poll_interval(self.poke_interval)
        if is_static(self.employment_id):
            require_id("employment_id", _id_text(self.employment_id))
        if is_static(self.offboarding_id):
            optional_id("offboarding_id", _id_text(self.offboarding_id))
        if self.user_id_type is not None and is_static(self.user_id_type):
            check_user_id_type(self.user_id_type)
        targets_known = is_static(self.target_statuses)
        failures_known = is_static(self.failure_statuses)
        if targets_known and failures_known:
            resolve_statuses(self.target_statuses, self.failure_statuses)
        elif targets_known:
            check_statuses("target_statuses", self.target_statuses)
        elif failures_known and self.failure_statuses is not None:
            check_statuses("failure_statuses", self.failure_statuses)

    def _watch(self) -> _Watch:
        """Validate the rendered arguments; a bad value fails the task without retries."""
        with invalid_argument(f"{self.task_id}: "):
            targets, failures = resolve_statuses(self.target_statuses, self.failure_statuses)
            return _Watch(
                employment_id=require_id("employment_id", _id_text(self.employment_id)),
                offboarding_id=optional_id("offboarding_id", _id_text(self.offboarding_id)),
                targets=targets,
                failures=failures,
                user_id_type=None if self.user_id_type is None else check_user_id_type(self.user_id_type),
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

    def execute(self, context: Context) -> Any:
        """Poke (``poke``/``reschedule`` mode), or defer to the trigger at once (``deferrable=True``)."""
        watch = self._watch()
        if not self.deferrable:
            # The base poke loop, past its ExecutorSafeguard wrapper: this execute already passed it, and
            # Airflow 2's safeguard mistakes a super().execute() for a call from outside the task and warns
            # (apache/airflow#47511). __wrapped__ is the undecorated method (functools.wraps).
            base_execute = getattr(BaseSensorOperator.execute, "__wrapped__", BaseSensorOperator.execute)
            return base_execute(self, context)
        from airflow_provider_feishu_corehr.triggers.offboarding import OffboardingStatusTrigger

        self.log.info("Deferring: waiting for %s to reach %s.", watch.name, " or ".join(watch.targets))
        self.defer(
            trigger=OffboardingStatusTrigger(
                feishu_conn_id=self.feishu_conn_id,
                employment_id=watch.employment_id,
                offboarding_id=watch.offboarding_id,
                target_statuses=watch.targets,
                failure_statuses=watch.failures,
                user_id_type=watch.user_id_type,
                poll_interval=self.poke_interval,
                max_consecutive_failures=self.max_consecutive_failures,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def poke(self, context: Context) -> PokeReturnValue:
        """Look the offboarding up once; done (with the summary as XCom) when it has a target status."""
        watch = self._watch()
        try:
            record = self.hook.get_offboarding(
                watch.employment_id, offboarding_id=watch.offboarding_id, user_id_type=watch.user_id_type
            )
        except FeishuError as exc:
            if exc.permanent:
                raise AirflowFailException(f"Looking up {watch.name} failed: {exc}") from exc
            self._consecutive_failures += 1
            if self._consecutive_failures >= self.max_consecutive_failures:
                self.log.error(
                    "Giving up on %s after %d transient errors in a row.", watch.name, self._consecutive_failures
                )
                raise
            self.log.warning(
                "Transient error %d of at most %d in a row looking up %s: %s; waiting.",
                self._consecutive_failures,
                self.max_consecutive_failures,
                watch.name,
                exc,
            )
            return PokeReturnValue(is_done=False)
        self._consecutive_failures = 0
        outcome = classify(record, watch.targets, watch.failures)
        if outcome is Outcome.TARGET and record is not None:
            self.log.info("Target status %s reached: %s.", record.status, watch.name)
            return PokeReturnValue(is_done=True, xcom_value=record.summary())
        if outcome is Outcome.FAILURE and record is not None:
            raise AirflowFailException(failure_message(watch.name, record.status, watch.failures))
        log_waiting(self.log, watch.name, record.status if record else None, watch.targets)
        return PokeReturnValue(is_done=False)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Turn the trigger's event into the task's outcome: the summary as XCom, or the error raised."""
        from airflow_provider_feishu_corehr.triggers.offboarding import (
            EVENT_ERROR,
            EVENT_FAILURE,
            EVENT_SUCCESS,
            error_from_event,
        )

        status = event.get("status") if event else None
        if event is not None and status == EVENT_SUCCESS:
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
