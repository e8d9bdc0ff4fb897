"""OffboardingStatusSensor arguments: refused when the task is built (static) or rendered (templated); no network."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from airflow_lanes import operator_signature_error

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.sensors.offboarding import OffboardingStatusSensor

EMP = "6982509313466189341"


def _sensor(**kwargs: Any) -> OffboardingStatusSensor:
    args: dict[str, Any] = {"task_id": "wait", "employment_id": EMP, "target_statuses": ["Approved"]}
    args.update(kwargs)
    return OffboardingStatusSensor(**args)


def _templated_sensor(*, native: bool) -> OffboardingStatusSensor:
    """A sensor whose ids and statuses all come from params, in a DAG rendering native objects or text."""
    from airflow.providers.common.compat.sdk import DAG

    with DAG("render_check", schedule=None, start_date=datetime(2026, 1, 1), render_template_as_native_obj=native):
        return _sensor(
            employment_id="{{ params.employment_id }}",
            target_statuses="{{ params.targets }}",
            failure_statuses="{{ params.failure }}",
        )


def _render(sensor: OffboardingStatusSensor, params: dict[str, Any]) -> None:
    sensor.render_template_fields({"params": params}, sensor.get_template_env())


# --- build time --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field", "rule"),
    [
        ({"target_statuses": ["Approved", "Done"]}, "target_statuses", "unknown status 'Done'"),
        ({"target_statuses": "approved"}, "target_statuses", "unknown status 'approved'"),
        ({"target_statuses": []}, "target_statuses", "at least one status"),
        ({"failure_statuses": ["Nope"]}, "failure_statuses", "unknown status 'Nope'"),
        ({"failure_statuses": ["Approved", "Rejected"]}, "target_statuses and failure_statuses", "'Approved'"),
        ({"employment_id": ""}, "employment_id", "must not be empty"),
        ({"employment_id": "   "}, "employment_id", "must not be empty"),
        ({"employment_id": None}, "employment_id", "give employment_id (one employment) or employment_ids"),
        ({"employment_id": 1.5}, "employment_id", "must be a string"),
        ({"offboarding_id": "  "}, "offboarding_id", "must not be empty"),
        ({"offboarding_id": "ob_7095671727698478604"}, "offboarding_id", "must be all digits"),
        ({"user_id_type": "email"}, "user_id_type", "must be one of"),
        ({"max_consecutive_failures": 0}, "max_consecutive_failures", "at least 1"),
        ({"deferrable": True, "poke_interval": 0}, "poke_interval", "positive number"),
    ],
)
def test_static_bad_arguments_are_refused_when_the_task_is_built(kwargs: dict[str, Any], field: str, rule: str) -> None:
    with pytest.raises(FeishuInvalidInputError) as err:
        _sensor(**kwargs)
    assert field in str(err.value)
    assert rule in str(err.value)


def test_build_time_refusal_also_fails_a_mapped_task_without_retry() -> None:
    from airflow.providers.common.compat.sdk import AirflowFailException

    with pytest.raises(AirflowFailException, match="employment_id must not be empty"):
        _sensor(employment_id="")


def test_missing_employment_id_is_refused_naming_both_fields() -> None:
    with pytest.raises(FeishuInvalidInputError, match=r"give employment_id .* or employment_ids"):
        OffboardingStatusSensor(task_id="wait", target_statuses="Approved")


def test_arguments_are_keyword_only_and_stored_unchanged() -> None:
    sensor = _sensor(offboarding_id="7095671727698478604", failure_statuses=None, user_id_type="open_id")
    assert sensor.employment_id == EMP
    assert sensor.offboarding_id == "7095671727698478604"
    assert sensor.target_statuses == ["Approved"]
    assert sensor.failure_statuses is None
    assert sensor.user_id_type == "open_id"
    assert sensor.feishu_conn_id == "feishu_default"
    with pytest.raises(operator_signature_error()):
        OffboardingStatusSensor("wait", EMP, "Approved")  # type: ignore[misc]


def test_int_ids_are_taken_as_their_text() -> None:
    """Native rendering turns digit ids into ints; they are accepted as their decimal text."""
    sensor = _sensor(employment_id=int(EMP), offboarding_id=7095671727698478604)
    assert sensor._watch().employment_ids == (EMP,)
    assert sensor._watch().offboarding_id == "7095671727698478604"


def test_template_fields_include_ids_statuses_and_conn_id() -> None:
    assert set(OffboardingStatusSensor.template_fields) == {
        "employment_id",
        "employment_ids",
        "offboarding_id",
        "target_statuses",
        "failure_statuses",
        "user_id_type",
        "feishu_conn_id",
    }


def test_templated_values_are_not_checked_when_the_task_is_built() -> None:
    sensor = _sensor(
        employment_id="{{ params.employment_id }}",
        offboarding_id="{{ params.offboarding_id }}",
        target_statuses="{{ params.targets }}",
        failure_statuses=["{{ params.failure }}"],
        user_id_type="{{ params.id_type }}",
    )
    assert sensor.employment_id == "{{ params.employment_id }}"


def test_a_static_part_is_still_checked_when_the_other_is_templated() -> None:
    with pytest.raises(FeishuInvalidInputError, match="target_statuses has unknown status 'Finished'"):
        _sensor(target_statuses=["Finished"], failure_statuses="{{ params.failure }}")
    with pytest.raises(FeishuInvalidInputError, match="failure_statuses has unknown status 'Gone'"):
        _sensor(target_statuses="{{ params.t }}", failure_statuses=["Gone"])


def test_xcom_references_are_checked_when_rendered_not_when_built() -> None:
    from airflow.providers.common.compat.sdk import DAG, task

    with DAG("xcomarg_check", schedule=None, start_date=datetime(2026, 1, 1)):

        @task
        def employment() -> str:
            return EMP

        sensor = _sensor(employment_id=employment())
    assert hasattr(sensor.employment_id, "resolve")


# --- render time -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "rule"),
    [
        ({"employment_id": "", "targets": ["Approved"], "failure": []}, "employment_id must not be empty"),
        ({"employment_id": EMP, "targets": ["Approve"], "failure": []}, "target_statuses has unknown status"),
        ({"employment_id": EMP, "targets": ["Approved"], "failure": ["Approved"]}, "must not overlap"),
        ({"employment_id": EMP, "targets": "Withdrawn", "failure": None}, None),
    ],
)
def test_templated_values_are_checked_when_rendered(params: dict[str, Any], rule: str | None) -> None:
    from airflow.providers.common.compat.sdk import AirflowFailException

    sensor = _templated_sensor(native=True)
    if rule is None:
        _render(sensor, params)
        assert sensor.target_statuses == "Withdrawn"
        assert sensor._watch().failures == ("Rejected",)
        return
    with pytest.raises(AirflowFailException, match=rule):
        _render(sensor, params)


def test_templated_user_id_type_is_checked_when_rendered() -> None:
    from airflow.providers.common.compat.sdk import AirflowFailException

    sensor = _sensor(user_id_type="{{ params.id_type }}")
    _render(sensor, {"id_type": "open_id"})
    assert sensor._watch().user_id_type == "open_id"
    sensor = _sensor(user_id_type="{{ params.id_type }}")
    with pytest.raises(AirflowFailException, match="user_id_type must be one of"):
        _render(sensor, {"id_type": "email"})


def test_statuses_rendered_as_text_are_one_status_each() -> None:
    """Without native rendering a list renders to its repr; that is refused, naming the field and the value."""
    from airflow.providers.common.compat.sdk import AirflowFailException

    sensor = _templated_sensor(native=False)
    _render(sensor, {"employment_id": EMP, "targets": "Offboarded", "failure": "Rejected"})
    assert sensor._watch().targets == ("Offboarded",)
    assert sensor._watch().failures == ("Rejected",)
    with pytest.raises(AirflowFailException, match="target_statuses has unknown status \"\\['Approved'\\]\""):
        _render(_templated_sensor(native=False), {"employment_id": EMP, "targets": ["Approved"], "failure": "Rejected"})
