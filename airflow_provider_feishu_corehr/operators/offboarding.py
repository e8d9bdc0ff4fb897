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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, BaseOperator

from airflow_provider_feishu_corehr._arguments import InvalidOperatorArgumentError, invalid_argument, is_static
from airflow_provider_feishu_corehr.client.codes import Endpoint, lookup
from airflow_provider_feishu_corehr.client.errors import FeishuBusinessError, FeishuError, FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.fields import normalize_update_data
from airflow_provider_feishu_corehr.client.validation import check_user_id_type, optional_id, require_id
from airflow_provider_feishu_corehr.operators._batch import (
    FAILED,
    SYSTEMIC_FAILURES_BEFORE_STOP,
    BatchReport,
    Breaker,
    Failure,
    as_record_list,
    batch_report,
    check_max_workers,
    duplicate_error,
    duplicates,
    error_info,
    is_permanent,
    run_bounded,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_feishu_corehr.client.models import FieldValue
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

__all__ = ["EditOffboardingOperator", "InvalidOperatorArgumentError", "RevokeOffboardingOperator"]

REVOKED = "revoked"
ALREADY_WITHDRAWN = "already_withdrawn"
EDITED = "edited"
ALREADY_WITHDRAWN_CODE = 1160202
_ENTRY_KEYS = frozenset({"offboarding_id", "update_data", "operator_id"})


@dataclass(frozen=True)
class _Job:
    """One record to send, or a record refused before sending (``refused`` set)."""

    index: int
    offboarding_id: str | None
    operator_id: str | None = None
    update: list[FieldValue] = field(default_factory=list)
    field_names: list[str] = field(default_factory=list)
    refused: FeishuInvalidInputError | None = None


@dataclass(frozen=True)
class _Plan:
    single: bool
    jobs: list[_Job]
    user_id_type: str | None

    def refused_text(self) -> str:
        errors = [str(job.refused) for job in self.jobs if job.refused is not None]
        listed = "\n".join(f"  - {e}" for e in errors[:10])
        more = f"\n  - ... and {len(errors) - 10} more" if len(errors) > 10 else ""
        return f"{len(errors)} record(s) refused:\n{listed}{more}"


def _user_id_type(value: Any) -> str | None:
    return None if value is None else check_user_id_type(value)


def _id_list(value: Any) -> tuple[bool, list[Any]]:
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


def _mark_duplicates(jobs: list[_Job]) -> list[_Job]:
    """Refuse every occurrence of an id listed more than once (order of two writes to one record is undefined)."""
    repeated = duplicates([job.offboarding_id if job.refused is None else None for job in jobs])
    if not repeated:
        return jobs
    refused = {i: duplicate_error(oid, positions) for oid, positions in repeated.items() for i in positions}
    return [
        _Job(job.index, job.offboarding_id, field_names=job.field_names, refused=refused[job.index])
        if job.index in refused
        else job
        for job in jobs
    ]


class _OffboardingOperator(BaseOperator):
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

    def _plan(self) -> _Plan:
        raise NotImplementedError

    def _send(self, job: _Job, user_id_type: str | None) -> dict[str, Any]:
        raise NotImplementedError

    def _record(self, job: _Job, exc: BaseException | None, success: dict[str, Any] | None) -> dict[str, Any]:
        raise NotImplementedError

    def _check_common_arguments(self) -> None:
        """Check ``max_workers``, and ``user_id_type`` and ``operator_id`` when they are not templated."""
        check_max_workers(self.max_workers)
        if is_static(self.user_id_type):
            _user_id_type(self.user_id_type)
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

    def _send_batch(self, jobs: list[_Job], user_id_type: str | None) -> list[dict[str, Any] | Exception]:
        if not jobs:
            return []
        self._start()
        breaker = Breaker(SYSTEMIC_FAILURES_BEFORE_STOP)
        try:  # one token for the whole batch; when that fails, no record is sent
            self.hook.get_conn().fetch_token()
        except FeishuError as err:
            breaker.trip(err, "no tenant access token could be obtained")

        def work(job: _Job) -> dict[str, Any]:
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


class RevokeOffboardingOperator(_OffboardingOperator):
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

    XCom (``return_value``), JSON only:

    * one id: ``{"offboarding_id", "outcome", "log_id", "error"}`` with ``outcome`` ``"revoked"``,
      ``"already_withdrawn"`` or ``"failed"``; ``error`` is ``None`` or
      ``{"kind", "code", "message", "advice", "log_id", "permanent"}`` (module docstring).
    * a list: ``{"total", "counts": {"revoked", "already_withdrawn", "failed"}, "records": [...]}``, one record
      per input position (the above plus ``"index"``), also pushed when the task fails.
    """

    template_fields: Sequence[str] = ("offboarding_id", "operator_id", "user_id_type", "feishu_conn_id")
    template_fields_renderers: ClassVar[dict[str, str]] = {"offboarding_id": "json"}
    _action = "Revoke"
    _outcomes = (REVOKED, ALREADY_WITHDRAWN, FAILED)

    def __init__(
        self,
        *,
        offboarding_id: str | Sequence[str],
        operator_id: str | None = None,
        user_id_type: str | None = None,
        fail_if_already_withdrawn: bool = False,
        max_workers: int = 4,
        feishu_conn_id: str = "feishu_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.offboarding_id = offboarding_id
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
        if all(is_static(a) for a in (self.offboarding_id, self.user_id_type, self.operator_id)):
            self._check_static()

    def _plan(self) -> _Plan:
        user_id_type = _user_id_type(self.user_id_type)
        operator_id = optional_id("operator_id", self.operator_id)
        single, ids = _id_list(self.offboarding_id)
        jobs = []
        for index, raw in enumerate(ids):
            try:
                offboarding_id = require_id("offboarding_id", raw, record=None if single else f"record {index}")
            except FeishuInvalidInputError as err:
                jobs.append(_Job(index, raw if isinstance(raw, str) else None, refused=err))
            else:
                jobs.append(_Job(index, offboarding_id, operator_id=operator_id))
        return _Plan(single=single, jobs=_mark_duplicates(jobs), user_id_type=user_id_type)

    def _send(self, job: _Job, user_id_type: str | None) -> dict[str, Any]:
        assert job.offboarding_id is not None
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

    def _record(self, job: _Job, exc: BaseException | None, success: dict[str, Any] | None) -> dict[str, Any]:
        if exc is not None or success is None:
            error = error_info(exc) if exc is not None else None
            return {
                "offboarding_id": job.offboarding_id,
                "outcome": FAILED,
                "log_id": error["log_id"] if error else None,
                "error": error,
            }
        return {"offboarding_id": job.offboarding_id, **success, "error": None}


class EditOffboardingOperator(_OffboardingOperator):
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
        "operator_id",
        "user_id_type",
        "feishu_conn_id",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "offboarding_id": "json",
        "update_data": "json",
        "offboardings": "json",
    }
    _action = "Edit"
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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.offboarding_id = offboarding_id
        self.update_data = update_data
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
        self._check_shape()
        self._tz()
        arguments = (self.offboarding_id, self.update_data, self.offboardings, self.operator_id, self.user_id_type)
        if all(is_static(a) for a in arguments):
            self._check_static()
        elif self.offboardings is None and is_static(self.update_data):
            self._normalize(self.update_data, "update_data")

    def _check_shape(self) -> None:
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

    def _plan(self) -> _Plan:
        self._check_shape()
        user_id_type = _user_id_type(self.user_id_type)
        operator_id = optional_id("operator_id", self.operator_id)
        if self.offboardings is not None:
            jobs = [
                self._entry_job(i, entry, operator_id)
                for i, entry in enumerate(as_record_list("offboardings", self.offboardings))
            ]
            return _Plan(single=False, jobs=_mark_duplicates(jobs), user_id_type=user_id_type)

        single, ids = _id_list(self.offboarding_id)
        if single:
            offboarding_id = require_id("offboarding_id", ids[0])
            update = self._normalize(self.update_data, f"offboarding {offboarding_id}")
            job = _Job(0, offboarding_id, operator_id, update, [f.field_name for f in update])
            return _Plan(single=True, jobs=[job], user_id_type=user_id_type)
        update = self._normalize(self.update_data, "update_data (shared by every offboarding_id)")
        names = [f.field_name for f in update]
        jobs = []
        for index, raw in enumerate(ids):
            try:
                offboarding_id = require_id("offboarding_id", raw, record=f"record {index}")
            except FeishuInvalidInputError as err:
                jobs.append(_Job(index, raw if isinstance(raw, str) else None, field_names=names, refused=err))
            else:
                jobs.append(_Job(index, offboarding_id, operator_id, update, names))
        return _Plan(single=False, jobs=_mark_duplicates(jobs), user_id_type=user_id_type)

    def _entry_job(self, index: int, entry: Any, default_operator_id: str | None) -> _Job:
        label = f"record {index}"
        raw_id = entry.get("offboarding_id") if isinstance(entry, dict) else None
        known_id = raw_id.strip() if isinstance(raw_id, str) and raw_id.strip() else None
        try:
            if not isinstance(entry, dict):
                raise FeishuInvalidInputError(
                    f"{label}: must be a mapping with offboarding_id and update_data, got {type(entry).__name__}"
                )
            unknown = sorted(map(str, set(entry) - _ENTRY_KEYS))
            if unknown:
                raise FeishuInvalidInputError(
                    f"{label}: unknown key(s) {', '.join(map(repr, unknown))}; allowed: offboarding_id, update_data, "
                    "operator_id"
                )
            offboarding_id = require_id("offboarding_id", raw_id, record=label)
            own_operator = entry.get("operator_id")
            operator_id = (
                default_operator_id if own_operator is None else optional_id("operator_id", own_operator, record=label)
            )
            update = self._normalize(entry.get("update_data"), f"{label} (offboarding {offboarding_id})")
        except FeishuInvalidInputError as err:
            return _Job(index, known_id, refused=err)
        return _Job(index, offboarding_id, operator_id, update, [f.field_name for f in update])

    def _send(self, job: _Job, user_id_type: str | None) -> dict[str, Any]:
        assert job.offboarding_id is not None
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

    def _record(self, job: _Job, exc: BaseException | None, success: dict[str, Any] | None) -> dict[str, Any]:
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
