"""The operator side of read before write: ``dry_run`` (a plan), ``plan`` (apply one), ``only_changed``, ``verify``.

:class:`ReadingOperatorBase` sits between :class:`._base.OffboardingOperatorBase` and the public operators. It
uses the base's two hooks (``_prepare`` before sending, ``_review`` after) and leaves the send loop to the base.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_feishu_corehr.client.errors import FeishuError, FeishuInvalidInputError
from airflow_provider_feishu_corehr.operators._base import OffboardingOperatorBase, Plan, user_id_type_or_none
from airflow_provider_feishu_corehr.operators._batch import error_info
from airflow_provider_feishu_corehr.operators._plandoc import planned_job, read_plan, render

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_feishu_corehr.operators._base import Job
    from airflow_provider_feishu_corehr.operators.plan import EditReview, RevokeReview


@contextmanager
def reading(what: str) -> Iterator[None]:
    """Turn a failed read into the task's end: no plan and no write without the current state."""
    try:
        yield
    except FeishuError as err:
        error = AirflowFailException if err.permanent else AirflowException
        raise error(f"{what} failed, nothing was written: {err}") from err


class ReadingOperatorBase(OffboardingOperatorBase):
    """Shared by the offboarding operators: make a plan, apply one, skip no-ops, add the audit to XCom."""

    _kind: str  # "edit" or "revoke": the plan kind this operator makes and applies
    plan_only: bool  # the dry_run argument (BaseOperator.dry_run is a method)
    plan: Any
    _reader: EditReview | RevokeReview | None = None

    def _check_plan_arguments(self, *given: Any) -> None:
        """``plan`` replaces the record arguments ``given``; ``dry_run`` makes a plan, so it cannot take one."""
        if not isinstance(self.plan_only, bool):
            raise FeishuInvalidInputError(f"dry_run must be True or False; got {type(self.plan_only).__name__}")
        if self.plan is None:
            return
        if any(arg is not None for arg in given):
            raise FeishuInvalidInputError("plan replaces the records: give either plan or the records, not both")
        if self.plan_only:
            raise FeishuInvalidInputError("dry_run makes a plan; plan applies one: set one of them")

    def _planned(self) -> Plan:
        """The jobs of the plan to apply (every record of the plan, in its order)."""
        plan_user_id_type, records = read_plan(self.plan, self._kind)
        own = user_id_type_or_none(self.user_id_type)
        if own is not None and plan_user_id_type is not None and own != plan_user_id_type:
            raise FeishuInvalidInputError(
                f"user_id_type {own!r} differs from the plan's {plan_user_id_type!r}; leave it unset to use the plan's"
            )
        jobs = [planned_job(record, self._kind) for record in records]
        return Plan(single=False, jobs=jobs, user_id_type=own or plan_user_id_type)

    def _planned_records(self) -> dict[int, dict[str, Any]] | None:
        if self.plan is None:
            return None
        return {record["index"]: record for record in read_plan(self.plan, self._kind)[1]}

    def _new_reader(self, plan: Plan) -> EditReview | RevokeReview | None:
        raise NotImplementedError

    def _document(self, plan: Plan) -> dict[str, Any]:
        raise NotImplementedError

    def _prepare(self, plan: Plan) -> Plan:
        self._reader = self._new_reader(plan)
        if self._reader is None:
            return plan
        with reading("Reading the current state of the offboardings"):
            return replace(plan, jobs=self._reader.prepare(plan.jobs))

    def _review(self, plan: Plan, records: list[dict[str, Any]]) -> None:
        if self._reader is not None:
            self._reader.finish(plan.jobs, records)

    def _skip(self, job: Job) -> dict[str, Any] | None:
        """The result of a job that is not sent (a no-op found by the reader), else ``None``."""
        from airflow_provider_feishu_corehr.operators.plan import EditReview

        reader = self._reader
        if isinstance(reader, EditReview) and job.index in reader.unchanged:
            return {"outcome": "unchanged", "fields": [], "log_id": None}
        if reader is not None and not isinstance(reader, EditReview) and job.index in reader.skipped:
            return {"outcome": "skipped", "log_id": None}
        return None

    def execute(self, context: Context) -> dict[str, Any]:
        if self.plan_only:
            return self._make_plan(context)
        value = super().execute(context)
        if self._reader is not None and "counts" in value:
            for outcome in self._reader.outcomes:
                value["counts"].setdefault(outcome, 0)
        return self._after(context, value)

    def _after(self, context: Context, value: dict[str, Any]) -> dict[str, Any]:
        """Hook on the XCom value of a run that did not fail (verification checks it)."""
        return value

    def _make_plan(self, context: Context) -> dict[str, Any]:
        """``dry_run``: read, compare and return the plan; nothing is written. Refused records fail the task
        after the plan was pushed (fix the input before anyone approves it)."""
        try:
            plan = self._plan()
        except FeishuInvalidInputError as err:
            raise AirflowFailException(str(err)) from err
        plan = self._prepare(plan)
        document = self._document(plan)
        self.log.info("%s plan made, nothing written: %s", self._action, document["counts"])
        refused = [job for job in plan.jobs if job.refused is not None]
        if refused:
            self._push(context, document)
            raise AirflowFailException(plan.refused_text())
        return document

    @staticmethod
    def render_plan(plan: dict[str, Any]) -> str:
        """Markdown summary of a plan for a human approver (see :func:`._plandoc.render`).

        :param plan: the XCom of a task run with ``dry_run=True``.
        """
        return render(plan)

    def _describe(self, exc: BaseException) -> dict[str, Any]:
        return error_info(exc)
