"""The deferrable sensor's side: it defers at its first poke, then turns the trigger's event into the task's
outcome (``execute_complete`` / ``resume_execution``); no network."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from airflow_lanes import deferral_timeout_error, trigger_timeout_resume_kwargs

from airflow_provider_feishu_corehr.client.errors import (
    FeishuAuthError,
    FeishuDeadlineError,
    FeishuError,
    FeishuTransientError,
)
from airflow_provider_feishu_corehr.sensors.offboarding import OffboardingStatusSensor
from airflow_provider_feishu_corehr.status.trigger_event import error_event

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


def test_success_event_returns_the_summary_as_xcom(monkeypatch: pytest.MonkeyPatch) -> None:
    # the sensor reads the connection's extra privacy (off here) before it stores the dates
    monkeypatch.setenv(
        "AIRFLOW_CONN_FEISHU_HR", '{"conn_type": "feishu", "login": "a", "password": "s", "host": "https://x"}'
    )
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
