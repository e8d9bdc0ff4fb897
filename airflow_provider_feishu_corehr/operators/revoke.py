"""Revoking offboardings: :class:`RevokeOffboardingOperator` and the revoke :class:`Revoke` it runs.

A revoke that ended without a definite answer is settled after the batch by :class:`RevokeSettler` (a batched
look-up, else one final revoke, in rounds): the rule is in ``docs/operators.md``, "Settling unknown revokes". Every
outcome says what happened: a 1160202 that answers our own earlier attempt is ``revoked``, never
``already_withdrawn``, and the record's ``settled_by`` says how that was confirmed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_feishu_corehr._arguments import invalid_argument
from airflow_provider_feishu_corehr.client.api import ALREADY_WITHDRAWN as ALREADY_WITHDRAWN_CODE
from airflow_provider_feishu_corehr.client.codes import Endpoint, lookup
from airflow_provider_feishu_corehr.client.errors import FeishuBusinessError, FeishuError, FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.validation import optional_id
from airflow_provider_feishu_corehr.operators.batch import OffboardingOperator, SettleAgain, Unsettled
from airflow_provider_feishu_corehr.operators.gate import RequestNotStarted
from airflow_provider_feishu_corehr.operators.outcomes import (
    FAILED,
    NOT_SENT,
    UNKNOWN,
    InFlight,
    is_permanent,
    outcome_of,
)
from airflow_provider_feishu_corehr.operators.records import Record, entry_records, id_records

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

REVOKED = "revoked"
ALREADY_WITHDRAWN = "already_withdrawn"
ENTRY_KEYS = ("offboarding_id", "employment_id", "operator_id")
# How a revoke's outcome was confirmed (XCom ``settled_by``; ``None``: by its own definite answer).
AFTER_RETRY = "already_withdrawn_after_retry"
"""The call's retry answered 1160202 after one of its attempts may have reached Feishu: our revoke landed."""
LOOK_UP = "look_up"
"""A look-up of the employment after the batch found the offboarding ``Withdrawn``."""
FINAL_REVOKE = "final_revoke"
"""A final revoke after the batch answered it (revoked, or 1160202)."""


def already_withdrawn_error(log_id: str | None) -> FeishuBusinessError:
    """The error of a record found withdrawn before this task when ``fail_if_already_withdrawn`` is set.

    :param log_id: the log id of the answer that said so (``None`` for a look-up).
    """
    info = lookup(Endpoint.REVOKE, ALREADY_WITHDRAWN_CODE)
    return FeishuBusinessError(
        info.msg if info else "offboarding has been withdrawn",
        code=ALREADY_WITHDRAWN_CODE,
        log_id=log_id,
        endpoint=Endpoint.REVOKE.value,
        advice="fail_if_already_withdrawn is set; the offboarding was withdrawn before this task ran.",
    )


class RevokeSettler:
    """Settles the ambiguous revokes of one batch (``docs/operators.md``), one round at a time.

    Found ``Withdrawn`` (by a look-up, or a final revoke answering 1160202) means ``revoked`` when a revoke of ours
    may have reached Feishu (the record's outcome so far is ``unknown``, or the final revoke's own call had an
    ambiguous attempt), else ``already_withdrawn`` (someone else withdrew it; ``failed`` with
    ``fail_if_already_withdrawn``). One final revoke per record at most: when it is itself ambiguous, the record
    goes to the next round (:class:`~.batch.SettleAgain`) for one more batched look-up when its employment id is
    known; whatever is not found ``Withdrawn`` then is ``unknown``, never ``failed``.

    :param hook: the operator's hook (its requests pass the batch's gate).
    :param log: the task's logger.
    :param user_id_type: id type of the employment ids (``None`` = the connection's default).
    :param fail_if_already_withdrawn: a record withdrawn before this task fails (as :class:`Revoke`).
    """

    def __init__(
        self, hook: FeishuHook, log: Any, user_id_type: str | None, *, fail_if_already_withdrawn: bool = False
    ) -> None:
        self.hook = hook
        self.log = log
        self.user_id_type = user_id_type
        self.fail_if_already_withdrawn = fail_if_already_withdrawn
        self.withdrawn: set[str] = set()
        self.revoked_again: set[int] = set()

    def unsettled(self, exc: BaseException) -> bool:
        """A revoke that ended without a definite answer: in flight, or an error another try could change.

        :param exc: the record's error.
        """
        return isinstance(exc, InFlight) or (isinstance(exc, FeishuError) and not is_permanent(exc))

    def look_up(self, records: Sequence[Record]) -> None:
        """One batched look-up of the records whose employment id is known; remembers the withdrawn ones.

        :param records: the records to settle.
        """
        wanted = {r.employment_id: r.offboarding_id for r in records if r.employment_id and r.offboarding_id}
        if not wanted:
            return
        try:
            found = self.hook.lookup_offboardings(list(wanted), user_id_type=self.user_id_type)
        except (FeishuError, RequestNotStarted) as err:
            self.log.warning("Looking up %d offboarding(s) to settle their revoke failed: %s", len(wanted), err)
            return
        for employment_id, current in found.items():
            if current.offboarding_id == wanted.get(employment_id) and current.status == "Withdrawn":
                self.withdrawn.add(current.offboarding_id)

    def settle(self, record: Record, exc: BaseException) -> dict[str, Any]:
        """The settled result; raises :class:`~.batch.SettleAgain` when the final revoke was ambiguous too (another
        look-up can settle it), :class:`~.batch.Unsettled` when it was ambiguous and cannot be looked up
        (``unknown``) or for a record withdrawn before the task with ``fail_if_already_withdrawn`` (``failed``), or
        ``exc`` (the record keeps its outcome) when nothing was learnt.

        :param record: the record.
        :param exc: its error so far.
        """
        assert record.offboarding_id is not None
        ours = outcome_of(exc) == UNKNOWN  # a revoke of ours may have reached Feishu
        if record.offboarding_id in self.withdrawn:
            return self._withdrawn(record, ours=ours, by=LOOK_UP, log_id=None)
        if record.index in self.revoked_again:  # its final revoke was ambiguous and the look-up did not settle it
            raise exc
        self.revoked_again.add(record.index)
        try:
            result = self.hook.revoke_offboarding(
                record.offboarding_id, operator_id=record.operator_id, user_id_type=self.user_id_type
            )
        except FeishuError as err:
            if err.outcome_unknown:  # it may have landed: one more look-up (next round) when it can be looked up
                self.log.warning(
                    "Offboarding %s: a final revoke ended without a definite answer too: %s", record.offboarding_id, err
                )
                if record.employment_id is None:
                    raise Unsettled(err, UNKNOWN, {}) from err
                raise SettleAgain(err) from err
            self.log.warning(
                "Offboarding %s: a final revoke did not settle the outcome: %s", record.offboarding_id, err
            )
            raise exc from None
        if not result.already_withdrawn:
            self.log.info(
                "Offboarding %s: the revoke ended without a definite answer (%s); a final revoke revoked it "
                "(log id %s)",
                record.offboarding_id,
                type(exc).__name__,
                result.log_id,
            )
            return {"outcome": REVOKED, "log_id": result.log_id, "settled_by": FINAL_REVOKE}
        ours = ours or result.after_ambiguous_attempt
        return self._withdrawn(record, ours=ours, by=FINAL_REVOKE, log_id=result.log_id)

    def _withdrawn(self, record: Record, *, ours: bool, by: str, log_id: str | None) -> dict[str, Any]:
        """The result of a record found withdrawn ``by`` a look-up or a final revoke."""
        if ours:
            self.log.info(
                "Offboarding %s: the revoke ended without a definite answer; %s finds it Withdrawn: revoked",
                record.offboarding_id,
                "a look-up" if by == LOOK_UP else "a final revoke",
            )
            return {"outcome": REVOKED, "log_id": log_id, "settled_by": by}
        # Nothing of ours reached Feishu (the errors so far were definite): it was withdrawn by someone else.
        if self.fail_if_already_withdrawn:
            raise Unsettled(already_withdrawn_error(log_id), FAILED, {"settled_by": by})
        return {"outcome": ALREADY_WITHDRAWN, "log_id": log_id, "settled_by": by}


class Revoke:
    """The revoke as a batch :class:`~.batch.Operation`: send, settle (:class:`RevokeSettler`), report.

    :param fail_if_already_withdrawn: an already withdrawn record (1160202) fails instead of succeeding with
        outcome ``already_withdrawn``; a 1160202 that answers our own earlier attempt is ``revoked`` either way.
    :param log: the task's logger.
    """

    kind = "revoke"
    action = "Revoke"
    outcomes: tuple[str, ...] = (REVOKED, ALREADY_WITHDRAWN, "skipped", "conflict", FAILED, UNKNOWN, NOT_SENT)
    unknown_advice = (
        "Feishu may have applied this revoke. Look the offboarding up (hook.get_offboarding with its employment "
        "id, or the People admin console): status Withdrawn means it was revoked. Re-running the task is safe: "
        "a revoke of a withdrawn offboarding answers already_withdrawn."
    )
    verify = None  # no read-back: settling reads the status

    def __init__(self, *, fail_if_already_withdrawn: bool, log: Any) -> None:
        from airflow_provider_feishu_corehr.operators.review import RevokeReview  # at execute, not at DAG parse

        self.review = RevokeReview
        self.fail_if_already_withdrawn = fail_if_already_withdrawn
        self.log = log

    def settler(self, hook: FeishuHook, log: Any, user_id_type: str | None) -> RevokeSettler:
        """The batch's :class:`RevokeSettler`.

        :param hook: the operator's hook.
        :param log: the task's logger.
        :param user_id_type: id type of the employment ids.
        """
        return RevokeSettler(hook, log, user_id_type, fail_if_already_withdrawn=self.fail_if_already_withdrawn)

    def record_keys(self, record: Record) -> dict[str, Any]:
        """A revoke record's own XCom keys: ``status`` and ``reason`` (read by a review), ``conflict``,
        ``settled_by``.

        :param record: the record.
        """
        return dict.fromkeys(("status", "reason", "conflict", "settled_by"))

    def send(self, hook: FeishuHook, record: Record, user_id_type: str | None) -> dict[str, Any]:
        """Revoke one offboarding.

        :param hook: the operator's hook.
        :param record: the record.
        :param user_id_type: id type of its operator id.
        """
        assert record.offboarding_id is not None
        result = hook.revoke_offboarding(
            record.offboarding_id, operator_id=record.operator_id, user_id_type=user_id_type
        )
        if not result.already_withdrawn:
            self.log.debug("Revoked offboarding %s (log id %s)", record.offboarding_id, result.log_id)
            return {"outcome": REVOKED, "log_id": result.log_id}
        if result.after_ambiguous_attempt:  # 1160202 answers our own earlier attempt
            self.log.info(
                "Offboarding %s: an attempt may have reached Feishu without an answer and the retry answered "
                "already withdrawn (1160202): our revoke landed: revoked (log id %s)",
                record.offboarding_id,
                result.log_id,
            )
            return {"outcome": REVOKED, "log_id": result.log_id, "settled_by": AFTER_RETRY}
        if self.fail_if_already_withdrawn:
            raise already_withdrawn_error(result.log_id)
        self.log.debug("Offboarding %s was already withdrawn (log id %s)", record.offboarding_id, result.log_id)
        return {"outcome": ALREADY_WITHDRAWN, "log_id": result.log_id}


class RevokeOffboardingOperator(OffboardingOperator):
    """Revoke (withdraw) Feishu People offboardings: one record, or many in one task.

    Calls ``POST /open-apis/corehr/v2/offboardings/revoke`` through :class:`FeishuHook`. Revoking a record that is
    already withdrawn (Feishu code 1160202) succeeds with outcome ``already_withdrawn`` unless
    ``fail_if_already_withdrawn`` is set, so re-running a DAG, or a retry after a timeout whose first attempt went
    through, is safe. Works with dynamic task mapping: ``.partial(...).expand(offboarding_id=ids)``.

    :param offboarding_id: one offboarding id (``str``), or a list of ids (also as JSON array text, or an
        upstream ``XComArg``) to revoke them in one task. An empty list revokes nothing and succeeds. (templated)
    :param offboardings: instead of ``offboarding_id``, records ``{"offboarding_id", "employment_id"?,
        "operator_id"?}`` (or their JSON text / an ``XComArg``); the employment id lets ``plan_only`` and ``plan``
        read the current status, and settles an unknown revoke with one look-up. (templated)
    :param fail_if_already_withdrawn: treat an already withdrawn record (1160202) as a failed record instead of
        the successful outcome ``already_withdrawn``.
    :param kwargs: the shared arguments of :class:`~.batch.OffboardingOperator`: ``feishu_conn_id``,
        ``operator_id``, ``user_id_type``, ``max_workers``, ``plan_only``, ``plan`` (a plan record whose status
        moved since is not sent: outcome ``conflict``; a no-op is ``skipped``), and ``BaseOperator``'s.

    Returns (XCom ``return_value``, also pushed when the task fails) the envelope of ``docs/xcom.md`` whatever the
    input, one record per input position with outcome ``revoked``, ``already_withdrawn``, ``skipped``,
    ``conflict``, ``failed``, ``unknown`` or ``not_sent``; with ``plan_only=True`` a plan document instead
    (``docs/plan-apply.md``).
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

    def __init__(
        self,
        *,
        offboarding_id: str | Sequence[str] | None = None,
        offboardings: Any = None,
        fail_if_already_withdrawn: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.offboarding_id = offboarding_id
        self.offboardings = offboardings
        self.fail_if_already_withdrawn = fail_if_already_withdrawn
        with invalid_argument():
            self._check_arguments()
            self.check_static_records(Revoke.kind, self._records)

    def _check_arguments(self) -> None:
        self.check_arguments((self.offboarding_id, self.offboardings), flags=("fail_if_already_withdrawn",))
        if self.plan is None and self.offboardings is not None and self.offboarding_id is not None:
            raise FeishuInvalidInputError("give either offboarding_id or offboardings, not both")

    def _records(self) -> list[Record]:
        operator_id = optional_id("operator_id", self.operator_id)
        if self.offboardings is not None:
            return entry_records(self.offboardings, keys=ENTRY_KEYS, operator_id=operator_id)
        return id_records(self.offboarding_id, operator_id=operator_id)

    def execute(self, context: Context) -> dict[str, Any]:
        """Revoke the records (or make or apply a plan); see the class docstring for what is returned.

        :param context: the task's context.
        """
        with invalid_argument():
            self._check_arguments()
        operation = Revoke(fail_if_already_withdrawn=self.fail_if_already_withdrawn, log=self.log)
        return self.run_batch(context, operation, self._records)
