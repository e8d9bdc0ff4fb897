"""The task flow both offboarding operators run on: plan the records, send them, stop cleanly, report.

:class:`OffboardingOperatorBase` validates after rendering, sends one record or a bounded batch through
:func:`~._engine.run_records`, stops when interrupted (:mod:`._interrupt`), logs progress and a summary
(:mod:`._progress`), and pushes every record's outcome before it fails. The public operators in
:mod:`.offboarding` only say how to plan, send and report one record. The error and XCom rules are described in
:mod:`.offboarding`.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, BaseOperator

from airflow_provider_feishu_corehr.client.errors import FeishuError, FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.validation import optional_id, optional_user_id_type
from airflow_provider_feishu_corehr.operators._batch import (
    NOT_SENT,
    SYSTEMIC_FAILURES_BEFORE_STOP,
    UNKNOWN,
    Breaker,
    Failure,
    InFlight,
    batch_report,
    check_max_workers,
    is_permanent,
    outcome_of,
)
from airflow_provider_feishu_corehr.operators._engine import run_records
from airflow_provider_feishu_corehr.operators._interrupt import Gate, RequestNotStarted, handle_signals
from airflow_provider_feishu_corehr.operators._plan import (
    Job,
    Plan,
    id_list,
    mark_duplicates,
)
from airflow_provider_feishu_corehr.operators._progress import Progress, summary_table

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

__all__ = ["Job", "OffboardingOperatorBase", "Plan", "id_list", "mark_duplicates"]


class OffboardingOperatorBase(BaseOperator):
    """Shared behaviour: hook, running records, interruption, XCom value and the final outcome of the task."""

    ui_color = "#3370ff"
    _action: ClassVar[str]
    _endpoint: ClassVar[str]
    _outcomes: ClassVar[tuple[str, ...]]
    _unknown_advice: ClassVar[str]

    feishu_conn_id: str
    max_workers: int
    operator_id: str | None
    user_id_type: str | None

    @cached_property
    def hook(self) -> FeishuHook:
        """The hook of ``feishu_conn_id``, built on first use (not at DAG parse); its requests pass the gate."""
        from airflow_provider_feishu_corehr.operators._stoppable import StoppableHook

        return StoppableHook(self.feishu_conn_id, self._batch_gate)

    @cached_property
    def _batch_gate(self) -> Gate:
        return Gate()

    def _plan(self) -> Plan:
        raise NotImplementedError

    def _send(self, job: Job, user_id_type: str | None) -> dict[str, Any]:
        raise NotImplementedError

    def _record(self, job: Job, exc: BaseException | None, success: dict[str, Any] | None) -> dict[str, Any]:
        raise NotImplementedError

    def _prepare(self, plan: Plan) -> Plan:
        """Hook before sending (e.g. read the records' current state); default: send as planned."""
        return plan

    def _review(self, plan: Plan, records: list[dict[str, Any]]) -> None:
        """Hook after sending, before the outcome is reported (may add to ``records`` in place)."""

    def _unsettled(self, exc: BaseException) -> bool:
        """Whether a record that ended with ``exc`` can be settled by :meth:`_settling`; default: never."""
        return False

    def _settling(self, jobs: list[Job], user_id_type: str | None) -> Callable[[Job, BaseException], dict[str, Any]]:
        """Prepare settling ``jobs`` (e.g. one batched look-up); returns what settles one job or re-raises."""
        raise NotImplementedError

    def _check_common_arguments(self) -> None:
        """Check ``max_workers``, and ``user_id_type`` and ``operator_id`` when they are not templated."""
        from airflow_provider_feishu_corehr._arguments import is_static

        check_max_workers(self.max_workers)
        if is_static(self.user_id_type):
            optional_user_id_type(self.user_id_type)
        if is_static(self.operator_id):
            optional_id("operator_id", self.operator_id)

    def _check_static(self) -> None:
        """Validate at DAG parse time when every argument is final; a refused record is a DAG error here."""
        plan = self._plan()
        if any(job.refused is not None for job in plan.jobs):
            raise FeishuInvalidInputError(plan.refused_text())

    def on_kill(self) -> None:
        """Stop the batch: no new request starts; requests in flight get a few seconds, then the report is pushed."""
        self._batch_gate.close("on_kill")

    def execute(self, context: Context) -> dict[str, Any]:
        for name in ("_batch_gate", "hook"):  # a fresh gate (and a hook on it) for every run of this instance
            self.__dict__.pop(name, None)
        with handle_signals(self._on_signal):
            return self._execute(context)

    def _on_signal(self, name: str) -> None:
        self._batch_gate.close(name)
        self.on_kill()

    def _execute(self, context: Context) -> dict[str, Any]:
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
        gate = self._batch_gate
        progress = Progress(self._action, len(to_send), log=self.log, limit=None)
        results, raised = self._send_all(to_send, plan, progress)
        records: list[dict[str, Any]] = []
        failures: list[Failure] = []
        for job in plan.jobs:
            result = results.get(job.index)
            exc = job.refused if job.refused is not None else result if isinstance(result, BaseException) else None
            if exc is not None:
                failure = Failure(job.index, job.offboarding_id, exc)
                self.log.warning("%s %s: %s", self._action, outcome_of(exc), failure.describe())
                failures.append(failure)
            record = self._record(job, exc, result if isinstance(result, dict) else None)
            records.append(record if plan.single else {"index": job.index, **record})
        self._review(plan, records)

        value: dict[str, Any] = records[0] if plan.single else batch_report(records, failures, self._outcomes).value
        if not plan.single:
            elapsed = progress.clock() - progress.started
            self.log.info("%s", summary_table(self._action, records, self._outcomes, elapsed))
        stopped = [r["outcome"] for r in records if r["outcome"] in (UNKNOWN, NOT_SENT)]
        if gate.closed and (raised is not None or stopped):
            self._push(context, value)
            if raised is not None:
                raise raised
            raise AirflowException(
                f"{self._action} interrupted ({gate.reason}): no request was started after it; "
                f"{stopped.count(UNKNOWN)} record(s) unknown (in flight), {stopped.count(NOT_SENT)} not sent, of "
                f"{len(records)}; every record's outcome is in the XCom return_value"
            )
        if failures:
            self._push(context, value)
            if plan.single:
                error = failures[0].error
                message = f"{self._action} offboarding {failures[0].offboarding_id} {outcome_of(error)}: {error}"
                raise (AirflowFailException if is_permanent(error) else AirflowException)(message) from error
            report = batch_report(records, failures, self._outcomes)
            text = report.failure_text(self._action)
            raise AirflowFailException(text) if report.all_permanent else AirflowException(text)
        return value

    def _send_all(
        self, jobs: list[Job], plan: Plan, progress: Progress
    ) -> tuple[dict[int, dict[str, Any] | BaseException], BaseException | None]:
        """Send every job (gated, bounded), then try to settle unknown outcomes while the gate is open."""
        if not jobs:
            return {}, None
        gate = self._batch_gate
        self._start()
        progress.limit = self._limit()
        progress.waits = lambda: (gate.rate_limited, gate.pacing_wait)
        breaker = Breaker(SYSTEMIC_FAILURES_BEFORE_STOP)
        if not plan.single:
            try:  # one token for the whole batch; when that fails, no record is sent
                self.hook.get_conn().fetch_token()
            except FeishuError as err:
                breaker.trip(err, "no tenant access token could be obtained")
            except RequestNotStarted:
                pass

        def work(job: Job) -> dict[str, Any]:
            breaker.check()
            gate.check()
            try:
                result = self._send(job, plan.user_id_type)
            except RequestNotStarted as exc:  # interrupted while waiting to retry: an earlier attempt was sent
                if gate.attempted(job.index):
                    raise InFlight(f"the task was interrupted ({exc.reason}) between two attempts") from exc
                raise
            except Exception as exc:
                if not isinstance(exc, FeishuError) and gate.attempted(job.index):
                    raise InFlight("an unexpected error came after a request was sent", cause=exc) from exc
                breaker.record(exc)
                raise
            breaker.record(None)
            return result

        run = run_records(
            jobs,
            work,
            index_of=lambda job: job.index,
            max_workers=1 if plan.single else self.max_workers,
            gate=gate,
            on_result=lambda result: progress.record(isinstance(result, dict)),
            on_poll=progress.poll,
        )
        results = {job.index: result for job, result in zip(jobs, run.results, strict=True)}
        unsettled = [
            job for job in jobs if _is_error(results[job.index]) and self._unsettled(_error(results[job.index]))
        ]
        if not unsettled or gate.closed:
            return results, run.raised
        settle = self._settling(unsettled, plan.user_id_type)
        settled = run_records(
            unsettled,
            lambda job: settle(job, _error(results[job.index])),
            index_of=lambda job: job.index,
            max_workers=1 if plan.single else self.max_workers,
            gate=gate,
        )
        for job, result in zip(unsettled, settled.results, strict=True):
            if isinstance(result, dict):
                results[job.index] = result
        return results, run.raised or settled.raised

    def _limit(self) -> float | None:
        from airflow_provider_feishu_corehr.client.codes import Endpoint
        from airflow_provider_feishu_corehr.client.ratelimit import rate_for

        rate = rate_for(self.hook.settings, Endpoint(self._endpoint))
        return None if rate is None else rate[0] / rate[1]

    def _start(self) -> None:
        """Read the connection and build the client in this thread, before any worker starts."""
        try:
            self.hook.get_conn()
        except FeishuError as err:  # the connection is not usable
            raise (AirflowException if not err.permanent else AirflowFailException)(str(err)) from err

    def _push(self, context: Context, value: dict[str, Any]) -> None:
        """Push the outcomes before failing the task, so downstream tasks (trigger rule all_done) can read them.

        If the push itself fails (the task is being torn down), the report goes to the task log instead, without
        the field values Feishu echoed.
        """
        if not self.do_xcom_push:
            return
        try:
            context["ti"].xcom_push(key="return_value", value=value)
        except Exception:
            records = value.get("records", [value])
            slim = [{k: v for k, v in r.items() if k != "fields"} for r in records]
            self.log.exception("%s: the XCom push failed; the report: %s", self._action, json.dumps(slim))
            raise


def _is_error(result: dict[str, Any] | BaseException) -> bool:
    return isinstance(result, BaseException)


def _error(result: dict[str, Any] | BaseException) -> BaseException:
    assert isinstance(result, BaseException)
    return result
