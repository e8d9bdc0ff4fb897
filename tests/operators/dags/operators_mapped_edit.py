"""Test DAG: ``EditOffboardingOperator.partial(...).expand_kwargs(records)``: one mapped task per record."""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator

with DAG(
    dag_id="feishu_operators_mapped_edit",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"records": []},
) as dag:

    @task
    def corrections(**context: Any) -> list[dict[str, Any]]:
        return list(context["params"]["records"])

    EditOffboardingOperator.partial(task_id="edit", user_id_type="people_corehr_id").expand_kwargs(corrections())
