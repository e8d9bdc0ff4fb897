"""Test DAG: operator arguments rendered from ``params`` and from upstream XComs."""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator, RevokeOffboardingOperator

with DAG(
    dag_id="feishu_operators_templating",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={
        "edit_id": "",
        "offboarding_date": "2026-12-31",
        "user_id_type": "people_corehr_id",
        "xcom_edit_ids": [],
        "revoke_ids": [],
    },
) as dag:
    # From params: the id, a value inside update_data and the user id type are rendered.
    EditOffboardingOperator(
        task_id="edit_from_params",
        offboarding_id="{{ params.edit_id }}",
        update_data={"offboarding_date": "{{ params.offboarding_date }}", "exit_interview_done__c": True},
        user_id_type="{{ params.user_id_type }}",
    )

    @task
    def corrections(**context: Any) -> list[dict[str, Any]]:
        ids = context["params"]["xcom_edit_ids"]
        return [
            {"offboarding_id": i, "update_data": {"handover_note__c": f"correction {n}"}} for n, i in enumerate(ids)
        ]

    # From an upstream XCom: the XComArg itself (native list of records).
    EditOffboardingOperator(task_id="edit_from_xcom", offboardings=corrections())

    @task
    def ids_to_revoke(**context: Any) -> list[str]:
        return list(context["params"]["revoke_ids"])

    # From an upstream XCom through a Jinja template: the list arrives as JSON text.
    ids_to_revoke() >> RevokeOffboardingOperator(
        task_id="revoke_from_template",
        offboarding_id="{{ ti.xcom_pull(task_ids='ids_to_revoke') | tojson }}",
    )
