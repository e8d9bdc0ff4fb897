"""What a status means for a wait: the target and failure statuses, and what one record means against them
(:class:`Outcome`), with the ids-only text that names it."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.validation import check_statuses

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_feishu_corehr.client.models import OffboardingRecord

#: Failure statuses used when none are given, minus any status that is also a target.
DEFAULT_FAILURE_STATUSES: tuple[str, ...] = ("Rejected", "Withdrawn")


def resolve_statuses(
    target_statuses: Any, failure_statuses: Any, known: Callable[[Any], bool] = lambda _value: True
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """Return ``(targets, failures)`` as de-duplicated tuples, or raise :class:`FeishuInvalidInputError`; ``None``
    while one of them is not final yet (then only the other one is checked).

    :param target_statuses: one status name or an iterable of names; at least one.
    :param failure_statuses: one status name, an iterable of names (may be empty: never fail early), or
        ``None`` for :data:`DEFAULT_FAILURE_STATUSES` minus the targets.
    :param known: whether a value is final (the sensor's ``is_static`` when its task is built).
    """
    if not (known(target_statuses) and known(failure_statuses)):
        if known(target_statuses):
            _check_list("target_statuses", target_statuses)
        elif failure_statuses is not None and known(failure_statuses):
            _check_list("failure_statuses", failure_statuses)
        return None
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


def _check_list(field: str, value: Any) -> None:
    _check_status_type(field, value)
    check_statuses(field, value)


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


def ends_wait(outcome: Outcome) -> bool:
    """Whether a look with this outcome ends the wait (target or failure), for the sensor and the trigger alike."""
    return outcome in (Outcome.TARGET, Outcome.FAILURE)


def describe(employment_id: str, offboarding_id: str | None) -> str:
    """Name what is watched, ids only (never personal fields), for log lines and messages."""
    if offboarding_id:
        return f"offboarding {offboarding_id} of employment {employment_id}"
    return f"the most recent offboarding of employment {employment_id}"
