"""What a status means for a wait: the target and failure statuses (validation, defaults) and what one look at
an offboarding's record means against them (:class:`Outcome`), with the ids-only text that names it.

Framework-free; shared by the sensor (poke and reschedule modes) and the trigger (deferrable mode), so the three
modes decide the same way.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.validation import check_statuses

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.client.models import OffboardingRecord

#: Failure statuses used when none are given, minus any status that is also a target.
DEFAULT_FAILURE_STATUSES: tuple[str, ...] = ("Rejected", "Withdrawn")


def resolve_statuses(target_statuses: Any, failure_statuses: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return ``(targets, failures)`` as de-duplicated tuples, or raise :class:`FeishuInvalidInputError`.

    :param target_statuses: one status name or an iterable of names; at least one.
    :param failure_statuses: one status name, an iterable of names (may be empty: never fail early), or
        ``None`` for :data:`DEFAULT_FAILURE_STATUSES` minus the targets.
    """
    _check_status_type("target_statuses", target_statuses)
    if failure_statuses is not None:
        _check_status_type("failure_statuses", failure_statuses)
    targets = _unique(check_statuses("target_statuses", target_statuses))
    if not targets:
        raise FeishuInvalidInputError("target_statuses must name at least one status")
    if failure_statuses is None:
        return targets, tuple(s for s in DEFAULT_FAILURE_STATUSES if s not in targets)
    failures = _unique(check_statuses("failure_statuses", failure_statuses))
    overlap = [s for s in failures if s in targets]
    if overlap:
        raise FeishuInvalidInputError(
            f"target_statuses and failure_statuses must not overlap; both contain {', '.join(map(repr, overlap))}"
        )
    return targets, failures


def check_status_list(field: str, value: Any) -> tuple[str, ...]:
    """Return the statuses of ``field`` (one name or a list of names), or raise naming the field and the rule.

    :param field: ``target_statuses`` or ``failure_statuses``.
    :param value: the argument as given.
    """
    _check_status_type(field, value)
    return check_statuses(field, value)


def _check_status_type(field: str, value: Any) -> None:
    """Refuse what is neither a status name nor a list of names (``None``, a number, a dict), naming the field."""
    if isinstance(value, str):
        return
    if isinstance(value, list | tuple | set | frozenset) and all(isinstance(item, str) for item in value):
        return
    raise FeishuInvalidInputError(
        f"{field} must be a status name or a list of status names; got {type(value).__name__} {value!r:.80}"
    )


def _unique(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


class Outcome(StrEnum):
    """What one look at an offboarding means for the sensor."""

    NOT_FOUND = "not_found"  # no record (yet): keep waiting
    WAITING = "waiting"  # record found, status neither a target nor a failure status
    TARGET = "target"  # done: succeed with the record's summary
    FAILURE = "failure"  # failure status: end the task as failed


def classify(record: OffboardingRecord | None, targets: tuple[str, ...], failures: tuple[str, ...]) -> Outcome:
    """Classify one lookup result against the target and failure statuses."""
    if record is None:
        return Outcome.NOT_FOUND
    if record.status in targets:
        return Outcome.TARGET
    if record.status in failures:
        return Outcome.FAILURE
    return Outcome.WAITING


def describe(employment_id: str, offboarding_id: str | None) -> str:
    """Name what is watched, ids only (never personal fields), for log lines and messages."""
    if offboarding_id:
        return f"offboarding {offboarding_id} of employment {employment_id}"
    return f"the most recent offboarding of employment {employment_id}"


def failure_message(watched: str, status: str, failure_statuses: tuple[str, ...]) -> str:
    """Text of the failure raised when a failure status is reached (ids and statuses only)."""
    return f"Failure status {status} reached: {watched} (failure statuses: {', '.join(failure_statuses)})"
