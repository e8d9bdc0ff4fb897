"""Operators that change Feishu People (CoreHR) offboardings: revoke and edit, one record or many per task.

Both are thin: they check and shape the arguments, call :class:`~airflow_provider_feishu_corehr.hooks.feishu.FeishuHook`
(which owns the token, retries and the process-wide rate limiter) and return a small JSON-only XCom value.
Arguments that are final when the DAG is parsed are checked in ``__init__``; everything is checked again after
template rendering, before any request. In a batch, a record that is refused or fails does not stop the others;
the task fails at the end, after every record's outcome was pushed to XCom (``return_value``). It raises
``AirflowFailException`` (no task retry) when every failure is permanent (bad input, business error), else
``AirflowException`` (a retry may help: rate limit or transient errors outlasted the client's retry budget).
A batch stops sending when its failures are not about the records: if no tenant access token can be obtained,
or after 10 records in a row failed with authentication, rate-limit, transient or unexpected errors, the records
not sent yet fail as ``not_sent`` (re-running the batch is safe: revoke answers ``already_withdrawn``, an edit
sets the same values again).

Error objects in XCom: ``{"kind", "code", "message", "advice", "log_id", "permanent"}``; ``kind`` is one of
``invalid_input`` (refused before sending), ``business`` (a Feishu code about the record), ``auth``,
``rate_limited``, ``transient``, ``not_sent`` and ``unexpected``; ``code`` is the Feishu code or ``None``.
The ``message`` of an ``unexpected`` error names its type only; its text is in the task log.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_feishu_corehr._arguments import InvalidOperatorArgumentError, invalid_argument, is_static
from airflow_provider_feishu_corehr.client.api import ALREADY_WITHDRAWN as ALREADY_WITHDRAWN_CODE
from airflow_provider_feishu_corehr.client.codes import Endpoint, lookup
from airflow_provider_feishu_corehr.client.errors import FeishuBusinessError, FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.fields import normalize_update_data
from airflow_provider_feishu_corehr.client.validation import optional_id, require_id
from airflow_provider_feishu_corehr.operators._base import (
    Job,
    Plan,
    id_list,
    mark_duplicates,
    user_id_type_or_none,
)
from airflow_provider_feishu_corehr.operators._batch import (
    FAILED,
    as_record_list,
    error_info,
)
from airflow_provider_feishu_corehr.operators._reading import ReadingOperatorBase

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_feishu_corehr.client.models import FieldValue
    from airflow_provider_feishu_corehr.operators.plan import EditReview, RevokeReview

__all__ = ["EditOffboardingOperator", "InvalidOperatorArgumentError", "RevokeOffboardingOperator"]

REVOKED = "revoked"
ALREADY_WITHDRAWN = "already_withdrawn"
EDITED = "edited"


class RevokeOffboardingOperator(ReadingOperatorBase):
    """Revoke (withdraw) Feishu People offboardings: one record, or many in one task.

    Calls ``POST /open-apis/corehr/v2/offboardings/revoke`` through :class:`FeishuHook`. Revoking a record that is
    already withdrawn (Feishu code 1160202) succeeds with outcome ``already_withdrawn`` unless
    ``fail_if_already_withdrawn`` is set, so re-running a DAG, or a retry after a timeout whose first attempt went
    through, is safe. Works with dynamic task mapping: ``.partial(...).expand(offboarding_id=ids)``.

    :param offboarding_id: one offboarding id (``str``), or a list of ids (also as JSON array text, or an
        upstream ``XComArg``) to revoke them in one task. An empty list revokes nothing and succeeds. (templated)
    :param operator_id: employment id of the operator, in ``user_id_type``; ``None`` or ``""`` means the
        system operator. (templated)
    :param user_id_type: ``open_id``, ``union_id``, ``user_id`` or ``people_corehr_id``; ``None`` uses the
        connection's default (``people_corehr_id`` unless configured). (templated)
    :param fail_if_already_withdrawn: treat an already withdrawn record (1160202) as a failed record instead of
        the successful outcome ``already_withdrawn``.
    :param max_workers: records sent concurrently in a batch (1-32, default 4). Throughput stays within the
        endpoint's rate limit through the client's process-wide limiter.
    :param feishu_conn_id: the Feishu connection (conn type ``feishu``). (templated)
    :param offboardings: instead of ``offboarding_id``, records ``{"offboarding_id": str, "employment_id": str
        (optional), "operator_id": str (optional)}`` (also JSON array text or an upstream ``XComArg``); the
        ``employment_id`` lets ``dry_run`` and ``plan`` read the record's current status. (templated)
    :param dry_run: make a plan and write nothing: each record's current status and whether it would be revoked
        (``action`` ``revoke``), skipped (already ``Withdrawn``, or ``Rejected``: Feishu refuses those) or refused
        (bad input, which fails the task after the plan was pushed). See ``docs/plan-apply.md``.
    :param plan: apply a plan made by ``dry_run=True`` (its XCom) instead of ``offboarding_id``: the records it
        says to revoke are revoked; a record whose status moved since the plan fails with outcome ``conflict``
        (one already ``Withdrawn`` is ``skipped``). (templated)

    XCom (``return_value``), JSON only:

    * one id: ``{"offboarding_id", "outcome", "log_id", "error"}`` with ``outcome`` ``"revoked"``,
      ``"already_withdrawn"`` or ``"failed"``; ``error`` is ``None`` or
      ``{"kind", "code", "message", "advice", "log_id", "permanent"}`` (module docstring).
    * a list: ``{"total", "counts": {"revoked", "already_withdrawn", "failed"}, "records": [...]}``, one record
      per input position (the above plus ``"index"``), also pushed when the task fails.
    """

    template_fields: Sequence[str] = (
        "offboarding_id",
        "offboardings",
        "plan",
        "operator_id",
        "user_id_type",
        "feishu_conn_id",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "offboarding_id": "json",
        "offboardings": "json",
        "plan": "json",
    }
    _action = "Revoke"
    _kind = "revoke"
    _outcomes = (REVOKED, ALREADY_WITHDRAWN, FAILED)

    def __init__(
        self,
        *,
        offboarding_id: str | Sequence[str] | None = None,
        operator_id: str | None = None,
        user_id_type: str | None = None,
        fail_if_already_withdrawn: bool = False,
        max_workers: int = 4,
        feishu_conn_id: str = "feishu_default",
        offboardings: Any = None,
        dry_run: bool = False,
        plan: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.offboarding_id = offboarding_id
        self.offboardings = offboardings
        self.plan_only = dry_run  # BaseOperator.dry_run is a method: the flag is kept as plan_only
        self.plan = plan
        self.operator_id = operator_id
        self.user_id_type = user_id_type
        self.fail_if_already_withdrawn = fail_if_already_withdrawn
        self.max_workers = max_workers
        self.feishu_conn_id = feishu_conn_id
        with invalid_argument():
            self._check_arguments()

    def _check_arguments(self) -> None:
        self._check_common_arguments()
        if not isinstance(self.fail_if_already_withdrawn, bool):
            raise FeishuInvalidInputError(
                f"fail_if_already_withdrawn must be True or False; got {type(self.fail_if_already_withdrawn).__name__}"
            )
        self._check_plan_arguments(self.offboarding_id, self.offboardings)
        if self.plan is None and self.offboardings is not None and self.offboarding_id is not None:
            raise FeishuInvalidInputError("give either offboarding_id or offboardings, not both")
        arguments = (self.offboarding_id, self.offboardings, self.plan, self.user_id_type, self.operator_id)
        if all(is_static(a) for a in arguments):
            self._check_static()

    def _plan(self) -> Plan:
        if self.plan is not None:
            return self._planned()
        user_id_type = user_id_type_or_none(self.user_id_type)
        operator_id = optional_id("operator_id", self.operator_id)
        if self.offboardings is not None:
            from airflow_provider_feishu_corehr.operators._plandoc import revoke_entry_job

            entries = as_record_list("offboardings", self.offboardings)
            jobs = [revoke_entry_job(i, entry, operator_id) for i, entry in enumerate(entries)]
            return Plan(single=False, jobs=mark_duplicates(jobs), user_id_type=user_id_type)
        single, ids = id_list(self.offboarding_id)
        jobs = []
        for index, raw in enumerate(ids):
            try:
                offboarding_id = require_id("offboarding_id", raw, record=None if single else f"record {index}")
            except FeishuInvalidInputError as err:
                jobs.append(Job(index, raw if isinstance(raw, str) else None, refused=err))
            else:
                jobs.append(Job(index, offboarding_id, operator_id=operator_id))
        return Plan(single=single, jobs=mark_duplicates(jobs), user_id_type=user_id_type)

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

    def _send(self, job: Job, user_id_type: str | None) -> dict[str, Any]:
        assert job.offboarding_id is not None
        skipped = self._skip(job)
        if skipped is not None:
            return skipped
        result = self.hook.revoke_offboarding(
            job.offboarding_id, operator_id=job.operator_id, user_id_type=user_id_type
        )
        if result.already_withdrawn:
            if self.fail_if_already_withdrawn:
                info = lookup(Endpoint.REVOKE, ALREADY_WITHDRAWN_CODE)
                raise FeishuBusinessError(
                    info.msg if info else "offboarding has been withdrawn",
                    code=ALREADY_WITHDRAWN_CODE,
                    log_id=result.log_id,
                    endpoint=Endpoint.REVOKE.value,
                    advice="fail_if_already_withdrawn is set; the offboarding was withdrawn before this task ran.",
                )
            self.log.info("Offboarding %s was already withdrawn (log id %s)", job.offboarding_id, result.log_id)
            return {"outcome": ALREADY_WITHDRAWN, "log_id": result.log_id}
        self.log.info("Revoked offboarding %s (log id %s)", job.offboarding_id, result.log_id)
        return {"outcome": REVOKED, "log_id": result.log_id}

    def _record(self, job: Job, exc: BaseException | None, success: dict[str, Any] | None) -> dict[str, Any]:
        if exc is not None or success is None:
            error = error_info(exc) if exc is not None else None
            return {
                "offboarding_id": job.offboarding_id,
                "outcome": FAILED,
                "log_id": error["log_id"] if error else None,
                "error": error,
            }
        return {"offboarding_id": job.offboarding_id, **success, "error": None}


class EditOffboardingOperator(ReadingOperatorBase):
    """Edit fields of Feishu People offboardings: one record, the same change on many, or a list of changes.

    Calls ``POST /open-apis/corehr/v2/offboardings/edit`` through :class:`FeishuHook`. Python values are converted
    to the API's strings (bool -> ``"true"``/``"false"``, numbers -> decimal text, ``date`` -> ``YYYY-MM-DD``,
    ``datetime`` -> ``YYYY-MM-DD HH:mm:ss``, list of option names -> JSON array text; see
    :mod:`airflow_provider_feishu_corehr.client.fields`). Give either ``offboarding_id`` with ``update_data``, or
    ``offboardings``. For dynamic task mapping over records use
    ``.partial(...).expand_kwargs([{"offboarding_id": ..., "update_data": {...}}, ...])``.

    :param offboarding_id: the offboarding to edit, or a list of ids that all get the same ``update_data``
        (also JSON array text or an upstream ``XComArg``). (templated)
    :param update_data: the fields to set: a mapping ``{field_name: value}``, the API's list
        ``[{"field_name": ..., "value": ...}]``, or JSON text of either. At most 10,000 fields; names unique and
        editable; text at most 6,000 characters; ``None`` values are refused. (templated)
    :param offboardings: instead of the two above, a list of records
        ``{"offboarding_id": str, "update_data": ..., "operator_id": str (optional)}`` (also JSON array text or an
        upstream ``XComArg``); each record is checked on its own and a bad one fails alone. (templated)
    :param operator_id: employment id of the operator, in ``user_id_type``; the default for records without
        their own; ``None`` or ``""`` means the system operator. (templated)
    :param user_id_type: ``open_id``, ``union_id``, ``user_id`` or ``people_corehr_id``; ``None`` uses the
        connection's default (``people_corehr_id`` unless configured). (templated)
    :param timezone: IANA zone name (or ``tzinfo``) that timezone-aware datetime values are converted to before
        formatting; the API takes wall-clock time. Without it, aware datetimes (e.g. every pendulum ``DateTime``)
        are refused; naive ones are always sent as written.
    :param max_workers: records sent concurrently in a batch (1-32, default 4). Throughput stays within the
        endpoint's rate limit through the client's process-wide limiter.
    :param feishu_conn_id: the Feishu connection (conn type ``feishu``). (templated)
    :param employment_id: the employment of a single ``offboarding_id``, so that its current values can be read
        (``only_changed``, ``dry_run``, ``verify``); records of ``offboardings`` carry their own
        ``employment_id`` key. (templated)
    :param only_changed: read each record's current values first (one search per up to 100 employment ids) and
        send only the fields that differ; a record whose fields all hold their value already is not sent
        (outcome ``unchanged``). A field whose current value cannot be read is ``unknown`` and is sent.
    :param dry_run: make a plan and write nothing: the XCom is the plan (per record and field: before, after,
        ``changed`` / ``unchanged`` / ``unknown``). Refused records fail the task after the plan was pushed.
    :param plan: apply a plan made by ``dry_run=True`` (its XCom) instead of the record arguments: exactly its
        fields are written; a record whose current value moved since the plan fails with outcome ``conflict``
        and is not written; one that already holds the planned values is ``unchanged``. (templated)
    :param verify: after writing, read back the records whose outcome is ``edited`` or ``unknown`` and report
        per field ``verified`` / ``mismatch`` / ``unknown``; a mismatch fails the task after the XCom was pushed.

    With ``only_changed``, ``plan`` or ``verify`` each record also carries ``employment_id``, ``status``,
    ``changes`` (per field ``{"field_name", "before", "after", "change", "reason"}``), ``verify`` and
    ``verification``; see ``docs/plan-apply.md``.

    XCom (``return_value``), JSON only:

    * one record: ``{"offboarding_id", "outcome", "field_names", "fields", "log_id", "error"}`` with ``outcome``
      ``"edited"`` or ``"failed"``, ``field_names`` the names sent, ``fields`` the fields Feishu echoed
      (``[{"field_name", "value"}]``, ``None`` on failure), ``error`` ``None`` or
      ``{"kind", "code", "message", "advice", "log_id", "permanent"}`` (module docstring).
    * a batch: ``{"total", "counts": {"edited", "failed"}, "records": [...]}``, one record per input position
      (the above plus ``"index"``), also pushed when the task fails.
    """

    template_fields: Sequence[str] = (
        "offboarding_id",
        "update_data",
        "offboardings",
        "employment_id",
        "plan",
        "operator_id",
        "user_id_type",
        "feishu_conn_id",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "offboarding_id": "json",
        "update_data": "json",
        "offboardings": "json",
        "plan": "json",
    }
    _action = "Edit"
    _kind = "edit"
    _outcomes = (EDITED, FAILED)

    def __init__(
        self,
        *,
        offboarding_id: str | Sequence[str] | None = None,
        update_data: Any = None,
        offboardings: Any = None,
        operator_id: str | None = None,
        user_id_type: str | None = None,
        timezone: str | dt.tzinfo | None = None,
        max_workers: int = 4,
        feishu_conn_id: str = "feishu_default",
        employment_id: str | None = None,
        only_changed: bool = False,
        dry_run: bool = False,
        plan: Any = None,
        verify: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.offboarding_id = offboarding_id
        self.update_data = update_data
        self.employment_id = employment_id
        self.only_changed = only_changed
        self.plan_only = dry_run  # BaseOperator.dry_run is a method: the flag is kept as plan_only
        self.plan = plan
        self.verify = verify
        self.offboardings = offboardings
        self.operator_id = operator_id
        self.user_id_type = user_id_type
        self.timezone = timezone
        self.max_workers = max_workers
        self.feishu_conn_id = feishu_conn_id
        with invalid_argument():
            self._check_arguments()

    def _check_arguments(self) -> None:
        self._check_common_arguments()
        for name in ("only_changed", "verify"):
            if not isinstance(getattr(self, name), bool):
                raise FeishuInvalidInputError(f"{name} must be True or False; got {type(getattr(self, name)).__name__}")
        self._check_plan_arguments(self.offboarding_id, self.update_data, self.offboardings, self.employment_id)
        self._check_shape()
        self._tz()
        arguments = (
            self.offboarding_id,
            self.update_data,
            self.offboardings,
            self.operator_id,
            self.user_id_type,
            self.employment_id,
            self.plan,
        )
        if all(is_static(a) for a in arguments):
            self._check_static()
        elif self.plan is None and self.offboardings is None and is_static(self.update_data):
            self._normalize(self.update_data, "update_data")

    def _check_shape(self) -> None:
        if self.plan is not None:
            return
        single = self.offboardings is None and isinstance(self.offboarding_id, str)
        if self.employment_id is not None and not single:
            raise FeishuInvalidInputError(
                "employment_id goes with a single offboarding_id; records of offboardings carry their own employment_id"
            )
        if self.offboardings is not None:
            if self.offboarding_id is not None or self.update_data is not None:
                raise FeishuInvalidInputError("give either offboardings, or offboarding_id with update_data, not both")
            return
        if self.offboarding_id is None:
            raise FeishuInvalidInputError("offboarding_id (with update_data) or offboardings is required")
        if self.update_data is None:
            raise FeishuInvalidInputError("update_data is required with offboarding_id")

    def _tz(self) -> dt.tzinfo | None:
        value = self.timezone
        if value is None or isinstance(value, dt.tzinfo):
            return value
        if isinstance(value, str) and value.strip():
            try:
                return zoneinfo.ZoneInfo(value.strip())
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                pass
        raise FeishuInvalidInputError(
            f"timezone must be an IANA time zone name such as 'Asia/Shanghai' or a tzinfo; got {value!r}"
        )

    def _normalize(self, update_data: Any, record: str) -> list[FieldValue]:
        return normalize_update_data(update_data, record=record, timezone=self._tz())

    def _plan(self) -> Plan:
        self._check_shape()
        if self.plan is not None:
            return self._planned()
        user_id_type = user_id_type_or_none(self.user_id_type)
        operator_id = optional_id("operator_id", self.operator_id)
        if self.offboardings is not None:
            jobs = [
                self._entry_job(i, entry, operator_id)
                for i, entry in enumerate(as_record_list("offboardings", self.offboardings))
            ]
            return Plan(single=False, jobs=mark_duplicates(jobs), user_id_type=user_id_type)

        single, ids = id_list(self.offboarding_id)
        if single:
            offboarding_id = require_id("offboarding_id", ids[0])
            update = self._normalize(self.update_data, f"offboarding {offboarding_id}")
            employment_id = optional_id("employment_id", self.employment_id)
            names = [f.field_name for f in update]
            job = Job(0, offboarding_id, operator_id, update, names, employment_id=employment_id)
            return Plan(single=True, jobs=[job], user_id_type=user_id_type)
        update = self._normalize(self.update_data, "update_data (shared by every offboarding_id)")
        names = [f.field_name for f in update]
        jobs = []
        for index, raw in enumerate(ids):
            try:
                offboarding_id = require_id("offboarding_id", raw, record=f"record {index}")
            except FeishuInvalidInputError as err:
                jobs.append(Job(index, raw if isinstance(raw, str) else None, field_names=names, refused=err))
            else:
                jobs.append(Job(index, offboarding_id, operator_id, update, names))
        return Plan(single=False, jobs=mark_duplicates(jobs), user_id_type=user_id_type)

    def _entry_job(self, index: int, entry: Any, default_operator_id: str | None) -> Job:
        from airflow_provider_feishu_corehr.operators._plandoc import EDIT_KEYS, entry_ids, known_id

        label = f"record {index}"
        try:
            ids = entry_ids(entry, label=label, keys=EDIT_KEYS, default_operator_id=default_operator_id)
            offboarding_id, employment_id, operator_id = ids
            update = self._normalize(entry.get("update_data"), f"{label} (offboarding {offboarding_id})")
        except FeishuInvalidInputError as err:
            return Job(index, known_id(entry), refused=err)
        names = [f.field_name for f in update]
        return Job(index, offboarding_id, operator_id, update, names, employment_id=employment_id)

    def _new_reader(self, plan: Plan) -> EditReview | None:
        if not (self.only_changed or self.plan_only or self.plan is not None):
            return None
        from airflow_provider_feishu_corehr.operators.plan import EditReview

        planned = self._planned_records()
        return EditReview(self.hook, plan.user_id_type, only_changed=True, planned=planned)

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

    def _send(self, job: Job, user_id_type: str | None) -> dict[str, Any]:
        assert job.offboarding_id is not None
        skipped = self._skip(job)
        if skipped is not None:
            return skipped
        result = self.hook.edit_offboarding(
            job.offboarding_id, job.update, operator_id=job.operator_id, user_id_type=user_id_type
        )
        echoed = [f.field_name for f in result.fields]
        self.log.info(
            "Edited offboarding %s: fields %s (log id %s)",
            job.offboarding_id,
            ", ".join(job.field_names),
            result.log_id,
        )
        if sorted(echoed) != sorted(job.field_names):
            self.log.warning(
                "Offboarding %s: Feishu echoed fields %s, sent %s", job.offboarding_id, echoed, job.field_names
            )
        return {"fields": [f.to_json() for f in result.fields], "log_id": result.log_id}

    def _record(self, job: Job, exc: BaseException | None, success: dict[str, Any] | None) -> dict[str, Any]:
        base = {"offboarding_id": job.offboarding_id, "field_names": list(job.field_names)}
        if exc is not None or success is None:
            error = error_info(exc) if exc is not None else None
            return {
                **base,
                "outcome": FAILED,
                "fields": None,
                "log_id": error["log_id"] if error else None,
                "error": error,
            }
        return {**base, "outcome": EDITED, **success, "error": None}
