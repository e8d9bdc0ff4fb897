"""The XCom contract of the operators (``docs/xcom.schema.json``), checked on every value the tests produce."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA = json.loads((Path(__file__).parents[1] / "docs" / "xcom.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
checked: list[str] = []
"""The kind of every value checked so far (``revoke``, ``edit``, ``plan:edit``, ...), for the test that the hook ran."""


def check_xcom(value: Any) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``value`` (as JSON, the way Airflow stores it) is an envelope or
    a plan document of the schema.

    :param value: an operator's return value or pushed report.
    """
    as_stored = json.loads(json.dumps(value))
    VALIDATOR.validate(as_stored)
    checked.append(as_stored.get("operation") or f"plan:{as_stored.get('plan')}")
