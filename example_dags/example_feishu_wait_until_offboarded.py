"""Wait until an employee is offboarded in Feishu, then run the step that depends on it.

Feishu moves an approved offboarding to ``Offboarded`` on its offboarding date, which can be weeks away. The
deferrable :class:`OffboardingStatusSensor` hands the wait to the triggerer (no worker slot is held; the
trigger polls the v1 offboarding search every ``poke_interval`` seconds with the async client). A
``Rejected`` or ``Withdrawn`` offboarding ends the wait as failed at once.

The downstream step receives the offboarding's summary from the sensor's XCom and returns what an access
clean-up or payroll job would need; replace its body with your own.

Params: ``feishu_conn_id`` (connection of type ``feishu``) and ``employment_id`` (a ``people_corehr_id``).
"""

from __future__ import annotations

import os
from typing import Any, cast

import pendulum
from airflow.providers.common.compat.sdk import Param, dag, task

from airflow_provider_feishu_corehr.sensors.offboarding import OffboardingStatusSensor

# Seconds between two looks at Feishu: 15 minutes; the demo (scripts/demo.sh) sets a few seconds through the
# environment so its run waits for the emulator's clock in real time without taking a quarter of an hour.
POKE_INTERVAL = float(os.environ.get("FEISHU_EXAMPLE_POKE_INTERVAL", 15 * 60))


@dag(
    dag_id="example_feishu_wait_until_offboarded",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "feishu"],
    params={
        "feishu_conn_id": Param("feishu_default", type="string", description="Airflow connection of type feishu"),
        "employment_id": Param(
            "6982509313466189346", type="string", minLength=1, description="Employment id (people_corehr_id)"
        ),
    },
    doc_md=__doc__,
)
def example_feishu_wait_until_offboarded() -> None:
    wait_offboarded = OffboardingStatusSensor(
        task_id="wait_until_offboarded",
        employment_id="{{ params.employment_id }}",
        target_statuses=["Offboarded"],
        failure_statuses=["Rejected", "Withdrawn"],
        deferrable=True,
        poke_interval=POKE_INTERVAL,
        timeout=60 * 24 * 3600,
        feishu_conn_id="{{ params.feishu_conn_id }}",
    )

    @task(multiple_outputs=False)
    def after_offboarded(record: dict[str, Any]) -> dict[str, Any]:
        """Stand-in for the step that needs the employee gone: here it only hands the ids and date on."""
        return {
            "employment_id": record["employment_id"],
            "offboarding_id": record["offboarding_id"],
            "offboarding_date": record["offboarding_date"],
            "action": "revoke building access and archive the mailbox",
        }

    # wait_offboarded.output stands for the sensor's XCom (the record summary) at run time.
    after_offboarded(cast("dict[str, Any]", wait_offboarded.output))


wait_dag = example_feishu_wait_until_offboarded()
