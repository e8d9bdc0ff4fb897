"""OffboardingStatusTrigger: serialization (what the triggerer stores and rebuilds) and argument checks; no network."""

from __future__ import annotations

import json
from typing import Any

import pytest
from airflow_lanes import import_string, serde_round_trip

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.triggers.offboarding import OffboardingStatusTrigger

EMP = "6982509313466189341"
OFF = "7095671727698478604"
CLASSPATH = "airflow_provider_feishu_corehr.triggers.offboarding.OffboardingStatusTrigger"


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
