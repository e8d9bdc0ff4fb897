"""Test DAG: a batch of edits from an upstream XCom; a downstream task reads the report even if the batch failed."""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator

with DAG(
    dag_id="feishu_operators_batch",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"records": []},
) as dag:

    @task
    def corrections(**context: Any) -> list[dict[str, Any]]:
        return list(context["params"]["records"])

    edit = EditOffboardingOperator(task_id="edit", offboardings=corrections(), max_workers=8)

    @task(trigger_rule="all_done", multiple_outputs=False)
    def summary(report: dict[str, Any]) -> dict[str, int]:
        return dict(report["counts"])

    summary(edit.output)
