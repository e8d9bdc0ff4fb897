"""Test DAG: ``RevokeOffboardingOperator.partial(...).expand(offboarding_id=...)`` (dynamic task mapping)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import DAG, task

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

    ids = offboardings_to_revoke()
    # Retries allowed: the tests check that bad input and business errors do not use them.
    revoked = RevokeOffboardingOperator.partial(
        task_id="revoke", feishu_conn_id="feishu_default", retries=2, retry_delay=timedelta(0)
    ).expand(offboarding_id=ids)

    @task(multiple_outputs=False)
    def outcomes(results: list[dict[str, Any]]) -> dict[str, str]:
        # each mapped instance returns the envelope of its one id; a slice: iterating reads one past the end (404)
        records = [r["records"][0] for r in results[:]]
        return {r["offboarding_id"]: r["outcome"] for r in records}

    outcomes(revoked.output)

    @task
    def same_id(offboarding_id: str) -> str:
        return offboarding_id

    # A batch fed by the output of a mapped task (a lazy sequence of XComs): a re-run of the same revokes.
    again = RevokeOffboardingOperator(task_id="revoke_again", offboarding_id=same_id.expand(offboarding_id=ids))
    revoked >> again
