"""Test DAG: a batch of edits with Airflow retries (``retries=1``, no delay): a retried try reads first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator

with DAG(
    dag_id="feishu_operators_edit_retry",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"records": []},
) as dag:

    @task
    def corrections(**context: Any) -> list[dict[str, Any]]:
        return list(context["params"]["records"])

    EditOffboardingOperator(
        task_id="edit", offboardings=corrections(), max_workers=1, retries=1, retry_delay=timedelta(0)
    )
