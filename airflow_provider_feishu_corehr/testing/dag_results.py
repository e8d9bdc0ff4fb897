"""What a ``dag.test()`` run left in the metadata database, as plain values: :class:`DagResult`.

The one place :func:`~.dags.run_dag` reads Airflow's database, and the one place that differs between Airflow 3
and 2: the ``return_value`` XCom rows (``XComModel`` on Airflow 3, ``XCom`` on Airflow 2) read in one session.
Airflow 3's public interface has no read of another task's XCom outside a task (its REST API needs an api-server),
so these ORM reads are listed in ``tests/test_upgrade_safety.py`` and pinned by ``tests/testing/test_run_dag.py``
on both lanes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from importlib.metadata import version
from typing import Any

AIRFLOW_V3 = int(version("apache-airflow").split(".")[0]) >= 3
RETURN_VALUE = "return_value"


@dataclass(frozen=True)
class TaskResult:
    """One task instance of the run.

    :param task_id: the task's id.
    :param map_index: its map index (``-1``: not mapped).
    :param state: its final state (``success``, ``failed``, ``skipped``, ``upstream_failed``, ...; ``None``: never
        scheduled).
    :param return_value: its ``return_value`` XCom, decoded (``None`` when it pushed none).
    """

    task_id: str
    map_index: int
    state: str | None
    return_value: Any

    @property
    def key(self) -> str:
        """``task_id``, or ``task_id[map_index]`` for a mapped task instance."""
        return self.task_id if self.map_index < 0 else f"{self.task_id}[{self.map_index}]"


@dataclass(frozen=True)
class DagResult:
    """The outcome of one ``dag.test()`` run.

    :param dag_id: the DAG's id.
    :param run_id: the run's id.
    :param state: the run's final state (``success`` or ``failed``).
    :param tasks: every task instance, by task id then map index.
    :param dag_run: the ``DagRun`` ``dag.test()`` returned (detached), for anything else.
    """

    dag_id: str
    run_id: str
    state: str
    tasks: tuple[TaskResult, ...]
    dag_run: Any

    @property
    def states(self) -> dict[str, str | None]:
        """Task instance :attr:`~TaskResult.key` -> state."""
        return {task.key: task.state for task in self.tasks}

    @property
    def return_values(self) -> dict[str, Any]:
        """Task instance :attr:`~TaskResult.key` -> ``return_value`` XCom (``None`` when it pushed none)."""
        return {task.key: task.return_value for task in self.tasks}

    def task(self, task_id: str, map_index: int = -1) -> TaskResult:
        """One task instance.

        :param task_id: the task's id.
        :param map_index: the map index of a mapped task's instance (``-1``: not mapped).
        :raises KeyError: no such task instance; the message lists the ones there are.
        """
        for task in self.tasks:
            if (task.task_id, task.map_index) == (task_id, map_index):
                return task
        keys = ", ".join(task.key for task in self.tasks)
        label = task_id if map_index < 0 else f"{task_id}[{map_index}]"
        raise KeyError(f"no task instance {label} in the run of {self.dag_id}; it has: {keys}")


def _text(state: Any) -> str | None:
    """A state enum (or string) as its plain string value."""
    if state is None:
        return None
    return str(state.value) if isinstance(state, Enum) else str(state)


def read_result(dag_run: Any) -> DagResult:
    """Read the finished run's task instances and their ``return_value`` XComs.

    :param dag_run: the ``DagRun`` ``dag.test()`` returned.
    """
    values = _return_values(dag_run.dag_id, dag_run.run_id)
    instances = sorted(dag_run.get_task_instances(), key=lambda ti: (ti.task_id, ti.map_index))
    tasks = tuple(
        TaskResult(ti.task_id, ti.map_index, _text(ti.state), values.get((ti.task_id, ti.map_index)))
        for ti in instances
    )
    state = _text(dag_run.state) or "none"
    return DagResult(dag_id=dag_run.dag_id, run_id=dag_run.run_id, state=state, tasks=tasks, dag_run=dag_run)


def _return_values(dag_id: str, run_id: str) -> dict[tuple[str, int], Any]:
    """(task id, map index) -> decoded ``return_value`` XCom of every task instance of the run."""
    from airflow.utils.session import create_session

    with create_session() as session:
        if AIRFLOW_V3:
            from airflow.models.xcom import XComModel

            query = XComModel.get_many(run_id=run_id, dag_ids=dag_id, key=RETURN_VALUE)
            rows: list[Any] = list(session.scalars(query).all())
            return {(row.task_id, row.map_index): XComModel.deserialize_value(row) for row in rows}
        from airflow.models.xcom import XCom

        # Airflow 2 decodes the value when it loads the row (``BaseXCom.init_on_load``).
        found = XCom.get_many(run_id=run_id, dag_ids=dag_id, key=RETURN_VALUE, session=session).all()
        return {(row.task_id, row.map_index): row.value for row in found}
