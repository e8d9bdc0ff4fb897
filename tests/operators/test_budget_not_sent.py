"""A record the client-side budget refuses before anything of it was sent is ``not_sent``, never ``unknown`` or
``failed`` (issue 18, "The host budget degrades safely")."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator

if TYPE_CHECKING:
    from recording_ti import RecordingTI

    from airflow_provider_feishu_corehr.testing import FeishuEmulator


def test_records_the_budget_refuses_are_not_sent(
    fast_feishu: FeishuEmulator, ti: RecordingTI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # one edit a minute and 2 s per call: the first record is sent, the next ones find no slot in time
    conn = json.loads(fast_feishu.airflow_conn_json())
    conn["extra"] = {"rate_limits": {"edit": "1/60"}, "max_elapsed": 2, "max_attempts": 1}
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_SLOW", json.dumps(conn))
    ids = [fast_feishu.add_offboarding(employment_id=f"69400000000000001{i:02d}") for i in range(3)]
    operator = EditOffboardingOperator(
        task_id="e",
        offboarding_id=ids,
        update_data={"handover_note__c": "x"},
        feishu_conn_id="feishu_slow",
        max_workers=1,
    )
    with pytest.raises(AirflowException):
        operator.execute({"ti": ti})
    records = ti.pushed["return_value"]["records"]
    assert [r["outcome"] for r in records] == ["edited", "not_sent", "not_sent"]
    assert records[1]["error"]["permanent"] is False  # a later try finds the schedule drained
    assert fast_feishu.request_count("edit") == 1
