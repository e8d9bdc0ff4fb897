"""Read before write: what each record holds now, what will be sent, and the optimistic check of a plan's apply.

The operators call in here when ``only_changed``, ``dry_run``, ``verify`` or ``plan`` is set (see
``docs/plan-apply.md``). :class:`EditReview` and :class:`RevokeReview` live for one task execution: ``prepare``
reads the current state of every record that has an ``employment_id`` (one search per up to 100 ids,
:func:`..client.current.read_current`) and returns the jobs to send; ``finish`` adds the audit to the XCom
records. A record whose current state moved since its plan was made is refused with :class:`PlanConflictError`
(outcome ``conflict``), except when it already holds what the plan wanted (a retried apply), which is not
written again.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_feishu_corehr.client.current import read_current, unknown
from airflow_provider_feishu_corehr.client.errors import FeishuError, FeishuInvalidInputError
from airflow_provider_feishu_corehr.operators._audit import (
    MISMATCH,
    UNCHANGED,
    UNKNOWN,
    VERIFIED,
    change_row,
    reading_of,
    to_write,
    verification,
    verify_row,
)
from airflow_provider_feishu_corehr.operators._interrupt import RequestNotStarted

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from airflow_provider_feishu_corehr.client.current import CurrentOffboarding, Searcher
    from airflow_provider_feishu_corehr.operators._base import Job

log = logging.getLogger(__name__)
READ_FAILED = "read_failed"
UNCHANGED_OUTCOME = "unchanged"
SKIPPED = "skipped"
CONFLICT = "conflict"
WITHDRAWN = "Withdrawn"
REJECTED = "Rejected"
# Why a revoke is not sent: the record is already withdrawn, or rejected (nothing to withdraw: Feishu refuses).
SKIP_REASONS = {WITHDRAWN: "already_withdrawn", REJECTED: "rejected"}
WRITTEN = frozenset({"edited", "unknown"})


class PlanConflictError(FeishuInvalidInputError):
    """A record of a plan whose current state moved since the plan was made; it was not written (make a new plan).

    :param msg: which record and which fields or status moved (names only, never values).
    :param moved: the rows ``{"field_name", "planned", "current"}`` that moved (``field_name`` ``"status"`` for
        the status).
    """

    def __init__(self, msg: str, *, moved: list[dict[str, Any]]) -> None:
        super().__init__(msg, advice="make a new plan from the current state and have it approved again")
        self.moved = moved


def _conflicts(planned: Mapping[str, Any], rows: list[dict[str, Any]], status: str | None) -> list[dict[str, Any]]:
    """Planned rows whose known ``before`` is neither the current value nor the planned ``after``."""
    moved: list[dict[str, Any]] = []
    if planned.get("status") and status and status != planned["status"]:
        moved.append({"field_name": "status", "planned": planned["status"], "current": status})
    now = {row["field_name"]: row for row in rows}
    for row in planned.get("changes") or ():
        before = row.get("before")
        current = now.get(row["field_name"])
        if before is None or current is None:
            continue  # unknown when planned: nothing to compare with; written as planned
        if current["before"] is None or (current["before"] != before and current["change"] != UNCHANGED):
            moved.append({"field_name": row["field_name"], "planned": before, "current": current["before"]})
    return moved


def _conflict_error(job: Job, moved: list[dict[str, Any]]) -> PlanConflictError:
    names = ", ".join(repr(m["field_name"]) for m in moved)
    return PlanConflictError(
        f"record {job.index}: offboarding {job.offboarding_id}: {names} changed since the plan was made (or can no "
        "longer be read); not written",
        moved=moved,
    )


class EditReview:
    """Before-values, what to send, and the audit of one edit execution: only fields that differ (unknown ones
    included) are sent; records without any are not sent.

    :param searcher: the hook (its batched search).
    :param user_id_type: id type of the employment ids.
    :param planned: the plan's records by index when applying a plan.
    """

    outcomes = (UNCHANGED_OUTCOME, CONFLICT)

    def __init__(
        self, searcher: Searcher, user_id_type: str | None, *, planned: Mapping[int, Mapping[str, Any]] | None = None
    ) -> None:
        self.searcher = searcher
        self.user_id_type = user_id_type
        self.planned = planned
        self.current: dict[str, CurrentOffboarding] = {}
        self.changes: dict[int, list[dict[str, Any]]] = {}
        self.unchanged: set[int] = set()

    def _read(self, jobs: list[Job]) -> dict[str, CurrentOffboarding]:
        ids = [job.employment_id for job in jobs if job.refused is None and job.employment_id]
        return read_current(self.searcher, ids, user_id_type=self.user_id_type) if ids else {}

    def status(self, job: Job) -> str | None:
        """The record's current status, ``None`` when it was not read."""
        found = self.current.get(job.offboarding_id or "") if job.employment_id else None
        return found.status if found else None

    def prepare(self, jobs: list[Job]) -> list[Job]:
        """Read the current values and return the jobs to send (fields trimmed, conflicts refused)."""
        self.current = self._read(jobs)
        return [job if job.refused is not None else self._prepare_one(job) for job in jobs]

    def _prepare_one(self, job: Job) -> Job:
        rows = [
            change_row(f, reading_of(self.current, job.offboarding_id, job.employment_id, f.field_name))
            for f in job.update
        ]
        self.changes[job.index] = rows
        if self.planned is not None:
            moved = _conflicts(self.planned.get(job.index, {}), rows, self.status(job))
            if moved:
                return replace(job, refused=_conflict_error(job, moved))
        keep = to_write(rows)
        update = [f for f in job.update if f.field_name in keep]
        if not update:
            self.unchanged.add(job.index)
        return replace(job, update=update, field_names=[f.field_name for f in update])

    def finish(self, jobs: list[Job], records: list[dict[str, Any]]) -> None:
        """Add ``employment_id``, ``status``, ``changes`` (and ``conflict``) to each XCom record, in place."""
        for job, record in zip(jobs, records, strict=True):
            record["employment_id"] = job.employment_id
            record["status"] = self.status(job)
            record["changes"] = self.changes.get(job.index)
            if job.index in self.unchanged and record.get("error") is None:
                record.update(outcome=UNCHANGED_OUTCOME, fields=[], log_id=None)
            if isinstance(job.refused, PlanConflictError):
                record.update(outcome=CONFLICT, conflict=job.refused.moved, field_names=[])


def verify_records(
    searcher: Searcher, user_id_type: str | None, jobs: list[Job], records: list[dict[str, Any]]
) -> None:
    """Read back every record whose outcome is ``edited`` or ``unknown`` and add ``verify`` rows, in place.

    One search per up to 100 employment ids; records without an ``employment_id`` are ``unknown``.

    :param searcher: the hook.
    :param user_id_type: id type of the employment ids.
    :param jobs: the jobs that were run, in the order of ``records``.
    :param records: the XCom records.
    """
    targets = [(job, record) for job, record in zip(jobs, records, strict=True) if record["outcome"] in WRITTEN]
    ids = [job.employment_id for job, _ in targets if job.employment_id]
    after: dict[str, CurrentOffboarding] | None = {}
    try:
        after = read_current(searcher, ids, user_id_type=user_id_type) if ids else {}
    except (FeishuError, RequestNotStarted) as err:  # the writes happened: report them, verification unknown
        log.warning("Verification could not read the records back: %s", err)
        after = None
    for record in records:
        record["verify"] = None
        record["verification"] = None
    for job, record in targets:
        rows = [
            verify_row(
                f,
                unknown(READ_FAILED)
                if after is None
                else reading_of(after, job.offboarding_id, job.employment_id, f.field_name),
            )
            for f in job.update
        ]
        record["verify"] = rows
        record["verification"] = verification(rows)


def check_verified(value: dict[str, Any], action: str, push: Callable[[], None]) -> dict[str, Any]:
    """Fail the task (after ``push``) when a record's read-back did not match what was written.

    :param value: the XCom value (one record, or a batch with ``records``).
    :param action: ``"Edit"``, for the message.
    :param push: pushes ``value`` to XCom before the task fails.
    """
    records: list[dict[str, Any]] = value.get("records", [value])
    if not any("verification" in record for record in records):
        return value
    if "records" in value:
        value["verification"] = {
            state: sum(1 for r in records if r.get("verification") == state) for state in (VERIFIED, MISMATCH, UNKNOWN)
        }
    mismatched = [r for r in records if r.get("verification") == MISMATCH]
    if mismatched:
        push()
        listed = "; ".join(
            f"offboarding {r['offboarding_id']}: "
            + ", ".join(row["field_name"] for row in r["verify"] if row["verify"] == MISMATCH)
            for r in mismatched[:10]
        )
        raise AirflowException(
            f"{action}: {len(mismatched)} record(s) read back with other values than written (fields: {listed}); "
            "every record's verification is in the XCom return_value"
        )
    return value


class RevokeReview:
    """Current statuses of one revoke execution: which records are no-ops, and the optimistic check of a plan.

    :param searcher: the hook (its batched search).
    :param user_id_type: id type of the employment ids.
    :param planned: the plan's records by index when applying a plan.
    """

    outcomes = (SKIPPED, CONFLICT)

    def __init__(
        self, searcher: Searcher, user_id_type: str | None, *, planned: Mapping[int, Mapping[str, Any]] | None = None
    ) -> None:
        self.searcher = searcher
        self.user_id_type = user_id_type
        self.planned = planned
        self.statuses: dict[int, str | None] = {}
        self.skipped: dict[int, str] = {}

    def prepare(self, jobs: list[Job]) -> list[Job]:
        """Read the current statuses and return the jobs (conflicts refused); no-ops are remembered in
        :attr:`skipped`."""
        ids = [job.employment_id for job in jobs if job.refused is None and job.employment_id]
        current = read_current(self.searcher, ids, user_id_type=self.user_id_type) if ids else {}
        prepared = []
        for job in jobs:
            found = current.get(job.offboarding_id or "") if job.employment_id else None
            status = found.status if found else None
            self.statuses[job.index] = status
            if job.refused is None:
                job = self._decide(job, status)
            prepared.append(job)
        return prepared

    def _decide(self, job: Job, status: str | None) -> Job:
        planned = (self.planned or {}).get(job.index, {})
        before = planned.get("status")
        if status == WITHDRAWN:
            self.skipped[job.index] = SKIP_REASONS[WITHDRAWN]
        elif self.planned is not None and before and status != before:
            moved = [{"field_name": "status", "planned": before, "current": status}]
            return replace(job, refused=_conflict_error(job, moved))
        elif status in SKIP_REASONS:
            self.skipped[job.index] = SKIP_REASONS[status]
        return job

    def finish(self, jobs: list[Job], records: list[dict[str, Any]]) -> None:
        """Add ``employment_id``, ``status`` and ``reason`` to each XCom record; no-ops become ``skipped``."""
        for job, record in zip(jobs, records, strict=True):
            record["employment_id"] = job.employment_id
            record["status"] = self.statuses.get(job.index)
            record["reason"] = self.skipped.get(job.index)
            if job.index in self.skipped and record.get("error") is None:
                record.update(outcome=SKIPPED, log_id=None)
            if isinstance(job.refused, PlanConflictError):
                record["outcome"] = CONFLICT
                record["conflict"] = job.refused.moved
