"""A stand-in for the task instance of a direct ``execute()`` call: it keeps the XCom pushes, as JSON."""

from __future__ import annotations

import json
from typing import Any


class RecordingTI:
    """Records ``xcom_push`` calls; values go through JSON, as Airflow stores them (a non-JSON value fails here)."""

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = json.loads(json.dumps(value))
