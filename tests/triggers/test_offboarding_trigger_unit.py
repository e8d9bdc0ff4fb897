"""Trigger serialization, event payloads and how the sensor turns events into outcomes; no network."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from airflow_lanes import deferral_timeout_error, import_string, serde_round_trip, trigger_timeout_resume_kwargs

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
from airflow_provider_feishu_corehr.sensors.offboarding import OffboardingStatusSensor
from airflow_provider_feishu_corehr.triggers.offboarding import (
    OffboardingStatusTrigger,
    error_event,
    error_from_event,
)

EMP = "6982509313466189341"
OFF = "7095671727698478604"
CLASSPATH = "airflow_provider_feishu_corehr.triggers.offboarding.OffboardingStatusTrigger"
SUMMARY = {
    "offboarding_id": OFF,
    "employment_id": EMP,
    "status": "Approved",
    "offboarding_date": "2026-12-31",
    "expected_offboarding_date": "2026-12-31",
    "checklist_status": "AntiBegin",
}


def _trigger(**kwargs: Any) -> OffboardingStatusTrigger:
    args: dict[str, Any] = {
        "feishu_conn_id": "feishu_hr",
        "employment_id": EMP,
        "offboarding_id": OFF,
        "target_statuses": ("Approved", "Offboarded"),
        "failure_statuses": None,
        "user_id_type": "people_corehr_id",
        "poll_interval": 0.2,
        "max_consecutive_failures": 3,
    }
    args.update(kwargs)
    return OffboardingStatusTrigger(**args)


def test_serialize_carries_only_conn_id_ids_statuses_and_timing() -> None:
    classpath, kwargs = _trigger().serialize()
    assert classpath == CLASSPATH
    assert kwargs == {
        "feishu_conn_id": "feishu_hr",
        "employment_id": EMP,
        "offboarding_id": OFF,
        "target_statuses": ["Approved", "Offboarded"],
        "failure_statuses": ["Rejected", "Withdrawn"],
        "user_id_type": "people_corehr_id",
        "poll_interval": 0.2,
        "max_consecutive_failures": 3,
    }
    json.dumps(kwargs)  # JSON-safe


def test_serialize_round_trip_through_airflow_serde() -> None:
    """What the triggerer does: serde-encode the kwargs, import the class path, rebuild, serialize again."""
    original = _trigger(offboarding_id=None, user_id_type=None, failure_statuses=[])
    classpath, kwargs = original.serialize()
    rebuilt = import_string(classpath)(**serde_round_trip(kwargs))
    assert isinstance(rebuilt, OffboardingStatusTrigger)
    assert rebuilt.serialize() == (classpath, kwargs)
    assert rebuilt.offboarding_id is None
    assert rebuilt.failure_statuses == ()


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"employment_id": ""}, "employment_id must not be empty"),
        ({"target_statuses": ["Done"]}, "unknown status 'Done'"),
        ({"failure_statuses": ["Approved"]}, "must not overlap"),
        ({"poll_interval": 0}, "positive number"),
        ({"max_consecutive_failures": 0}, "at least 1"),
        ({"user_id_type": "mail"}, "user_id_type must be one of"),
    ],
)
def test_trigger_refuses_bad_arguments(kwargs: dict[str, Any], rule: str) -> None:
    with pytest.raises(FeishuInvalidInputError, match=rule):
        _trigger(**kwargs)


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


# --- the sensor's side: defer, then execute_complete / resume_execution -----------------------------------


def _sensor(**kwargs: Any) -> OffboardingStatusSensor:
    args: dict[str, Any] = {
        "task_id": "wait",
        "employment_id": EMP,
        "offboarding_id": OFF,
        "target_statuses": "Approved",
        "deferrable": True,
        "poke_interval": 0.2,
        "timeout": 90,
        "feishu_conn_id": "feishu_hr",
    }
    args.update(kwargs)
    return OffboardingStatusSensor(**args)


def test_deferrable_sensor_defers_at_once_with_its_timeout() -> None:
    from airflow.providers.common.compat.sdk import TaskDeferred

    with pytest.raises(TaskDeferred) as deferred:
        _sensor(max_consecutive_failures=4).execute({})  # type: ignore[arg-type]
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout == timedelta(seconds=90)
    assert deferred.value.trigger.serialize() == (
        CLASSPATH,
        {
            "feishu_conn_id": "feishu_hr",
            "employment_id": EMP,
            "offboarding_id": OFF,
            "target_statuses": ["Approved"],
            "failure_statuses": ["Rejected", "Withdrawn"],
            "user_id_type": None,
            "poll_interval": 0.2,
            "max_consecutive_failures": 4,
        },
    )


def test_success_event_returns_the_summary_as_xcom() -> None:
    assert _sensor().execute_complete({}, {"status": "success", "record": SUMMARY}) == SUMMARY  # type: ignore[arg-type]


def _resume(sensor: OffboardingStatusSensor, event: dict[str, Any]) -> Any:
    return sensor.resume_execution("execute_complete", {"event": event}, {})  # type: ignore[arg-type]


def test_failure_event_fails_without_retry_and_soft_fail_skips() -> None:
    from airflow.providers.common.compat.sdk import AirflowFailException, AirflowSkipException

    event = {"status": "failure", "record": {**SUMMARY, "status": "Rejected"}, "message": "reached Rejected"}
    with pytest.raises(AirflowFailException, match="reached Rejected"):
        _resume(_sensor(), event)
    with pytest.raises(AirflowSkipException):
        _resume(_sensor(soft_fail=True), event)


def test_permanent_error_event_fails_without_retry_and_soft_fail_skips() -> None:
    from airflow.providers.common.compat.sdk import AirflowFailException, AirflowSkipException

    event = error_event(FeishuAuthError("app secret invalid", code=10014, endpoint="token"), 0)
    with pytest.raises(AirflowFailException, match=f"offboarding {OFF} of employment {EMP}.*code 10014"):
        _resume(_sensor(), event)
    with pytest.raises(AirflowSkipException):
        _resume(_sensor(soft_fail=True), event)


def test_error_event_of_a_type_outside_the_client_keeps_its_nearest_client_type() -> None:
    error = FeishuConnectionFieldError("Connection 'x', field host: has no host name", field="host", rule="r")
    rebuilt = error_from_event(error_event(error, 0))
    assert type(rebuilt) is FeishuInvalidInputError
    assert str(rebuilt) == str(error)


@pytest.mark.parametrize(
    "error",
    [
        FeishuTransientError("HTTP 503", http_status=503, endpoint="search"),
        FeishuDeadlineError("HTTP 503 until the deadline", http_status=503, endpoint="search"),
    ],
)
def test_transient_give_up_event_raises_the_typed_error_so_task_retries_apply(error: FeishuError) -> None:
    event = error_event(error, 3)
    for sensor in (_sensor(), _sensor(soft_fail=True)):
        with pytest.raises(type(error), match="HTTP 503"):
            _resume(sensor, event)


def test_deferral_timeout_is_a_sensor_timeout_and_soft_fail_skips() -> None:
    """What Airflow hands back when the defer ``timeout`` passes (the scheduler's ``__fail__`` resume).

    Airflow 3 turns it into a sensor timeout; Airflow 2 raises ``TaskDeferralError`` for every deferrable task
    (a task failure, so ``retries`` apply); ``soft_fail`` skips on both.
    """
    from airflow.providers.common.compat.sdk import AirflowSkipException

    timeout = trigger_timeout_resume_kwargs()
    with pytest.raises(deferral_timeout_error()):
        _sensor().resume_execution("__fail__", timeout, {})  # type: ignore[arg-type]
    with pytest.raises(AirflowSkipException):
        _sensor(soft_fail=True).resume_execution("__fail__", timeout, {})  # type: ignore[arg-type]


def test_missing_or_unknown_event_fails() -> None:
    from airflow.providers.common.compat.sdk import AirflowException

    with pytest.raises(AirflowException, match="unexpected trigger event None"):
        _sensor().execute_complete({}, None)  # type: ignore[arg-type]
    with pytest.raises(AirflowException, match="unexpected trigger event 'odd'"):
        _sensor().execute_complete({}, {"status": "odd"})  # type: ignore[arg-type]
