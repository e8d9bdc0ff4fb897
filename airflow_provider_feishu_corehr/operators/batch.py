"""The shared base of the offboarding operators, and the batch they run.

:class:`OffboardingOperator` holds what both operators share (the connection, the gate, ``on_kill``, the plan
arguments) and runs one batch in :meth:`~OffboardingOperator.run_batch`: read the records, review them against
current values when asked, send them (:func:`~.workers.run_records`), settle ambiguous writes, report every record
in one XCom envelope and fail at the end when a record failed (``docs/operators.md``, ``docs/xcom.md``). What
differs between a revoke and an edit comes in as an :class:`Operation` (:mod:`.revoke`, :mod:`.edit`), never as an
override.
"""

from __future__ import annotations

import functools
import json
import warnings
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from airflow.exceptions import AirflowProviderDeprecationWarning
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, BaseOperator

from airflow_provider_feishu_corehr._arguments import is_static
from airflow_provider_feishu_corehr.client.codes import Endpoint
from airflow_provider_feishu_corehr.client.errors import FeishuError, FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.validation import optional_id, optional_user_id_type
from airflow_provider_feishu_corehr.hooks.connection_fields import DEFAULT_CONN_ID
from airflow_provider_feishu_corehr.operators import privacy
from airflow_provider_feishu_corehr.operators.gate import Gate, RequestNotStarted
from airflow_provider_feishu_corehr.operators.outcomes import (
    NOT_SENT,
    SYSTEMIC_FAILURES_BEFORE_STOP,
    UNKNOWN,
    Breaker,
    Failure,
    InFlight,
    envelope,
    error_info,
    is_permanent,
    outcome_of,
)
from airflow_provider_feishu_corehr.operators.records import refused_text
from airflow_provider_feishu_corehr.operators.sigint import stop_on_sigint
from airflow_provider_feishu_corehr.operators.workers import run_records

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook
    from airflow_provider_feishu_corehr.operators.progress import Progress
    from airflow_provider_feishu_corehr.operators.records import Record

# What only execute needs (plan, review, rate table, progress) is imported there: DAG parse stays cheap.

MAX_WORKERS_LIMIT = 32
DIRECT = "direct"
ONLY_CHANGED = "only_changed"
PLAN = "plan"


class Review(Protocol):
    """The review against current values (:mod:`.review`)."""

    def prepare(self, records: list[Record]) -> list[Record]: ...
    def skip(self, record: Record) -> dict[str, Any] | None: ...
    def finish(self, records: Sequence[Record], reported: list[dict[str, Any]]) -> None: ...
    def plan(self, records: list[Record], user_id_type: str | None) -> dict[str, Any]: ...


SETTLE_ROUNDS = 3
"""Settling rounds at most: a round is one ``look_up`` of the records still unsettled, then ``settle`` of each."""


class SettleAgain(Exception):
    """Raised by ``settle``: the record was sent again and that write's outcome is unknown too; it goes to the next
    round (after the last one ``error`` is its result).

    :param error: the new write's error.
    """

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class Unsettled(Exception):
    """Raised by ``settle``: what settling found for a record it could not settle. ``error`` is its error,
    ``outcome`` its outcome (``unknown``, ``conflict``, ``failed``) and ``keys`` go to its XCom record (an edit's
    ``seen``).

    :param error: the record's error.
    :param outcome: its outcome.
    :param keys: its XCom keys.
    """

    def __init__(self, error: BaseException, outcome: str, keys: dict[str, Any]) -> None:
        super().__init__(str(error))
        self.error, self.outcome, self.keys = error, outcome, keys


class Settler(Protocol):
    """Settles writes that ended without a definite answer (:class:`.revoke.RevokeSettler`,
    :class:`.edit_settle.EditSettler`): ``settle`` returns the result, or raises the record's error,
    :class:`SettleAgain` or :class:`Unsettled`."""

    def unsettled(self, exc: BaseException) -> bool: ...
    def look_up(self, records: Sequence[Record]) -> None: ...
    def settle(self, record: Record, exc: BaseException) -> dict[str, Any]: ...


class Operation(Protocol):
    """What one kind of write brings to a batch: :class:`.revoke.Revoke` or :class:`.edit.Edit`.

    ``kind`` is ``"revoke"`` or ``"edit"`` (the endpoint, the plan's kind, the XCom's ``operation``), ``action`` the
    word of log lines, ``outcomes`` the keys of the XCom's ``counts``, ``unknown_advice`` what to check when a
    record's outcome is ``unknown``. ``review`` makes the :class:`Review` (given the hook, the id type and the
    plan's records by index), ``settler`` the :class:`Settler` (given the hook, the log and the id type), ``verify``
    reads written records back (edit ``verify=True``: given the hook, the id type, the records and their XCom
    records; returns counts by verdict); ``None`` when the operation has none.
    """

    kind: str
    action: str
    outcomes: tuple[str, ...]
    unknown_advice: str

    @property
    def review(self) -> Callable[[FeishuHook, str | None, dict[int, dict[str, Any]] | None], Review]: ...
    @property
    def settler(self) -> Callable[[FeishuHook, Any, str | None], Settler] | None: ...
    @property
    def verify(
        self,
    ) -> Callable[[FeishuHook, str | None, list[Record], list[dict[str, Any]]], dict[str, int]] | None: ...

    def record_keys(self, record: Record) -> dict[str, Any]:
        """The operation's own keys of the record's XCom entry, before its outcome is known."""

    def send(self, hook: FeishuHook, record: Record, user_id_type: str | None) -> dict[str, Any]:
        """Write one record; returns its ``outcome``, ``log_id`` and the operation's keys, or raises."""


class OffboardingOperator(BaseOperator):
    """The shared base of :class:`~.revoke.RevokeOffboardingOperator` and :class:`~.edit.EditOffboardingOperator`.

    :param feishu_conn_id: the Feishu connection (conn type ``feishu``). (templated)
    :param operator_id: employment id of the operator, in ``user_id_type``; ``None`` or ``""`` means the system
        operator. (templated)
    :param user_id_type: ``open_id``, ``union_id``, ``user_id`` or ``people_corehr_id``; ``None`` uses the
        connection's default (``people_corehr_id`` unless configured). (templated)
    :param max_workers: records sent concurrently (1-32, default 4). Throughput stays within the endpoint's rate
        limit through the client's process-wide limiter.
    :param plan_only: write nothing; read the current state and return a plan (:mod:`.plan`) for approval.
        Refused records fail the task after the plan was pushed.
    :param plan: apply a plan (the XCom of a ``plan_only`` task) instead of the record arguments. (templated)
    :param dry_run: deprecated name of ``plan_only`` (``BaseOperator.dry_run`` is a method of Airflow's).
    :param privacy: ``True`` keeps every HR value out of XCom, rendered template fields and logs (hashed:
        ``docs/privacy.md``); ``None`` (default) follows the connection's extra ``privacy``, which a task cannot
        turn off (``False`` is refused when the connection says ``true``).
    """

    ui_color = "#3370ff"

    def __init__(
        self,
        *,
        feishu_conn_id: str = DEFAULT_CONN_ID,
        operator_id: str | None = None,
        user_id_type: str | None = None,
        max_workers: int = 4,
        plan_only: bool = False,
        plan: Any = None,
        dry_run: bool | None = None,
        privacy: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if dry_run is not None:
            warnings.warn(
                "dry_run is deprecated: use plan_only (same meaning); dry_run will be removed in the next release",
                AirflowProviderDeprecationWarning,
                stacklevel=3,
            )
            plan_only = dry_run
        self.feishu_conn_id = feishu_conn_id
        self.operator_id = operator_id
        self.user_id_type = user_id_type
        self.max_workers = max_workers
        self.plan_only = plan_only
        self.plan = plan
        self.privacy = privacy

    @cached_property
    def gate(self) -> Gate:
        """The gate every request of this run passes (closed by :meth:`on_kill`)."""
        return Gate()

    @cached_property
    def hook(self) -> FeishuHook:
        """The hook of ``feishu_conn_id``, built on first use (not at DAG parse); its requests pass the gate."""
        from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

        return FeishuHook(self.feishu_conn_id, guard=self.gate)

    @staticmethod
    def render_plan(plan: dict[str, Any]) -> str:
        """Markdown of a plan for the person who approves it (:func:`~.plan_render.render_plan`).

        :param plan: the XCom of a ``plan_only`` task.
        """
        from airflow_provider_feishu_corehr.operators.plan_render import render_plan

        return render_plan(plan)

    def privacy_key(self) -> bytes | None:
        """The hashing key when privacy is on for this task (:mod:`.privacy`), else ``None``.

        :raises AirflowFailException: the connection cannot be read, or ``privacy=False`` against its extra.
        """
        try:
            return privacy.task_key(self.privacy, self.hook.settings)
        except FeishuError as err:
            raise AirflowFailException(str(err)) from err

    def _do_render_template_fields(self, parent: Any, template_fields: Any, *args: Any, **kwargs: Any) -> None:
        """Airflow's rendering, then under privacy the stored forms hashed (:func:`.privacy.hide_rendered`).

        Airflow's private method, not the public ``render_template_fields``: a mapped task is rendered through
        this one only (``docs/privacy.md``); listed in ``tests/test_upgrade_safety.py``.
        """
        super()._do_render_template_fields(parent, template_fields, *args, **kwargs)
        if parent is self:
            try:
                key = self.privacy_key()
            except AirflowFailException:  # execute reads the connection again and fails; store no value meanwhile
                privacy.hide_rendered(self, None, unread=True)
                return
            privacy.hide_rendered(self, key)

    def on_kill(self) -> None:
        """Stop the batch: no new request starts; requests in flight get a few seconds, then the report is pushed."""
        self.gate.close("on_kill")

    def check_arguments(self, records_given: tuple[Any, ...], flags: tuple[str, ...]) -> None:
        """Check the arguments both operators have, those not templated (before rendering) or all (after).

        :param records_given: the operator's record arguments: ``plan`` replaces them.
        :param flags: the operator's own arguments that must be ``True`` or ``False``.
        """
        workers = self.max_workers
        if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS_LIMIT:
            raise FeishuInvalidInputError(
                f"max_workers must be an integer from 1 to {MAX_WORKERS_LIMIT}; got {workers!r}"
            )
        if is_static(self.user_id_type):
            optional_user_id_type(self.user_id_type)
        if is_static(self.operator_id):
            optional_id("operator_id", self.operator_id)
        for name in ("plan_only", *flags):
            if not isinstance(getattr(self, name), bool):
                raise FeishuInvalidInputError(f"{name} must be True or False; got {type(getattr(self, name)).__name__}")
        if self.plan is None:
            return
        self.__dict__["records_given"] = any(arg is not None for arg in records_given)
        if self.__dict__["records_given"] and not privacy.takes_records(self.plan):  # a hashed plan takes them
            raise FeishuInvalidInputError("plan replaces the records: give either plan or the records, not both")
        if self.plan_only:
            raise FeishuInvalidInputError("plan_only makes a plan; plan applies one: set one of them")

    def check_static_records(self, kind: str, read_records: Callable[[], list[Record]]) -> bool:
        """At DAG parse, when every templated argument but the connection is a value: read the records (or the
        plan) as ``execute`` will, so a bad plan or a refused record is a DAG error.

        :param kind: ``"revoke"`` or ``"edit"``: the kind a plan must be of.
        :param read_records: reads the records from the operator's arguments.
        :return: whether the records were read.
        """
        if not all(is_static(getattr(self, name)) for name in self.template_fields if name != "feishu_conn_id"):
            return False
        records = self.planned(kind)[0] if self.plan is not None else read_records()
        if any(r.refused is not None for r in records):
            raise FeishuInvalidInputError(refused_text(records))
        return True

    def planned(
        self, kind: str, read_records: Callable[[], list[Record]] | None = None
    ) -> tuple[list[Record], str | None, dict[int, dict[str, Any]]]:
        """The records of the plan to apply, the id type to use and the plan's records by index.

        :param kind: ``"revoke"`` or ``"edit"``: the plan must be of this kind.
        :param read_records: reads the records given next to a hashed plan (:func:`.privacy.planned_records`).
        """
        from airflow_provider_feishu_corehr.operators.plan import planned_record, read_plan

        plan_user_id_type, entries = read_plan(self.plan, kind)
        own = optional_user_id_type(self.user_id_type)
        if own is not None and plan_user_id_type is not None and own != plan_user_id_type:
            raise FeishuInvalidInputError(
                f"user_id_type {own!r} differs from the plan's {plan_user_id_type!r}; leave it unset to use the plan's"
            )
        records, entries = privacy.planned_records(
            self.plan,
            entries,
            kind,
            key=self.__dict__.get("privacy_hash_key"),
            records_given=self.__dict__.get("records_given", False),
            read_records=read_records,
            planned_record=planned_record,
        )
        return records, own or plan_user_id_type, {entry["index"]: entry for entry in entries}

    def run_batch(
        self,
        context: Context,
        operation: Operation,
        read_records: Callable[[], list[Record]],
        *,
        read_first: bool = False,
    ) -> dict[str, Any]:
        """Run one batch: make a plan (``plan_only``) or write the records, report each, fail at the end.

        :param context: the task's context.
        :param operation: the revoke or the edit.
        :param read_records: reads the records from the operator's arguments (not from ``plan``).
        :param read_first: review against current values even without a plan (edit ``only_changed``).
        :return: the plan document (``plan_only``), else the XCom envelope (:func:`~.outcomes.envelope`).
        """
        for name in ("gate", "hook"):  # a fresh gate (and a hook on it) for every run of this instance
            self.__dict__.pop(name, None)
        try:
            self.__dict__["privacy_hash_key"] = self.privacy_key()
        except AirflowFailException:  # unreadable connection: fail when privacy was asked for or values were hidden
            if self.privacy is not None or self.__dict__.get("privacy_real") is not None:
                raise
            self.__dict__["privacy_hash_key"] = None  # nothing can be sent: the batch reports the connection error
        with stop_on_sigint(self.gate.close), privacy.real_values(self):
            value = self._run(context, operation, read_records, read_first)
        return privacy.hide_report(value, self.__dict__["privacy_hash_key"])

    def _run(
        self, context: Context, operation: Operation, read_records: Callable[[], list[Record]], read_first: bool
    ) -> dict[str, Any]:
        planned: dict[int, dict[str, Any]] | None = None
        try:
            if self.plan is not None:
                records, user_id_type, planned = self.planned(operation.kind, read_records)
            else:
                records, user_id_type = read_records(), optional_user_id_type(self.user_id_type)
        except FeishuInvalidInputError as err:
            raise AirflowFailException(str(err)) from err
        mode = PLAN if planned is not None else ONLY_CHANGED if read_first else DIRECT
        review = operation.review(self.hook, user_id_type, planned) if self.plan_only or mode != DIRECT else None
        if review is not None:
            try:  # read the current state before any write; a failed read ends the task with nothing written
                records = review.prepare(records)
            except FeishuError as err:
                raise (AirflowFailException if err.permanent else AirflowException)(
                    f"Reading the current state of the offboardings failed, nothing was written: {err}"
                ) from err
            except RequestNotStarted as err:  # the task was interrupted while it read
                raise AirflowException(
                    f"Reading the current state of the offboardings was interrupted ({err.reason}), nothing was written"
                ) from err
            if self.plan_only:  # write nothing; refused records fail the task after the plan was pushed
                document = review.plan(records, user_id_type)
                self.log.info("%s plan made, nothing written: %s", operation.action, document["counts"])
                if any(r.refused is not None for r in records):
                    self._push(context, document)
                    raise AirflowFailException(refused_text(records))
                return document

        to_send = [r for r in records if r.refused is None]
        self.log.info(
            "%s: sending %d offboarding(s) with up to %d worker(s); %d refused before sending",
            operation.action,
            len(to_send),
            self.max_workers,
            len(records) - len(to_send),
        )
        from airflow_provider_feishu_corehr.operators.progress import Progress, summary_table

        progress = Progress(operation.action, len(to_send), log=self.log, limit=None)
        results, raised = self._send_all(operation, to_send, user_id_type, review, progress)
        reported: list[dict[str, Any]] = []
        failures: list[Failure] = []
        for record in records:
            result = record.refused if record.refused is not None else results[record.index]
            entry: dict[str, Any] = {"index": record.index, "offboarding_id": record.offboarding_id}
            entry.update(employment_id=record.employment_id, **operation.record_keys(record))
            found: dict[str, Any] = {}
            if isinstance(result, Unsettled):  # settling's verdict: its outcome and what it saw
                found, result = {"outcome": result.outcome, **result.keys}, result.error
            if isinstance(result, BaseException):
                failures.append(Failure(record.index, record.offboarding_id, result))
                outcome = found.get("outcome", outcome_of(result))
                self.log.warning("%s %s: %s", operation.action, outcome, failures[-1].describe())
                error = error_info(result, operation.unknown_advice)
                entry.update(outcome=outcome_of(result), log_id=error["log_id"], error=error)
                entry.update(found)
            else:
                entry.update(result, error=None)
            reported.append(entry)
        if review is not None:
            review.finish(records, reported)
        value = envelope(operation.kind, mode, user_id_type, reported, operation.outcomes)
        # read back before the task can fail: records whose outcome is unknown are the ones worth reading
        if operation.verify is not None:
            value["verification"] = operation.verify(self.hook, user_id_type, records, reported)
        elapsed = progress.clock() - progress.started
        self.log.info("%s", summary_table(operation.action, reported, operation.outcomes, elapsed))
        self._fail_if_needed(context, operation.action, value, failures, raised)
        return value

    def _fail_if_needed(
        self,
        context: Context,
        action: str,
        value: dict[str, Any],
        failures: list[Failure],
        raised: BaseException | None,
    ) -> None:
        """Push the report and fail the task when the batch was interrupted, a record failed or read back wrong."""
        stopped = [r["outcome"] for r in value["records"] if r["outcome"] in (UNKNOWN, NOT_SENT)]
        mismatched = [r for r in value["records"] if r.get("verification") == "mismatch"]
        if not ((self.gate.closed and (raised is not None or stopped)) or failures or mismatched):
            return
        self._push(context, value)
        if self.gate.closed and (raised is not None or stopped):
            if raised is not None:
                raise raised
            raise AirflowException(
                f"{action} interrupted ({self.gate.reason}): no request was started after it; "
                f"{stopped.count(UNKNOWN)} record(s) unknown (in flight), {stopped.count(NOT_SENT)} not sent, of "
                f"{value['total']}; every record's outcome is in the XCom return_value"
            )
        if failures:
            more = [f"  - ... and {len(failures) - 10} more"] if len(failures) > 10 else []
            heading = f"{action} failed for {len(failures)} of {value['total']} offboarding(s); every record's outcome"
            text = "\n".join(
                [f"{heading} is in the XCom return_value:", *(f"  - {f.describe()}" for f in failures[:10]), *more]
            )
            raise (AirflowFailException if all(is_permanent(f.error) for f in failures) else AirflowException)(text)
        listed = "; ".join(
            f"offboarding {r['offboarding_id']}: "
            + ", ".join(row["field_name"] for row in r["verify"] if row["verify"] == "mismatch")
            for r in mismatched[:10]
        )
        raise AirflowException(
            f"{action}: {len(mismatched)} record(s) read back with other values than written "
            f"(fields: {listed}); every record's verification is in the XCom return_value"
        )

    def _send_all(
        self,
        operation: Operation,
        records: list[Record],
        user_id_type: str | None,
        review: Review | None,
        progress: Progress,
    ) -> tuple[dict[int, dict[str, Any] | BaseException], BaseException | None]:
        """Send every record (gated, bounded), then settle ambiguous writes while the gate is open."""
        if not records:
            return {}, None
        gate = self.gate
        try:  # read the connection and build the client in this thread, before any worker starts
            self.hook.get_conn()
        except FeishuError as err:
            raise (AirflowFailException if err.permanent else AirflowException)(str(err)) from err
        from airflow_provider_feishu_corehr.client.ratelimit import rate_for

        rate = rate_for(self.hook.settings, Endpoint(operation.kind))
        progress.limit = None if rate is None else rate[0] / rate[1]
        progress.waits = lambda: (gate.rate_limit_refusals, gate.pacing_wait)
        breaker = Breaker(SYSTEMIC_FAILURES_BEFORE_STOP)
        try:  # one token for the whole batch; when that fails, no record is sent
            self.hook.get_conn().fetch_token()
        except FeishuError as err:
            breaker.trip(err, "no tenant access token could be obtained")
        except RequestNotStarted:
            pass

        def work(record: Record) -> dict[str, Any]:
            breaker.check()
            gate.check()
            skipped = review.skip(record) if review is not None else None
            if skipped is not None:
                return skipped
            try:
                result = operation.send(self.hook, record, user_id_type)
            except RequestNotStarted as exc:  # interrupted while waiting to retry: an earlier attempt was sent
                if gate.attempted(record.index):
                    raise InFlight(f"the task was interrupted ({exc.reason}) between two attempts") from exc
                raise
            except Exception as exc:
                if not isinstance(exc, FeishuError) and gate.attempted(record.index):
                    raise InFlight("an unexpected error came after a request was sent", cause=exc) from exc
                breaker.record(exc)
                raise
            breaker.record(None)
            return result

        results_run, raised = run_records(
            records,
            work,
            max_workers=self.max_workers,
            gate=gate,
            on_result=lambda result: progress.record(isinstance(result, dict)),
            on_poll=progress.poll,
        )
        results = {r.index: result for r, result in zip(records, results_run, strict=True)}
        if operation.settler is None or gate.closed or breaker.stopped:  # no settling into an outage
            return results, raised
        settler = operation.settler(self.hook, self.log, user_id_type)
        errors = {i: e for i, e in results.items() if isinstance(e, BaseException) and settler.unsettled(e)}
        for _ in range(SETTLE_ROUNDS):  # a round: one look-up, then each record settled, re-sent or left as is
            unsettled = [r for r in records if r.index in errors]
            if not unsettled or gate.closed:
                break
            settler.look_up(unsettled)
            settle = functools.partial(_settle_one, settler, errors)
            settled, raised_settling = run_records(unsettled, settle, max_workers=self.max_workers, gate=gate)
            raised, errors = raised or raised_settling, {}
            for record, result in zip(unsettled, settled, strict=True):
                if isinstance(result, SettleAgain):
                    results[record.index] = errors[record.index] = result.error
                elif isinstance(result, (dict, Unsettled)):
                    results[record.index] = result
        return results, raised

    def _push(self, context: Context, value: dict[str, Any]) -> None:
        """Push the report before failing the task, so downstream tasks (trigger rule all_done) can read it.

        If the push itself fails (the task is being torn down), the report goes to the task log instead, without
        any field value.
        """
        if not self.do_xcom_push:
            return
        value = privacy.hide_report(value, self.__dict__.get("privacy_hash_key"))
        try:
            context["ti"].xcom_push(key="return_value", value=value)
        except Exception:
            slim = [{k: r.get(k) for k in ("index", "offboarding_id", "outcome", "log_id")} for r in value["records"]]
            self.log.exception("The XCom push failed; the report: %s", json.dumps(slim))
            raise


def _settle_one(settler: Settler, errors: dict[int, BaseException], record: Record) -> dict[str, Any]:
    """Settle ``record`` given its error of the round before."""
    return settler.settle(record, errors[record.index])
