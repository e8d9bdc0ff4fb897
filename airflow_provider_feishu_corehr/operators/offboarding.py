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
not sent yet get outcome ``not_sent`` (re-running the batch is safe: revoke answers ``already_withdrawn``, an edit
sets the same values again).

A record whose write may have reached Feishu without a definite answer gets outcome ``unknown`` (never
``failed``) with advice on what to check; a revoke is settled first when it can be (:mod:`._settle`). When the
task is interrupted (``on_kill``, SIGTERM, SIGINT, a timeout), no new request starts, requests in flight get a
few seconds, and every record is reported: its outcome, ``unknown`` (in flight) or ``not_sent``
(:mod:`._interrupt`). See ``docs/operators.md``.

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
from airflow_provider_feishu_corehr.client.validation import optional_id, optional_user_id_type, require_offboarding_id
from airflow_provider_feishu_corehr.operators._base import (
    Job,
    Plan,
    id_list,
    mark_duplicates,
)
from airflow_provider_feishu_corehr.operators._batch import (
    FAILED,
    NOT_SENT,
    UNKNOWN,
    as_record_list,
    error_info,
    outcome_of,
)
from airflow_provider_feishu_corehr.operators._plan import shown_id
from airflow_provider_feishu_corehr.operators._reading import EditReading, RevokeReading
from airflow_provider_feishu_corehr.operators._settle import RevokeSettler, may_settle

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from airflow_provider_feishu_corehr.client.models import FieldValue

__all__ = ["EditOffboardingOperator", "InvalidOperatorArgumentError", "RevokeOffboardingOperator"]

REVOKED = "revoked"
ALREADY_WITHDRAWN = "already_withdrawn"
EDITED = "edited"


class RevokeOffboardingOperator(RevokeReading):
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
    :param offboardings: instead of ``offboarding_id``, records ``{"offboarding_id", "employment_id"?,
        "operator_id"?}`` (or their JSON text / an ``XComArg``); the employment id lets ``dry_run`` and ``plan``
        read the current status, and settles an unknown revoke with one look-up. (templated)
    :param dry_run: write nothing; the XCom is a plan: per record its status and ``action`` ``revoke``, ``skip``
        (already ``Withdrawn``, or ``Rejected``) or ``refused`` (fails the task after the push).
    :param plan: apply a ``dry_run`` plan (its XCom) instead of the record arguments; a record whose status moved
        since is not sent (outcome ``conflict``), a no-op is ``skipped``. See ``docs/plan-apply.md``. (templated)

    XCom (``return_value``), JSON only:

    * one id: ``{"offboarding_id", "outcome", "log_id", "error"}`` with ``outcome`` ``"revoked"``,
      ``"already_withdrawn"``, ``"failed"``, ``"unknown"`` or ``"not_sent"``; ``error`` is ``None`` or
      ``{"kind", "code", "message", "advice", "log_id", "permanent"}`` (module docstring).
    * a list: ``{"total", "counts": {"revoked", "already_withdrawn", "failed", "unknown", "not_sent"},
      "records": [...]}``, one record per input position (the above plus ``"index"``), also pushed when the task
      fails. With ``plan`` records also carry ``employment_id``, ``status`` and ``reason``; outcomes add
      ``skipped`` and ``conflict``.
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
    _endpoint = "revoke"
    _outcomes = (REVOKED, ALREADY_WITHDRAWN, FAILED, UNKNOWN, NOT_SENT)
    _unknown_advice = (
        "Feishu may have applied this revoke. Look the offboarding up (hook.get_offboarding with its employment "
        "id, or the People admin console): status Withdrawn means it was revoked. Re-running the task is safe: "
        "a revoke of a withdrawn offboarding answers already_withdrawn."
    )

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
        self._check_reading_arguments()
        arguments = (self.offboarding_id, self.offboardings, self.plan, self.user_id_type, self.operator_id)
        if all(is_static(a) for a in arguments):
            self._check_static()

    def _plan(self) -> Plan:
        if self.plan is not None:
            return self._planned()
        user_id_type = optional_user_id_type(self.user_id_type)
        operator_id = optional_id("operator_id", self.operator_id)
        if self.offboardings is not None:
            return Plan(single=False, jobs=self._entry_jobs(operator_id), user_id_type=user_id_type)
        single, ids = id_list(self.offboarding_id)
        jobs = []
        for index, raw in enumerate(ids):
            try:
                offboarding_id = require_offboarding_id(
                    "offboarding_id", raw, record=None if single else f"record {index}"
                )
            except FeishuInvalidInputError as err:
                jobs.append(Job(index, shown_id(raw), refused=err))
            else:
                jobs.append(Job(index, offboarding_id, operator_id=operator_id))
        return Plan(single=single, jobs=mark_duplicates(jobs), user_id_type=user_id_type)

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
            self.log.debug("Offboarding %s was already withdrawn (log id %s)", job.offboarding_id, result.log_id)
            return {"outcome": ALREADY_WITHDRAWN, "log_id": result.log_id}
        self.log.debug("Revoked offboarding %s (log id %s)", job.offboarding_id, result.log_id)
        return {"outcome": REVOKED, "log_id": result.log_id}

    def _unsettled(self, exc: BaseException) -> bool:
        return may_settle(exc)

    def _settling(self, jobs: list[Job], user_id_type: str | None) -> Callable[[Job, BaseException], dict[str, Any]]:
        """Look the records up in one batch when their employment ids are known, else revoke once more
        (:mod:`._settle`)."""
        settler = RevokeSettler(self.hook, self.log, user_id_type)
        settler.look_up(jobs)
        return lambda job, exc: settler.settle(job, exc, operator_id=job.operator_id)

    def _record(self, job: Job, exc: BaseException | None, success: dict[str, Any] | None) -> dict[str, Any]:
        if exc is not None or success is None:
            error = error_info(exc, self._unknown_advice) if exc is not None else None
            return {
                "offboarding_id": job.offboarding_id,
                "outcome": outcome_of(exc) if exc is not None else FAILED,
                "log_id": error["log_id"] if error else None,
                "error": error,
            }
        return {"offboarding_id": job.offboarding_id, **success, "error": None}


class EditOffboardingOperator(EditReading):
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
        ``{"offboarding_id": str, "update_data": ..., "operator_id"?, "employment_id"?}`` (also JSON array text or
        an upstream ``XComArg``); each record is checked on its own and a bad one fails alone. (templated)
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
    :param employment_id: the employment of a single ``offboarding_id``, to read its current values. (templated)
    :param only_changed: read the current values first (one search per 100 employment ids) and send only fields
        that differ or cannot be read; a record with nothing to send gets outcome ``unchanged``.
    :param dry_run: write nothing; the XCom is a plan (per field before, after, ``changed`` / ``unchanged`` /
        ``unknown``). Refused records fail the task after the plan was pushed.
    :param plan: apply a ``dry_run`` plan (its XCom) instead of the record arguments: exactly its fields; a record
        whose current value moved since is not written (outcome ``conflict``). (templated)
    :param verify: read back the records with outcome ``edited`` or ``unknown``: per field ``verified`` /
        ``mismatch`` / ``unknown``; a mismatch fails the task after the XCom was pushed.

    With these, records also carry ``employment_id``, ``status``, ``changes``, ``verify`` and ``verification``;
    see ``docs/plan-apply.md``.

    XCom (``return_value``), JSON only:

    * one record: ``{"offboarding_id", "outcome", "field_names", "fields", "log_id", "error"}`` with ``outcome``
      ``"edited"``, ``"failed"``, ``"unknown"`` or ``"not_sent"``, ``field_names`` the names sent, ``fields`` the
      fields Feishu echoed (``[{"field_name", "value"}]``, ``None`` otherwise), ``error`` ``None`` or
      ``{"kind", "code", "message", "advice", "log_id", "permanent"}`` (module docstring).
    * a batch: ``{"total", "counts": {"edited", "failed", "unknown", "not_sent"}, "records": [...]}``, one record
      per input position (the above plus ``"index"``), also pushed when the task fails.
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
    _endpoint = "edit"
    _outcomes = (EDITED, FAILED, UNKNOWN, NOT_SENT)
    _unknown_advice = (
        "Feishu may have applied this edit. Read the offboarding's fields back (hook.search_offboardings) before "
        "sending it again: re-sending is only safe if nobody wrote a newer value since."
    )

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
        self._check_reading_arguments()
        self._check_shape()
        self._tz()
        arguments = (self.offboarding_id, self.update_data, self.offboardings, self.operator_id, self.user_id_type)
        if all(is_static(a) for a in (*arguments, self.employment_id, self.plan)):
            self._check_static()
        elif self.plan is None and self.offboardings is None and is_static(self.update_data):
            self._normalize(self.update_data, "update_data")

    def _check_shape(self) -> None:
        if self._applies_plan():
            return
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
        user_id_type = optional_user_id_type(self.user_id_type)
        operator_id = optional_id("operator_id", self.operator_id)
        if self.offboardings is not None:
            from airflow_provider_feishu_corehr.operators._plandoc import edit_entry_job

            entries = as_record_list("offboardings", self.offboardings)
            jobs = [edit_entry_job(i, entry, operator_id, self._normalize) for i, entry in enumerate(entries)]
            return Plan(single=False, jobs=mark_duplicates(jobs), user_id_type=user_id_type)

        single, ids = id_list(self.offboarding_id)
        if single:
            offboarding_id = require_offboarding_id("offboarding_id", ids[0])
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
                offboarding_id = require_offboarding_id("offboarding_id", raw, record=f"record {index}")
            except FeishuInvalidInputError as err:
                jobs.append(Job(index, shown_id(raw), field_names=names, refused=err))
            else:
                jobs.append(Job(index, offboarding_id, operator_id, update, names))
        return Plan(single=False, jobs=mark_duplicates(jobs), user_id_type=user_id_type)

    def _send(self, job: Job, user_id_type: str | None) -> dict[str, Any]:
        assert job.offboarding_id is not None
        skipped = self._skip(job)
        if skipped is not None:
            return skipped
        result = self.hook.edit_offboarding(
            job.offboarding_id, job.update, operator_id=job.operator_id, user_id_type=user_id_type
        )
        echoed = [f.field_name for f in result.fields]
        self.log.debug(
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
            error = error_info(exc, self._unknown_advice) if exc is not None else None
            return {
                **base,
                "outcome": outcome_of(exc) if exc is not None else FAILED,
                "fields": None,
                "log_id": error["log_id"] if error else None,
                "error": error,
            }
        return {**base, "outcome": EDITED, **success, "error": None}
