"""The engine both offboarding operators run on: plan the records, send them, turn outcomes into XCom.

:class:`OffboardingOperatorBase` holds the task flow (validate after rendering, one record or a bounded batch,
push every outcome before failing); the public operators in :mod:`.offboarding` only say how to plan, send and
report one record. The error and XCom rules are described in :mod:`.offboarding`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, BaseOperator

from airflow_provider_feishu_corehr._arguments import is_static
from airflow_provider_feishu_corehr.client.errors import FeishuError, FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.validation import check_user_id_type, optional_id
from airflow_provider_feishu_corehr.operators._batch import (
    SYSTEMIC_FAILURES_BEFORE_STOP,
    BatchReport,
    Breaker,
    Failure,
    as_record_list,
    batch_report,
    check_max_workers,
    duplicate_error,
    duplicates,
    is_permanent,
    run_bounded,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_feishu_corehr.client.models import FieldValue
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook


@dataclass(frozen=True)
class Job:
    """One record to send, or a record refused before sending (``refused`` set)."""

    index: int
    offboarding_id: str | None
    operator_id: str | None = None
    update: list[FieldValue] = field(default_factory=list)
    field_names: list[str] = field(default_factory=list)
    refused: FeishuInvalidInputError | None = None
    employment_id: str | None = None


@dataclass(frozen=True)
class Plan:
    single: bool
    jobs: list[Job]
    user_id_type: str | None

    def refused_text(self) -> str:
        errors = [str(job.refused) for job in self.jobs if job.refused is not None]
        listed = "\n".join(f"  - {e}" for e in errors[:10])
        more = f"\n  - ... and {len(errors) - 10} more" if len(errors) > 10 else ""
        return f"{len(errors)} record(s) refused:\n{listed}{more}"


def user_id_type_or_none(value: Any) -> str | None:
    """A checked ``user_id_type``, or ``None`` for the connection's default."""
    return None if value is None else check_user_id_type(value)


def id_list(value: Any) -> tuple[bool, list[Any]]:
    """``(single, ids)``: a plain string is one id; a sequence (or JSON array text) is a batch."""
    if isinstance(value, str) and not value.lstrip().startswith("["):
        return True, [value]
    if value is None:
        raise FeishuInvalidInputError("offboarding_id is required")
    if not isinstance(value, str) and (isinstance(value, (Mapping, bytes)) or not isinstance(value, Sequence)):
        raise FeishuInvalidInputError(
            f"offboarding_id must be an id (str) or a list of ids, got {type(value).__name__}"
        )
    return False, as_record_list("offboarding_id", value)


def mark_duplicates(jobs: list[Job]) -> list[Job]:
    """Refuse every occurrence of an id listed more than once (order of two writes to one record is undefined)."""
    repeated = duplicates([job.offboarding_id if job.refused is None else None for job in jobs])
    if not repeated:
        return jobs
    refused = {i: duplicate_error(oid, positions) for oid, positions in repeated.items() for i in positions}
    return [
        Job(job.index, job.offboarding_id, field_names=job.field_names, refused=refused[job.index])
        if job.index in refused
        else job
        for job in jobs
    ]


class OffboardingOperatorBase(BaseOperator):
    """Shared behaviour: hook, running records, XCom value and the final outcome of the task."""

    ui_color = "#3370ff"
    _action: ClassVar[str]
    _outcomes: ClassVar[tuple[str, ...]]

    feishu_conn_id: str
    max_workers: int
    operator_id: str | None
    user_id_type: str | None

    @cached_property
    def hook(self) -> FeishuHook:
        """The :class:`FeishuHook` of ``feishu_conn_id``, built on first use (not at DAG parse)."""
        from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

        return FeishuHook(feishu_conn_id=self.feishu_conn_id)

    def _plan(self) -> Plan:
        raise NotImplementedError

    def _send(self, job: Job, user_id_type: str | None) -> dict[str, Any]:
        raise NotImplementedError

    def _record(self, job: Job, exc: BaseException | None, success: dict[str, Any] | None) -> dict[str, Any]:
        raise NotImplementedError

    def _prepare(self, plan: Plan) -> Plan:
        """Hook before sending: read the records' current state (:mod:`.plan`); default: send as planned."""
        return plan

    def _review(self, plan: Plan, records: list[dict[str, Any]]) -> None:
        """Hook after sending, before the outcome is reported: add the audit to ``records`` in place."""

    def _check_common_arguments(self) -> None:
        """Check ``max_workers``, and ``user_id_type`` and ``operator_id`` when they are not templated."""
        check_max_workers(self.max_workers)
        if is_static(self.user_id_type):
            user_id_type_or_none(self.user_id_type)
        if is_static(self.operator_id):
            optional_id("operator_id", self.operator_id)

    def _check_static(self) -> None:
        """Validate at DAG parse time when every argument is final; a refused record is a DAG error here."""
        plan = self._plan()
        if any(job.refused is not None for job in plan.jobs):
            raise FeishuInvalidInputError(plan.refused_text())

    def execute(self, context: Context) -> dict[str, Any]:
        try:
            plan = self._plan()
        except FeishuInvalidInputError as err:
            raise AirflowFailException(str(err)) from err
        plan = self._prepare(plan)
        if plan.single and plan.jobs[0].refused is not None:
            raise AirflowFailException(str(plan.jobs[0].refused)) from plan.jobs[0].refused
        to_send = [job for job in plan.jobs if job.refused is None]
        if not plan.single:
            self.log.info(
                "%s: sending %d offboarding(s) with up to %d worker(s); %d refused before sending",
                self._action,
                len(to_send),
                self.max_workers,
                len(plan.jobs) - len(to_send),
            )
        if plan.single:
            self._start()
            results = run_bounded(to_send, lambda job: self._send(job, plan.user_id_type), max_workers=1)
        else:
            results = self._send_batch(to_send, plan.user_id_type)
        sent = {job.index: result for job, result in zip(to_send, results, strict=True)}

        records: list[dict[str, Any]] = []
        failures: list[Failure] = []
        for job in plan.jobs:
            outcome = sent.get(job.index)
            exc: BaseException | None = job.refused if job.refused is not None else None
            if isinstance(outcome, BaseException):
                exc = outcome
            if exc is not None:
                failure = Failure(job.index, job.offboarding_id, exc)
                self.log.warning("%s failed: %s", self._action, failure.describe())
                failures.append(failure)
            record = self._record(job, exc, outcome if isinstance(outcome, dict) else None)
            if not plan.single:
                record = {"index": job.index, **record}
            records.append(record)
        self._review(plan, records)

        if plan.single:
            value: dict[str, Any] = records[0]
            if failures:
                self._push(context, value)
                error = failures[0].error
                message = f"{self._action} offboarding {failures[0].offboarding_id} failed: {error}"
                raise (AirflowFailException if is_permanent(error) else AirflowException)(message) from error
            return value

        report: BatchReport = batch_report(records, failures, self._outcomes)
        self.log.info("%s finished: %s", self._action, report.value["counts"])
        if failures:
            self._push(context, report.value)
            text = report.failure_text(self._action)
            raise AirflowFailException(text) if report.all_permanent else AirflowException(text)
        return report.value

    def _start(self) -> None:
        """Read the connection and build the client in this thread, before any worker starts."""
        try:
            self.hook.get_conn()
        except FeishuError as err:  # the connection is not usable
            raise (AirflowException if not err.permanent else AirflowFailException)(str(err)) from err

    def _send_batch(self, jobs: list[Job], user_id_type: str | None) -> list[dict[str, Any] | Exception]:
        if not jobs:
            return []
        self._start()
        breaker = Breaker(SYSTEMIC_FAILURES_BEFORE_STOP)
        try:  # one token for the whole batch; when that fails, no record is sent
            self.hook.get_conn().fetch_token()
        except FeishuError as err:
            breaker.trip(err, "no tenant access token could be obtained")

        def work(job: Job) -> dict[str, Any]:
            breaker.check()
            try:
                result = self._send(job, user_id_type)
            except Exception as exc:
                breaker.record(exc)
                raise
            breaker.record(None)
            return result

        return run_bounded(jobs, work, max_workers=self.max_workers)

    def _push(self, context: Context, value: dict[str, Any]) -> None:
        """Push the outcomes before failing the task, so downstream tasks (trigger rule all_done) can read them."""
        if self.do_xcom_push:
            context["ti"].xcom_push(key="return_value", value=value)
