"""The event the status trigger sends and the sensor reads back: error events keep the typed error; no network."""

from __future__ import annotations

import json

import pytest

from airflow_provider_feishu_corehr.client.errors import (
    FeishuAuthError,
    FeishuDeadlineError,
    FeishuError,
    FeishuInvalidInputError,
    FeishuPagingError,
    FeishuRateLimitError,
    FeishuRedirectError,
    FeishuResponseTooLargeError,
    FeishuTLSError,
    FeishuTransientError,
)
from airflow_provider_feishu_corehr.hooks.connection import FeishuConnectionFieldError
from airflow_provider_feishu_corehr.status.trigger_event import error_event, error_from_event


@pytest.mark.parametrize(
    "error",
    [
        FeishuAuthError("app secret invalid", code=10014, log_id="lg-1", http_status=400, endpoint="token"),
        FeishuTransientError("HTTP 503", http_status=503, endpoint="search", attempts=5, elapsed=3.5),
        FeishuRateLimitError("request trigger frequency limit", code=99991400, http_status=429, endpoint="search"),
        FeishuInvalidInputError("connection 'x' is not defined"),
        FeishuDeadlineError("the caller's deadline came before an answer", endpoint="search", attempts=2),
        FeishuResponseTooLargeError("body over max_response_bytes", http_status=200, endpoint="search"),
        FeishuRedirectError("HTTP 302 redirect to https://elsewhere", http_status=302, endpoint="search"),
        FeishuTLSError("the server's TLS certificate is not trusted", endpoint="token"),
        FeishuPagingError("paging made no progress", endpoint="search"),
    ],
)
def test_error_event_round_trip_keeps_type_fields_and_text(error: FeishuError) -> None:
    payload = error_event(error, 2)
    json.dumps(payload)
    assert payload["status"] == "error"
    assert payload["permanent"] is error.permanent
    assert payload["consecutive_failures"] == 2
    rebuilt = error_from_event(payload)
    assert type(rebuilt) is type(error)
    assert str(rebuilt) == str(error) == payload["message"]
    assert (rebuilt.code, rebuilt.log_id, rebuilt.http_status) == (error.code, error.log_id, error.http_status)


def test_error_event_of_a_type_outside_the_client_keeps_its_nearest_client_type() -> None:
    error = FeishuConnectionFieldError("Connection 'x', field host: has no host name", field="host", rule="r")
    rebuilt = error_from_event(error_event(error, 0))
    assert type(rebuilt) is FeishuInvalidInputError
    assert str(rebuilt) == str(error)


def test_only_a_target_or_a_failure_ends_the_wait_and_each_has_its_own_event() -> None:
    from airflow_provider_feishu_corehr.client.models import OffboardingRecord
    from airflow_provider_feishu_corehr.status.statuses import Outcome, ends_wait
    from airflow_provider_feishu_corehr.status.trigger_event import end_event
    from airflow_provider_feishu_corehr.status.watch import Decision, check_watch

    assert [o for o in Outcome if ends_wait(o)] == [Outcome.TARGET, Outcome.FAILURE]
    watch = check_watch(
        employment_id="e1",
        employment_ids=None,
        offboarding_id=None,
        target_statuses="Offboarded",
        failure_statuses=None,
        user_id_type=None,
        match="all",
    )
    assert watch is not None
    for status, outcome, sent in (("Offboarded", Outcome.TARGET, "success"), ("Rejected", Outcome.FAILURE, "failure")):
        decision = watch.decide({"e1": OffboardingRecord("1", "e1", status, None, None, None, None)})
        assert decision.outcome is outcome
        event = end_event(watch, decision)
        assert event["status"] == sent
        assert event["record"]["status"] == status
        assert ("message" in event) is (outcome is Outcome.FAILURE)
    for outcome in (Outcome.WAITING, Outcome.NOT_FOUND):
        with pytest.raises(ValueError, match=outcome.value):
            end_event(watch, Decision(outcome, {"e1": None}))
