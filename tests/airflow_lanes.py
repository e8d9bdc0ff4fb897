"""What differs between the two tested Airflow lines (3.3 and 2.11), for tests: one place for each difference.

The suite runs whole on both lanes (``scripts/test.sh``); a test that needs an Airflow-3-only feature is marked
with :data:`needs_airflow_3`, with the reason.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import pytest

AIRFLOW_VERSION = version("apache-airflow")
AIRFLOW_V3 = int(AIRFLOW_VERSION.split(".")[0]) >= 3


def needs_airflow_3(reason: str) -> pytest.MarkDecorator:
    """``skipif`` on Airflow 2: ``reason`` says which Airflow-3-only feature the test needs."""
    return pytest.mark.skipif(not AIRFLOW_V3, reason=f"Airflow 3 only: {reason}")


def xcom_entries(
    dag_run: Any, *, task_ids: str | None = None, key: str | None = "return_value", map_indexes: int | None = None
) -> list[tuple[str, int, str, Any]]:
    """XCom rows of a finished run as ``(task_id, map_index, key, value)``.

    :param dag_run: the run (from ``dag.test()``).
    :param task_ids: one task id, or ``None`` for every task.
    :param key: one key, or ``None`` for every key.
    :param map_indexes: one map index, or ``None`` for every one.
    """
    from airflow.utils.session import create_session

    with create_session() as session:
        if AIRFLOW_V3:
            from airflow.models.xcom import XComModel

            query = XComModel.get_many(
                run_id=dag_run.run_id, dag_ids=dag_run.dag_id, task_ids=task_ids, key=key, map_indexes=map_indexes
            )
            rows = session.scalars(query).all()
            return [(r.task_id, r.map_index, r.key, XComModel.deserialize_value(r)) for r in rows]
        from airflow.models.xcom import XCom

        rows = XCom.get_many(
            run_id=dag_run.run_id,
            dag_ids=dag_run.dag_id,
            task_ids=task_ids,
            key=key,
            map_indexes=map_indexes,
            session=session,
        ).all()
        # Airflow 2 decodes the value when it loads the row (``BaseXCom.init_on_load``).
        return [(r.task_id, r.map_index, r.key, r.value) for r in rows]


def dag_bag(folder: Any) -> Any:
    """A ``DagBag`` of ``folder`` (the class moved in Airflow 3).

    :param folder: the DAG folder.
    """
    if AIRFLOW_V3:
        from airflow.dag_processing.dagbag import DagBag

        return DagBag(dag_folder=folder)
    from airflow.models.dagbag import DagBag as DagBag2

    return DagBag2(dag_folder=folder, include_examples=False)


def import_string(path: str) -> Any:
    """Import a dotted path the way the triggerer does.

    :param path: ``module.Name``.
    """
    if AIRFLOW_V3:
        from airflow.sdk._shared.module_loading import import_string as load
    else:
        from airflow.utils.module_loading import import_string as load
    return load(path)


def serde_round_trip(value: Any) -> Any:
    """Encode and decode ``value`` with Airflow's serde, as a trigger's kwargs travel to the triggerer.

    :param value: the trigger's ``serialize()`` kwargs.
    """
    if AIRFLOW_V3:
        from airflow.sdk.serde import deserialize, serialize
    else:
        from airflow.serialization.serde import deserialize, serialize
    return deserialize(serialize(value))


def trigger_timeout_resume_kwargs() -> dict[str, Any]:
    """The ``next_kwargs`` the scheduler resumes a task with (``next_method="__fail__"``) when its deferral timed
    out: an enum reason on Airflow 3, a text on Airflow 2."""
    if AIRFLOW_V3:
        from airflow.sdk.bases.operator import TriggerFailureReason

        return {"error": TriggerFailureReason.TRIGGER_TIMEOUT}
    return {"error": "Trigger/execution timeout"}


def deferral_timeout_error() -> type[Exception]:
    """What a deferrable sensor raises when its deferral timed out: a sensor timeout on Airflow 3;
    ``TaskDeferralError`` on Airflow 2, as for every deferrable task there (a task failure: ``retries`` apply)."""
    if AIRFLOW_V3:
        from airflow.providers.common.compat.sdk import AirflowSensorTimeout

        return AirflowSensorTimeout
    from airflow.exceptions import TaskDeferralError

    return TaskDeferralError


def reschedule_count(ti: Any, session: Any) -> int:
    """How many reschedule rows Airflow wrote for a task instance (keyed by ``ti_id`` on Airflow 3 only).

    :param ti: the task instance.
    :param session: an open ORM session.
    """
    from airflow.models.taskreschedule import TaskReschedule
    from sqlalchemy import func, select

    if AIRFLOW_V3:
        where = [TaskReschedule.ti_id == ti.id]
    else:
        where = [
            TaskReschedule.dag_id == ti.dag_id,
            TaskReschedule.task_id == ti.task_id,
            TaskReschedule.run_id == ti.run_id,
            TaskReschedule.map_index == ti.map_index,
        ]
    return int(session.scalar(select(func.count()).select_from(TaskReschedule).where(*where)) or 0)


def operator_signature_error() -> type[Exception]:
    """What building an operator with a missing or positional argument raises: Python's ``TypeError`` on
    Airflow 3; ``AirflowException`` from Airflow 2's ``apply_defaults``."""
    if AIRFLOW_V3:
        return TypeError
    from airflow.exceptions import AirflowException

    return AirflowException
