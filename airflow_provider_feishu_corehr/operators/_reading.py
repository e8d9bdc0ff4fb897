"""The operator side of read before write: ``dry_run`` (a plan), ``plan`` (apply one), ``only_changed``, ``verify``.

:class:`ReadingOperatorBase` sits between :class:`._base.OffboardingOperatorBase` and the public operators. It
uses the base's two hooks (``_prepare`` before sending, ``_review`` after) and leaves the send loop (gate,
interruption, settlement) to the base. :class:`RevokeReading` and :class:`EditReading` say what each operator
reads and reports, so :mod:`.offboarding` keeps only the arguments and the writes.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_feishu_corehr.client.errors import FeishuError, FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.validation import optional_user_id_type
from airflow_provider_feishu_corehr.operators._base import OffboardingOperatorBase, Plan
from airflow_provider_feishu_corehr.operators._batch import as_record_list, error_info
from airflow_provider_feishu_corehr.operators._interrupt import RequestNotStarted
from airflow_provider_feishu_corehr.operators._plan import is_one_id, mark_duplicates

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
    except RequestNotStarted as err:  # the task was interrupted while it read
        raise AirflowException(f"{what} was interrupted ({err.reason}), nothing was written") from err


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
        from airflow_provider_feishu_corehr.operators._plandoc import planned_job, read_plan

        plan_user_id_type, records = read_plan(self.plan, self._kind)
        own = optional_user_id_type(self.user_id_type)
        if own is not None and plan_user_id_type is not None and own != plan_user_id_type:
            raise FeishuInvalidInputError(
                f"user_id_type {own!r} differs from the plan's {plan_user_id_type!r}; leave it unset to use the plan's"
            )
        jobs = [planned_job(record, self._kind) for record in records]
        return Plan(single=False, jobs=jobs, user_id_type=own or plan_user_id_type)

    def _planned_records(self) -> dict[int, dict[str, Any]] | None:
        if self.plan is None:
            return None
        from airflow_provider_feishu_corehr.operators._plandoc import read_plan

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

    def _execute(self, context: Context) -> dict[str, Any]:
        if self.plan_only:
            return self._make_plan(context)
        value = super()._execute(context)
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
        from airflow_provider_feishu_corehr.operators._plandoc import render

        return render(plan)


class RevokeReading(ReadingOperatorBase):
    """What the revoke operator reads: the current status, for ``dry_run`` and ``plan``."""

    offboarding_id: Any
    offboardings: Any

    def _check_reading_arguments(self) -> None:
        """``plan`` replaces the record arguments; ``offboarding_id`` and ``offboardings`` exclude each other."""
        self._check_plan_arguments(self.offboarding_id, self.offboardings)
        if self.plan is None and self.offboardings is not None and self.offboarding_id is not None:
            raise FeishuInvalidInputError("give either offboarding_id or offboardings, not both")

    def _entry_jobs(self, operator_id: str | None) -> list[Job]:
        """The jobs of ``offboardings`` (each record checked on its own, duplicates refused)."""
        from airflow_provider_feishu_corehr.operators._plandoc import revoke_entry_job

        entries = as_record_list("offboardings", self.offboardings)
        return mark_duplicates([revoke_entry_job(i, entry, operator_id) for i, entry in enumerate(entries)])

    def _new_reader(self, plan: Plan) -> RevokeReview | None:
        if not self.plan_only and self.plan is None:
            return None
        from airflow_provider_feishu_corehr.operators.plan import RevokeReview

        return RevokeReview(self.hook, plan.user_id_type, planned=self._planned_records())

    def _document(self, plan: Plan) -> dict[str, Any]:
        from airflow_provider_feishu_corehr.operators._plandoc import revoke_plan
        from airflow_provider_feishu_corehr.operators.plan import RevokeReview

        assert isinstance(self._reader, RevokeReview)
        return revoke_plan(plan.jobs, self._reader, plan.user_id_type, error_info)


class EditReading(ReadingOperatorBase):
    """What the edit operator reads: current values (``only_changed``, ``dry_run``, ``plan``), and the read-back
    after writing (``verify``)."""

    only_changed: bool
    verify: bool

    offboarding_id: Any
    update_data: Any
    offboardings: Any
    employment_id: str | None

    def _check_reading_arguments(self) -> None:
        """``only_changed`` and ``verify`` are flags; ``plan`` replaces the record arguments."""
        for name in ("only_changed", "verify"):
            if not isinstance(getattr(self, name), bool):
                raise FeishuInvalidInputError(f"{name} must be True or False; got {type(getattr(self, name)).__name__}")
        self._check_plan_arguments(self.offboarding_id, self.update_data, self.offboardings, self.employment_id)

    def _applies_plan(self) -> bool:
        """Whether ``plan`` replaces the record arguments; else ``employment_id`` must go with one id."""
        if self.plan is not None:
            return True
        if self.employment_id is not None and (self.offboardings is not None or not is_one_id(self.offboarding_id)):
            raise FeishuInvalidInputError(
                "employment_id goes with a single offboarding_id; records of offboardings carry their own employment_id"
            )
        return False

    def _new_reader(self, plan: Plan) -> EditReview | None:
        if not (self.only_changed or self.plan_only or self.plan is not None):
            return None
        from airflow_provider_feishu_corehr.operators.plan import EditReview

        return EditReview(self.hook, plan.user_id_type, planned=self._planned_records())

    def _document(self, plan: Plan) -> dict[str, Any]:
        from airflow_provider_feishu_corehr.operators._plandoc import edit_plan
        from airflow_provider_feishu_corehr.operators.plan import EditReview

        assert isinstance(self._reader, EditReview)
        return edit_plan(plan.jobs, self._reader, plan.user_id_type, error_info)

    def _review(self, plan: Plan, records: list[dict[str, Any]]) -> None:
        super()._review(plan, records)
        if self.verify:
            from airflow_provider_feishu_corehr.operators.plan import verify_records

            verify_records(self.hook, plan.user_id_type, plan.jobs, records)

    def _after(self, context: Context, value: dict[str, Any]) -> dict[str, Any]:
        from airflow_provider_feishu_corehr.operators.plan import check_verified

        return check_verified(value, self._action, lambda: self._push(context, value))
