"""Rules of the offboarding sensor: statuses (validation, default), what a lookup means, log and error text.

Framework-free and shared by the sensor (poke and reschedule modes) and its trigger (deferrable mode), so the
three modes decide the same way.
"""

from __future__ import annotations

from enum import Enum
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


def _unique(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


class Outcome(str, Enum):
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


def log_waiting(log: Any, watched: str, status: str | None, targets: tuple[str, ...]) -> None:
    """Log one look that did not end the wait: ids and status only, never personal fields."""
    if status is None:
        log.info("Still waiting: no record yet for %s (a new record may not be visible at once).", watched)
    else:
        log.info("Still waiting for %s: %s is %s.", " or ".join(targets), watched, status)


def check_poll_interval(value: Any) -> float:
    """Return the trigger's poll interval as float if it is a positive number, else raise naming the rule."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise FeishuInvalidInputError(
            f"poll interval (poke_interval) must be a positive number of seconds in deferrable mode; got {value!r}"
        )
    return float(value)


def check_max_consecutive_failures(value: Any) -> int:
    """Return ``value`` if it is an int of at least 1, else raise naming the field."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FeishuInvalidInputError(f"max_consecutive_failures must be an integer of at least 1; got {value!r}")
    return value
