"""Test DAG: ``RevokeOffboardingOperator.partial(...).expand(offboarding_id=...)`` (dynamic task mapping)."""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_feishu_corehr.operators.offboarding import RevokeOffboardingOperator

with DAG(
    dag_id="feishu_operators_mapped",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"ids": []},
) as dag:

    @task
    def offboardings_to_revoke(**context: Any) -> list[str]:
        return list(context["params"]["ids"])

    revoked = RevokeOffboardingOperator.partial(
        task_id="revoke", feishu_conn_id="feishu_default", max_workers=1
    ).expand(offboarding_id=offboardings_to_revoke())

    @task
    def outcomes(results: list[dict[str, Any]]) -> dict[str, str]:
        return {r["offboarding_id"]: r["outcome"] for r in results}

    outcomes(revoked.output)
