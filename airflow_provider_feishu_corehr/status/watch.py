"""What one offboarding sensor or trigger watches (:class:`Watch`: one employment, optionally one of its
offboardings, or a list with ``match``), what a look means for it, and how it is logged and reported."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.api import pick_offboarding
from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.validation import optional_offboarding_id, optional_user_id_type, require_id
from airflow_provider_feishu_corehr.status.looks import next_look_text
from airflow_provider_feishu_corehr.status.statuses import (
    Outcome,
    classify,
    describe,
    resolve_statuses,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from airflow_provider_feishu_corehr.client.models import OffboardingRecord

MATCH_MODES = ("all", "any")
"""``all``: done when every employment has a target status; ``any``: done when one has."""

_EMPTY_SUMMARY = ("offboarding_id", "status", "offboarding_date", "expected_offboarding_date", "checklist_status")


def _id_text(value: Any) -> Any:
    """Ids are digit strings; native rendering (``render_template_as_native_obj``) turns them into ints."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _employment_ids(value: Any) -> tuple[str, ...]:
    """The ids of ``employment_ids`` (a non-empty list, no duplicates), or raise naming the field."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise FeishuInvalidInputError(
            f"employment_ids must be a list of employment ids; got {type(value).__name__} {value!r:.80}"
        )
    if not value:
        raise FeishuInvalidInputError("employment_ids must name at least one employment")
    ids = tuple(require_id(f"employment_ids[{i}]", _id_text(item)) for i, item in enumerate(list(value)))
    first: dict[str, int] = {}
    for index, eid in enumerate(ids):
        if eid in first:
            raise FeishuInvalidInputError(
                f"employment_ids[{index}] repeats {eid!r} (first at employment_ids[{first[eid]}]); "
                "list each employment once"
            )
        first[eid] = index
    return ids


def group_by_employment(records: Iterable[OffboardingRecord]) -> dict[str, list[OffboardingRecord]]:
    """Search results grouped by employment id (records without one are dropped: they match no watch).

    :param records: records of one or more searches.
    """
    grouped: dict[str, list[OffboardingRecord]] = {}
    for record in records:
        if record.employment_id:
            grouped.setdefault(record.employment_id, []).append(record)
    return grouped


@dataclass(frozen=True)
class Decision:
    """What one look means: the outcome, the record per employment, and the failure text if any.

    :param outcome: ``TARGET`` (done), ``FAILURE`` or ``WAITING``.
    :param records: the record per watched employment (``None``: none yet).
    :param message: the failure text (ids and statuses only), else empty.
    """

    outcome: Outcome
    records: dict[str, OffboardingRecord | None]
    message: str = ""


@dataclass(frozen=True)
class Watch:
    """A validated watch.

    :param employment_ids: the employments, in the order given (one for a single-employment watch).
    :param offboarding_id: one specific offboarding (single-employment watch only), else ``None``.
    :param targets: target statuses.
    :param failures: failure statuses.
    :param user_id_type: id type of the employment ids; ``None`` = the connection's default.
    :param match: ``all`` or ``any`` (meaningful for lists).
    :param many: the watch was given as a list (``employment_ids``): its XCom is a list of records.
    """

    employment_ids: tuple[str, ...]
    offboarding_id: str | None
    targets: tuple[str, ...]
    failures: tuple[str, ...]
    user_id_type: str | None
    match: str = "all"
    many: bool = False

    @property
    def name(self) -> str:
        """What is watched, ids only, for log lines and messages."""
        if not self.many:
            return describe(self.employment_ids[0], self.offboarding_id)
        return f"the most recent offboardings of {len(self.employment_ids)} employments ({self.match} must match)"

    def pick(self, grouped: Mapping[str, Sequence[OffboardingRecord]]) -> dict[str, OffboardingRecord | None]:
        """The record each employment stands at: the wanted offboarding, else its most recent one.

        :param grouped: search results by employment id (:func:`group_by_employment`).
        """
        return {eid: pick_offboarding(grouped.get(eid, ()), self.offboarding_id) for eid in self.employment_ids}

    def decide(self, records: Mapping[str, OffboardingRecord | None]) -> Decision:
        """Apply the target and failure statuses to every record, then ``match``.

        ``all``: a failure status on any record fails the wait (that employment can no longer reach a target);
        done when every record has a target status. ``any``: done when one record has a target status; failed
        when every record has a failure status.

        :param records: the record per employment (``None``: none yet).
        """
        picked = {eid: records.get(eid) for eid in self.employment_ids}
        outcomes = {eid: classify(rec, self.targets, self.failures) for eid, rec in picked.items()}
        failed = [eid for eid, o in outcomes.items() if o is Outcome.FAILURE]
        reached = [eid for eid, o in outcomes.items() if o is Outcome.TARGET]
        if (self.match == "all" and failed) or (self.match == "any" and len(failed) == len(outcomes)):
            first = picked[failed[0]]
            assert first is not None  # a failure outcome has a record
            where = self.name if not self.many else describe(failed[0], None)
            message = f"Failure status {first.status} reached: {where} (failure statuses: {', '.join(self.failures)})"
            if self.many:
                message += f"; {len(failed)} of {len(outcomes)} employments have a failure status"
            return Decision(Outcome.FAILURE, picked, message)
        if (self.match == "all" and len(reached) == len(outcomes)) or (self.match == "any" and reached):
            return Decision(Outcome.TARGET, picked)
        return Decision(Outcome.WAITING, picked)

    def judge(self, records: Mapping[str, OffboardingRecord | None], log: Any, next_look_in: float) -> Decision:
        """Decide one look and log it at INFO: the target reached, or what the wait goes on for and when it next
        looks. A failure is left to the caller, which raises or sends it.

        :param records: the record per employment (``None``: none yet).
        :param log: the logger of the task or trigger.
        :param next_look_in: seconds until the next look.
        """
        decision = self.decide(records)
        if decision.outcome is Outcome.TARGET:
            log.info("%s", self._reached_text(decision.records))
        elif decision.outcome is not Outcome.FAILURE:
            self._log_waiting(log, decision.records, next_look_in)
        return decision

    def arguments(self) -> dict[str, Any]:
        """The watch as the trigger's keyword arguments (JSON values). A single employment keeps the form earlier
        releases wrote (``employment_id``, ``offboarding_id``); a list has ``employment_ids`` and ``match``."""
        if self.many:
            ids: dict[str, Any] = {"employment_ids": list(self.employment_ids), "match": self.match}
        else:
            ids = {"employment_id": self.employment_ids[0], "offboarding_id": self.offboarding_id}
        statuses = {"target_statuses": list(self.targets), "failure_statuses": list(self.failures)}
        return {**ids, **statuses, "user_id_type": self.user_id_type}

    def xcom(self, records: Mapping[str, OffboardingRecord | None]) -> Any:
        """The XCom of a finished watch: one record summary, or for a list a summary per employment in order
        (an employment without a record yet has ``offboarding_id`` and ``status`` ``None``).

        :param records: the record per employment.
        """
        summaries = [_summary(eid, records.get(eid)) for eid in self.employment_ids]
        return summaries if self.many else summaries[0]

    def _reached_text(self, records: Mapping[str, OffboardingRecord | None]) -> str:
        if not self.many:
            record = records.get(self.employment_ids[0])
            return f"Target status {record.status if record else None} reached: {self.name}."
        ids = self.employment_ids
        reached = sum(classify(records.get(eid), self.targets, ()) is Outcome.TARGET for eid in ids)
        return f"Target status reached by {reached} of {len(ids)} employments ({self.match} must match)."

    def _log_waiting(self, log: Any, records: Mapping[str, OffboardingRecord | None], next_look_in: float) -> None:
        when = next_look_text(next_look_in)
        if self.many:
            log.info("Still waiting for %s: %s; %s.", self.name, self._progress(records), when)
            return
        record, targets = records.get(self.employment_ids[0]), " or ".join(self.targets)
        late = "(a new record may not be visible at once)"
        now = f"{self.name} is {record.status}" if record else f"no record yet for {self.name} {late}"
        log.info("Still waiting for %s: %s; %s.", targets, now, when)

    def _progress(self, records: Mapping[str, OffboardingRecord | None]) -> str:
        """How many of a list reached a target, and a few that did not."""
        waiting = [
            eid for eid in self.employment_ids if classify(records.get(eid), self.targets, ()) is not Outcome.TARGET
        ]
        shown = ", ".join(f"{eid}: {r.status if (r := records.get(eid)) else 'no record yet'}" for eid in waiting[:3])
        more = f", and {len(waiting) - 3} more" if len(waiting) > 3 else ""
        done = len(self.employment_ids) - len(waiting)
        return f"{done} of {len(self.employment_ids)} reached; waiting for {shown}{more}"


def _summary(employment_id: str, record: OffboardingRecord | None) -> dict[str, Any]:
    """The record's summary, or the empty summary of an employment without one."""
    return record.summary() if record is not None else {"employment_id": employment_id, **dict.fromkeys(_EMPTY_SUMMARY)}


def check_watch(
    *,
    employment_id: Any,
    employment_ids: Any,
    offboarding_id: Any,
    target_statuses: Any,
    failure_statuses: Any,
    user_id_type: Any,
    match: Any,
    known: Callable[[Any], bool] = lambda _value: True,
) -> Watch | None:
    """The validated watch of a sensor or trigger, or ``None`` while a value is not final yet.

    Exactly one of ``employment_id`` and ``employment_ids``; ``offboarding_id`` only with ``employment_id``. A
    value that ``known`` says is not final (templated: checked once rendered) is not checked.

    :param known: whether a value is final (the sensor's ``is_static`` when its task is built).
    """
    if employment_id is None and employment_ids is None:
        raise FeishuInvalidInputError("give employment_id (one employment) or employment_ids (a list)")
    if employment_id is not None and employment_ids is not None:
        raise FeishuInvalidInputError("give only one of employment_id and employment_ids")
    statuses = resolve_statuses(target_statuses, failure_statuses, known)
    if match not in MATCH_MODES:
        raise FeishuInvalidInputError(f"match must be one of {', '.join(map(repr, MATCH_MODES))}; got {match!r:.80}")
    id_type = optional_user_id_type(user_id_type) if known(user_id_type) else None
    oid = optional_offboarding_id("offboarding_id", _id_text(offboarding_id)) if known(offboarding_id) else None
    ids: tuple[str, ...] | None
    if employment_ids is None:
        ids = (require_id("employment_id", _id_text(employment_id)),) if known(employment_id) else None
    elif oid is not None:
        raise FeishuInvalidInputError(
            "offboarding_id can only be given with employment_id; employment_ids watches each one's most recent"
        )
    else:
        ids = _employment_ids(employment_ids) if known(employment_ids) else None
    if ids is None or statuses is None or not (known(user_id_type) and known(offboarding_id)):
        return None
    return Watch(ids, oid, *statuses, id_type, str(match), many=employment_ids is not None)
