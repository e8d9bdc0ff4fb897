"""DAGs of the sensor tests: one ``OffboardingStatusSensor`` per mode and variant, ids and statuses from params.

``feishu_sensor_<mode>_<variant>``: mode ``poke``, ``reschedule`` or ``deferrable``; variant ``wait`` (timeout
60 s), ``short`` (timeout 1.5 s), ``soft`` (timeout 60 s, soft_fail) or ``soft_short`` (timeout 1.5 s, soft_fail).
``dag.test()`` runs triggers inline without the deferral timeout, so the deferrable DAGs have no short variants.
A downstream task receives the sensor's XCom, so the tests also see that it is usable by the next task.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_feishu_corehr.sensors.offboarding import OffboardingStatusSensor

VARIANTS: dict[str, tuple[float, bool]] = {
    "wait": (60.0, False),
    "short": (1.5, False),
    "soft": (60.0, True),
    "soft_short": (1.5, True),
}
PARAMS: dict[str, Any] = {
    "employment_id": "",
    "offboarding_id": None,
    "targets": ["Approved"],
    "failures": None,
    "conn_id": "feishu_default",
}

for _mode in ("poke", "reschedule", "deferrable"):
    for _variant, (_timeout, _soft_fail) in VARIANTS.items():
        if _mode == "deferrable" and _variant.endswith("short"):
            continue
        with DAG(
            dag_id=f"feishu_sensor_{_mode}_{_variant}",
            schedule=None,
            start_date=datetime(2026, 1, 1),
            catchup=False,
            params=PARAMS,
            render_template_as_native_obj=True,
            tags=["feishu", "test"],
        ) as _dag:
            _sensor = OffboardingStatusSensor(
                task_id="wait_for_offboarding",
                employment_id="{{ params.employment_id }}",
                offboarding_id="{{ params.offboarding_id }}",
                target_statuses="{{ params.targets }}",
                failure_statuses="{{ params.failures }}",
                feishu_conn_id="{{ params.conn_id }}",
                mode="poke" if _mode == "deferrable" else _mode,
                deferrable=_mode == "deferrable",
                poke_interval=0.2,
                timeout=_timeout,
                soft_fail=_soft_fail,
                max_consecutive_failures=3,
            )

            @task(multiple_outputs=False)
            def received(record: dict[str, Any]) -> dict[str, Any]:
                """Echo the sensor's XCom: proves the next task gets the record summary."""
                return record

            received(_sensor.output)
        globals()[_dag.dag_id] = _dag

with DAG(
    dag_id="feishu_sensor_mapped",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"employment_ids": []},
    tags=["feishu", "test"],
) as mapped_dag:

    @task
    def employments(**context: Any) -> list[Any]:
        return list(context["params"]["employment_ids"])

    # Retries allowed: the tests check that a bad mapped value does not use them.
    OffboardingStatusSensor.partial(
        task_id="wait_each",
        target_statuses=["Approved", "Offboarded", "NoNeedApproval"],
        poke_interval=0.2,
        timeout=30,
        retries=2,
        retry_delay=timedelta(0),
    ).expand(employment_id=employments())
