"""A stand-in for the task instance of a direct ``execute()`` call: it keeps the XCom pushes, as JSON."""

from __future__ import annotations

import json
from typing import Any

from xcom_schema import check_xcom


class RecordingTI:
    """Records ``xcom_push`` calls; values go through JSON, as Airflow stores them (a non-JSON value fails here).

    Only the operators push through it, so a ``return_value`` (the report pushed before the task fails: an
    envelope or a plan) is checked against ``docs/xcom.schema.json`` as it arrives.
    """

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        stored = json.loads(json.dumps(value))
        if key == "return_value":
            check_xcom(stored)
        self.pushed[key] = stored
