"""Target and failure statuses, and what one record means against them; no network."""

from __future__ import annotations

from airflow_provider_feishu_corehr.client.models import OffboardingRecord
from airflow_provider_feishu_corehr.status.statuses import (
    DEFAULT_FAILURE_STATUSES,
    Outcome,
    classify,
    resolve_statuses,
)

EMP = "6982509313466189341"


def test_default_failure_statuses_exclude_the_targets() -> None:
    assert DEFAULT_FAILURE_STATUSES == ("Rejected", "Withdrawn")
    assert resolve_statuses(["Approved", "Offboarded"], None) == (("Approved", "Offboarded"), ("Rejected", "Withdrawn"))
    assert resolve_statuses("Withdrawn", None) == (("Withdrawn",), ("Rejected",))
    assert resolve_statuses(["Rejected", "Withdrawn"], None) == (("Rejected", "Withdrawn"), ())


def test_explicit_empty_failure_statuses_never_fail_early_and_duplicates_collapse() -> None:
    assert resolve_statuses(["Approved", "Approved"], []) == (("Approved",), ())
    assert resolve_statuses("Approved", "Rejected") == (("Approved",), ("Rejected",))


def test_classify() -> None:
    def rec(status: str) -> OffboardingRecord:
        return OffboardingRecord("1", EMP, status, None, None, None, None)

    targets, failures = ("Approved",), ("Rejected",)
    assert classify(None, targets, failures) is Outcome.NOT_FOUND
    assert classify(rec("Approved"), targets, failures) is Outcome.TARGET
    assert classify(rec("Rejected"), targets, failures) is Outcome.FAILURE
    assert classify(rec("Approving"), targets, failures) is Outcome.WAITING
