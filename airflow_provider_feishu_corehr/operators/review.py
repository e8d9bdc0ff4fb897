"""The review against current values: what each record holds now, what is worth sending, and the read-back.

An operator reviews before it writes for ``plan_only``, ``plan`` and edit ``only_changed`` (``docs/plan-apply.md``
has the rules, conflicts included). A review lives for one task execution: ``prepare`` reads the current state (one
search per up to 100 employment ids) and returns the records to send, conflicts refused with
:class:`PlanConflictError`; ``skip`` gives the result of a record that needs no write; ``finish`` adds what was read
to the XCom records. :func:`verify_edits` reads edited records back (``verify=True``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.current import read_current, unknown
from airflow_provider_feishu_corehr.client.errors import FeishuError, FeishuInvalidInputError
from airflow_provider_feishu_corehr.operators.changes import (
    MISMATCH,
    UNCHANGED,
    UNKNOWN,
    VERIFIED,
    change_row,
    displays,
    reading_of,
    verification,
    verify_row,
)
from airflow_provider_feishu_corehr.operators.gate import RequestNotStarted
from airflow_provider_feishu_corehr.operators.plan import EDIT, SKIP, edit_plan, revoke_plan

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from airflow_provider_feishu_corehr.client.current import CurrentOffboarding, Searcher
    from airflow_provider_feishu_corehr.operators.records import Record

log = logging.getLogger(__name__)
CONFLICT = "conflict"
WITHDRAWN = "Withdrawn"
# Why a revoke is not sent: the record is already withdrawn, or rejected (nothing to withdraw: Feishu refuses).
SKIP_REASONS = {WITHDRAWN: "already_withdrawn", "Rejected": "rejected"}


class PlanConflictError(FeishuInvalidInputError):
    """A record of a plan whose current state moved since the plan was made; it was not written (make a new plan).

    :param msg: which record and which fields or status moved (names only, never values).
    :param moved: the rows that moved: the record's ``conflict`` in XCom (``docs/xcom.md``).
    """

    def __init__(self, msg: str, *, moved: list[dict[str, Any]]) -> None:
        super().__init__(msg, advice="make a new plan from the current state and have it approved again")
        self.moved = moved


class UnreadRecordsError(FeishuInvalidInputError):
    """Records an edit was asked to read first (``only_changed``, ``plan_only``, ``plan``) that cannot be read:
    without ``employment_id`` the search cannot find them. Raised before any request unless ``write_unread=True``.

    :param records: the records without ``employment_id``.
    :param asked_by: the argument that asked for the read (``only_changed``, ``plan_only`` or ``plan``).
    """

    _LISTED = 5

    def __init__(self, records: Sequence[Record], *, asked_by: str) -> None:
        shown = [f"record {r.index} (offboarding {r.offboarding_id})" for r in records[: self._LISTED]]
        more = len(records) - len(shown)
        listed = ", ".join(shown) + (f" and {more} more" if more > 0 else "")
        super().__init__(
            f"{asked_by} reads each record's current values first, but {len(records)} record(s) have no "
            f"employment_id and cannot be read: {listed}",
            advice=(
                "give each record its employment_id (the search finds an offboarding by its employment), or set "
                "write_unread=True to write these records without reading them: every field of theirs is sent"
            ),
        )
        self.indexes = [r.index for r in records]


def _conflict(record: Record, moved: list[dict[str, Any]]) -> Record:
    names = ", ".join(repr(m["field_name"]) for m in moved)
    error = PlanConflictError(
        f"record {record.index}: offboarding {record.offboarding_id}: {names} changed since the plan was made (or "
        "can no longer be read); not written",
        moved=moved,
    )
    return replace(record, refused=error)


def _not_found(record: Record) -> Record:
    error = FeishuInvalidInputError(
        f"record {record.index}: not found: employment {record.employment_id} has no offboarding "
        f"{record.offboarding_id} (the search of that employment did not return it); not written",
        advice="check both ids: the offboarding id may be wrong, or belong to another employment",
    )
    return replace(record, refused=error)


def _read(searcher: Searcher, user_id_type: str | None, records: Sequence[Record]) -> dict[str, CurrentOffboarding]:
    """The current state of every record that can be read, by offboarding id (one search per 100 employments)."""
    ids = [r.employment_id for r in records if r.refused is None and r.employment_id]
    return read_current(searcher, ids, user_id_type=user_id_type) if ids else {}


@dataclass
class _Reading:
    """What both reviews share: the arguments, and the current state read by ``prepare``.

    :param searcher: the hook (its batched search).
    :param user_id_type: id type of the employment ids.
    :param planned: the plan's records by index when applying a plan.
    """

    searcher: Searcher
    user_id_type: str | None
    planned: Mapping[int, Mapping[str, Any]] | None = None
    current: dict[str, CurrentOffboarding] = field(default_factory=dict)

    def status(self, record: Record) -> str | None:
        """The current status of ``record``, ``None`` when it was not read."""
        found = self.current.get(record.offboarding_id or "") if record.employment_id else None
        return found.status if found else None

    def found(self, record: Record) -> bool:
        """Whether the search found ``record``; ``True`` when it could not look (no ``employment_id``)."""
        return not record.employment_id or (record.offboarding_id or "") in self.current


@dataclass
class EditReview(_Reading):
    """Before-values of one edit execution: only fields that differ (unknown ones included) are sent; records
    without any are ``unchanged`` and not sent. Parameters: :class:`_Reading`.
    """

    changes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    unchanged: set[int] = field(default_factory=set)
    options: dict[tuple[str, str], str] | None = None  # option display names the search showed (changes.displays)
    write_unread: bool | None = None
    asked_by: str = "only_changed"

    def prepare(self, records: list[Record]) -> list[Record]:
        """Read the current values and return the records to send (fields trimmed, conflicts refused).

        Records without ``employment_id`` cannot be read: with ``write_unread`` ``False`` (the user asked for the
        read: ``asked_by``) they fail the task with :class:`UnreadRecordsError` before any request; with ``True``
        (the user opted in) or ``None`` (a retried try reads on its own) they are written whole, their changes
        say ``no_employment_id``, and one log line counts them.

        :param records: the task's records.
        """
        unread = [r for r in records if r.refused is None and not r.employment_id]
        if unread and self.write_unread is False:
            raise UnreadRecordsError(unread, asked_by=self.asked_by)
        if unread:
            opted = " (write_unread=True)" if self.write_unread else ""
            log.warning(
                "Edit: %d record(s) have no employment_id and cannot be read first%s: every field of theirs is "
                "written; their changes say no_employment_id",
                len(unread),
                opted,
            )
        self.current = _read(self.searcher, self.user_id_type, records)
        return [r if r.refused is not None else self._prepare_one(r) for r in records]

    def _prepare_one(self, record: Record) -> Record:
        if self.planned is None and not self.found(record):
            return _not_found(record)
        if self.options is None:
            self.options = displays(self.current)
        options = self.options
        rows = [
            change_row(
                f,
                reading_of(self.current, record.offboarding_id, record.employment_id, f.field_name),
                options.get((f.field_name, f.value)),
            )
            for f in record.update
        ]
        self.changes[record.index] = rows
        if self.planned is not None:
            planned = self.planned.get(record.index, {})
            moved = []
            status = self.status(record)
            if planned.get("status") and status != planned["status"] and (status or not self.found(record)):
                moved.append({"field_name": "status", "planned": planned["status"], "current": status})
            now = {row["field_name"]: row for row in rows}
            for row in planned.get("changes") or ():
                before, current = row.get("before"), now.get(row["field_name"])
                if before is None or current is None:
                    continue  # unknown when planned: nothing to compare with; written as planned
                if current["before"] is None or (current["before"] != before and current["change"] != UNCHANGED):
                    moved.append({"field_name": row["field_name"], "planned": before, "current": current["before"]})
            if moved:
                return _conflict(record, moved)
        keep = {row["field_name"] for row in rows if row["change"] != UNCHANGED}  # changed, or unknown
        if self.planned is not None:  # a plan writes only its edit records, and of those the fields it lists
            planned = self.planned.get(record.index, {})
            listed = planned.get("changes") or () if planned.get("action") == EDIT else ()
            keep &= {row.get("field_name") for row in listed if row.get("change") != UNCHANGED}
        update = [f for f in record.update if f.field_name in keep]
        if not update:
            self.unchanged.add(record.index)
        return replace(record, update=update)

    def skip(self, record: Record) -> dict[str, Any] | None:
        """The result of a prepared ``record`` that needs no write, else ``None``."""
        return {"outcome": "unchanged", "fields": [], "log_id": None} if record.index in self.unchanged else None

    def before_values(self) -> dict[int, dict[str, str | None]]:
        """What each record's fields held when read, by record index (``None``: not readable); settles an edit
        whose outcome is unknown (:mod:`.edit_settle`)."""
        return {index: {row["field_name"]: row["before"] for row in rows} for index, rows in self.changes.items()}

    def finish(self, records: Sequence[Record], reported: list[dict[str, Any]]) -> None:
        """Add ``status``, ``changes`` (and ``conflict``) to the XCom records ``reported`` of the prepared
        ``records`` (same order), in place."""
        for record, report in zip(records, reported, strict=True):
            report.update(status=self.status(record), changes=self.changes.get(record.index))
            if isinstance(record.refused, PlanConflictError):
                report.update(outcome=CONFLICT, conflict=record.refused.moved, field_names=[])

    def plan(self, records: list[Record], user_id_type: str | None) -> dict[str, Any]:
        """The edit plan of the prepared ``records`` (:func:`~.plan.edit_plan`)."""
        return edit_plan(records, self, user_id_type)


@dataclass
class RevokeReview(_Reading):
    """Current statuses of one revoke execution: which records need no revoke, and the check of a plan.
    Parameters: :class:`_Reading`.
    """

    skipped: dict[int, str] = field(default_factory=dict)

    def prepare(self, records: list[Record]) -> list[Record]:
        """Read the current statuses and return the records (conflicts refused); no-ops are remembered.

        :param records: the task's records.
        """
        self.current = _read(self.searcher, self.user_id_type, records)
        return [r if r.refused is not None else self._decide(r) for r in records]

    def _decide(self, record: Record) -> Record:
        if self.planned is None and not self.found(record):
            return _not_found(record)
        status = self.status(record)
        planned = (self.planned or {}).get(record.index, {})
        before = planned.get("status")
        if status == WITHDRAWN:
            self.skipped[record.index] = SKIP_REASONS[WITHDRAWN]
        elif self.planned is not None and before and status != before:
            return _conflict(record, [{"field_name": "status", "planned": before, "current": status}])
        elif status in SKIP_REASONS:
            self.skipped[record.index] = SKIP_REASONS[status]
        elif self.planned is not None and planned.get("action") == SKIP:  # a plan revokes only its revoke records
            return _conflict(record, [{"field_name": "status", "planned": before, "current": status}])
        return record

    def skip(self, record: Record) -> dict[str, Any] | None:
        """The result of a prepared ``record`` that needs no revoke, else ``None``."""
        return {"outcome": "skipped", "log_id": None} if record.index in self.skipped else None

    def finish(self, records: Sequence[Record], reported: list[dict[str, Any]]) -> None:
        """Add ``status`` and ``reason`` (and ``conflict``) to the XCom records ``reported`` of the prepared
        ``records`` (same order), in place."""
        for record, report in zip(records, reported, strict=True):
            report.update(status=self.status(record), reason=self.skipped.get(record.index))
            if isinstance(record.refused, PlanConflictError):
                report.update(outcome=CONFLICT, conflict=record.refused.moved)

    def plan(self, records: list[Record], user_id_type: str | None) -> dict[str, Any]:
        """The revoke plan of the prepared ``records`` (:func:`~.plan.revoke_plan`)."""
        return revoke_plan(records, self, user_id_type)


def verify_edits(
    searcher: Searcher, user_id_type: str | None, records: Sequence[Record], reported: list[dict[str, Any]]
) -> dict[str, int]:
    """Read back every record whose outcome is ``edited`` or ``unknown`` (one search per up to 100 employment ids;
    a record without ``employment_id`` is ``unknown``); add ``verify`` rows, in place.

    :param searcher: the hook.
    :param user_id_type: id type of the employment ids.
    :param records: the records that were run, in the order of ``reported``.
    :param reported: their XCom records.
    :return: how many records are ``verified``, ``mismatch`` and ``unknown``.
    """
    targets = [(r, x) for r, x in zip(records, reported, strict=True) if x["outcome"] in ("edited", UNKNOWN)]
    after: dict[str, CurrentOffboarding] | None
    try:
        after = _read(searcher, user_id_type, [r for r, _ in targets])
    except (FeishuError, RequestNotStarted) as err:  # the writes happened: report them, verification unknown
        log.warning("Verification could not read the records back: %s", err)
        after = None
    for record, report in targets:
        rows = [
            verify_row(
                f,
                unknown("read_failed")
                if after is None
                else reading_of(after, record.offboarding_id, record.employment_id, f.field_name),
            )
            for f in record.update
        ]
        report.update(verify=rows, verification=verification(rows))
    return {state: sum(1 for x in reported if x["verification"] == state) for state in (VERIFIED, MISMATCH, UNKNOWN)}
