"""Settling revokes that ended without a definite answer, after the batch and only while it is not interrupted.

A revoke can be asked again safely, so a record whose revoke may or may not have reached Feishu (the client's
retry budget ran out on 5xx, timeouts or resets, or the answer was lost) is settled like this:

1. When the record's employment id is known (``Job.employment_id``, set when the operator read the records
   before sending), one batched look-up (:meth:`FeishuHook.lookup_offboardings`: one search per 100 ids) for all
   of them: if the employment's most recent offboarding is this one and its status is ``Withdrawn``, it was
   revoked (withdrawn after our attempt means revoked; nobody else answered us about it).
2. Otherwise one final revoke: ``revoked`` now, or ``1160202`` (already withdrawn, after our attempt), both mean
   ``revoked``. If that fails too, the record stays ``unknown`` (or ``failed`` for an error that says nothing
   was applied), with advice.

An edit is never re-sent to settle it: a late first attempt could overwrite a newer value, so its outcome stays
``unknown`` with the advice to read the fields back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.errors import FeishuError
from airflow_provider_feishu_corehr.operators._batch import InFlight, is_permanent
from airflow_provider_feishu_corehr.operators._interrupt import RequestNotStarted

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook
    from airflow_provider_feishu_corehr.operators._plan import Job

WITHDRAWN = "Withdrawn"
REVOKED = "revoked"


def may_settle(exc: BaseException) -> bool:
    """A revoke that ended without a definite answer: in flight, or a Feishu error another try could change.

    :param exc: the record's error.
    """
    return isinstance(exc, InFlight) or (isinstance(exc, FeishuError) and not is_permanent(exc))


class RevokeSettler:
    """Settles the unsettled revokes of one batch (see the module docstring).

    :param hook: the operator's hook (its requests pass the batch's gate).
    :param log: the task's logger.
    :param user_id_type: id type of the employment ids (``None`` = the connection's default).
    """

    def __init__(self, hook: FeishuHook, log: Any, user_id_type: str | None) -> None:
        self.hook = hook
        self.log = log
        self.user_id_type = user_id_type
        self.withdrawn: set[str] = set()

    def look_up(self, jobs: Sequence[Job]) -> None:
        """One batched look-up of the records whose employment id is known; remembers the withdrawn ones.

        :param jobs: the records to settle.
        """
        wanted: dict[str, str] = {
            job.employment_id: job.offboarding_id for job in jobs if job.employment_id and job.offboarding_id
        }
        if not wanted:
            return
        try:
            found = self.hook.lookup_offboardings(list(wanted), user_id_type=self.user_id_type)
        except (FeishuError, RequestNotStarted) as err:
            self.log.warning("Looking up %d offboarding(s) to settle their revoke failed: %s", len(wanted), err)
            return
        for employment_id, record in found.items():
            if record.offboarding_id == wanted.get(employment_id) and record.status == WITHDRAWN:
                self.withdrawn.add(record.offboarding_id)

    def settle(self, job: Job, exc: BaseException, *, operator_id: str | None) -> dict[str, Any]:
        """The settled outcome, or raise ``exc`` (the record keeps its outcome) when it cannot be settled.

        :param job: the record.
        :param exc: its error so far.
        :param operator_id: the operator of the final revoke.
        """
        assert job.offboarding_id is not None
        if job.offboarding_id in self.withdrawn:
            self.log.info(
                "Offboarding %s: the revoke ended without a definite answer; a look-up finds it Withdrawn: revoked",
                job.offboarding_id,
            )
            return {"outcome": REVOKED, "log_id": None}
        try:
            result = self.hook.revoke_offboarding(
                job.offboarding_id, operator_id=operator_id, user_id_type=self.user_id_type
            )
        except FeishuError as probe_error:
            self.log.warning(
                "Offboarding %s: a final revoke did not settle the outcome: %s", job.offboarding_id, probe_error
            )
            raise exc from None
        self.log.info(
            "Offboarding %s: the revoke ended without a definite answer (%s); a final revoke answered %s: revoked "
            "(log id %s)",
            job.offboarding_id,
            type(exc).__name__,
            "already withdrawn" if result.already_withdrawn else "revoked",
            result.log_id,
        )
        return {"outcome": REVOKED, "log_id": result.log_id}
