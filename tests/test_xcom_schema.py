"""The schema itself: valid JSON Schema, and it refuses what the contract excludes."""

from __future__ import annotations

import copy

import jsonschema
import pytest
from xcom_schema import SCHEMA, VALIDATOR, check_xcom

EDITED = {
    "operation": "edit",
    "mode": "direct",
    "user_id_type": None,
    "total": 1,
    "counts": {"edited": 1, "unchanged": 0, "conflict": 0, "failed": 0, "unknown": 0, "not_sent": 0},
    "verification": None,
    "records": [
        {
            "index": 0,
            "offboarding_id": "7095671727698478604",
            "employment_id": None,
            "outcome": "edited",
            "field_names": ["offboarding_date"],
            "fields": [{"field_name": "offboarding_date", "value": "2026-07-31"}],
            "status": None,
            "changes": None,
            "conflict": None,
            "verify": None,
            "verification": None,
            "log_id": "2026x",
            "error": None,
        }
    ],
}


def test_the_schema_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    check_xcom(EDITED)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("counts", "surprise"), 1),  # counts have a fixed set of keys
        (("mode",), "batch"),
        (("records", 0, "outcome"), "revoked"),  # an edit has no revoke outcome
        (("records", 0, "extra"), 1),
    ],
)
def test_the_schema_refuses_what_the_contract_excludes(path: tuple[object, ...], value: object) -> None:
    broken = copy.deepcopy(EDITED)
    target = broken
    for key in path[:-1]:
        target = target[key]  # type: ignore[index]
    target[path[-1]] = value  # type: ignore[index]
    assert not VALIDATOR.is_valid(broken)


def test_a_missing_key_is_refused() -> None:
    broken = copy.deepcopy(EDITED)
    del broken["records"][0]["verification"]  # type: ignore[index, attr-defined]
    assert not VALIDATOR.is_valid(broken)
