"""One offboarding from start to end: look it up, correct its fields, revoke it, wait until it is withdrawn.

The story: HR corrects an employee's offboarding (a later last day, an explanation, a custom field), and then
the employee decides to stay, so the offboarding is revoked. The DAG

1. looks up the employment's most recent offboarding with :class:`FeishuHook` in a ``@task``
   (v1 offboarding search; its ids and status go to XCom, not its dates: XCom is stored in Airflow's database,
   and privacy mode, docs/privacy.md, keeps HR values out of it),
2. edits three of its fields with :class:`EditOffboardingOperator` - a ``pendulum`` date, the reason
   explanation and a custom ``__c`` field; the operator converts the Python values to the API's strings,
3. revokes it with :class:`RevokeOffboardingOperator` (a re-run is safe: an already withdrawn offboarding
   counts as done and XCom says so),
4. waits with :class:`OffboardingStatusSensor` until Feishu reports ``Withdrawn`` (a revoke can start a
   withdrawal approval, so the status may take time; ``reschedule`` mode frees the worker slot meanwhile).

Params: ``feishu_conn_id`` (connection of type ``feishu``) and ``employment_id`` (a ``people_corehr_id``).
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import AirflowFailException, Param, dag, task

from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator, RevokeOffboardingOperator
from airflow_provider_feishu_corehr.sensors.offboarding import OffboardingStatusSensor

FEISHU_CONN_ID = "{{ params.feishu_conn_id }}"
OFFBOARDING_ID = "{{ ti.xcom_pull(task_ids='look_up_offboarding')['offboarding_id'] }}"

# Field api_names differ per tenant: find yours in Feishu People admin (人员档案配置 > 信息配置 > 离职信息)
# or with GET /open-apis/corehr/v1/custom_fields/query (custom fields end in "__c").
NEW_OFFBOARDING_DATE = pendulum.date(2026, 7, 31)
REASON_EXPLANATION = "Last day moved by a month to finish the project hand-over."
HANDOVER_NOTE_FIELD = "handover_note__c"
HANDOVER_NOTE = "Hand-over to the data platform team, documented in the team wiki"


@dag(
    dag_id="example_feishu_offboarding_lifecycle",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "feishu"],
    params={
        "feishu_conn_id": Param("feishu_default", type="string", description="Airflow connection of type feishu"),
        "employment_id": Param(
            "6982509313466189341", type="string", minLength=1, description="Employment id (people_corehr_id)"
        ),
    },
    doc_md=__doc__,
)
def example_feishu_offboarding_lifecycle() -> None:
    @task(multiple_outputs=False)
    def look_up_offboarding(feishu_conn_id: str, employment_id: str) -> dict[str, str | None]:
        """Return the ids and status of the employment's most recent offboarding (no dates: they are HR values)."""
        from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

        record = FeishuHook(feishu_conn_id=feishu_conn_id).get_offboarding(employment_id)
        if record is None:
            raise AirflowFailException(f"employment {employment_id} has no offboarding")
        summary = record.summary()
        return {k: summary[k] for k in ("offboarding_id", "employment_id", "status")}

    looked_up = look_up_offboarding(feishu_conn_id=FEISHU_CONN_ID, employment_id="{{ params.employment_id }}")

    edit = EditOffboardingOperator(
        task_id="edit_offboarding",
        offboarding_id=OFFBOARDING_ID,
        update_data={
            "offboarding_date": NEW_OFFBOARDING_DATE,
            "reason_explanation": REASON_EXPLANATION,
            HANDOVER_NOTE_FIELD: HANDOVER_NOTE,
        },
        feishu_conn_id=FEISHU_CONN_ID,
    )

    revoke = RevokeOffboardingOperator(
        task_id="revoke_offboarding",
        offboarding_id=OFFBOARDING_ID,
        feishu_conn_id=FEISHU_CONN_ID,
    )

    wait_withdrawn = OffboardingStatusSensor(
        task_id="wait_until_withdrawn",
        employment_id="{{ params.employment_id }}",
        offboarding_id=OFFBOARDING_ID,
        target_statuses=["Withdrawn"],
        mode="reschedule",
        poke_interval=60,
        timeout=7 * 24 * 3600,
        feishu_conn_id=FEISHU_CONN_ID,
    )

    looked_up >> edit >> revoke >> wait_withdrawn


lifecycle_dag = example_feishu_offboarding_lifecycle()
