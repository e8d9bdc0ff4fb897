"""Run a DAG file against the Feishu emulator, on Airflow 3 and 2: :func:`run_dag`.

::

    from airflow_provider_feishu_corehr.testing.dags import run_dag

    def test_my_dag(feishu_emulator):
        result = run_dag("dags/offboard.py", emulator=feishu_emulator)
        assert result.state == "success"
        assert feishu_emulator.request_count("revoke", code=0) == 1

The file is read the way Airflow's DAG processor reads it (``DagBag``), so a DAG is found however it is declared:
bound to a module variable, an unassigned ``@dag`` function call, an unassigned ``with DAG(...)`` block, several
in one file (pick one with ``dag_id``). The run is Airflow's own ``dag.test()``, in this process: tasks, retries,
sensors and deferrals (the trigger runs in-line) as a scheduler would order them, without one.

For the run only (the process environment is put back as it was after it, failure or not, ``AIRFLOW_CTX_*``
variables the in-process task runner exports included):

* ``AIRFLOW_CONN_<CONN_ID>`` holds the emulator's connection (JSON form);
* on Airflow 3, ``[dag_processor] dag_bundle_config_list`` names one local bundle, the DAG file's folder:
  ``dag.test()`` runs only a DAG it finds in a bundle, so every DAG file in that folder is parsed too, as the
  DAG processor would.

What stays: the metadata database. The first call of a process runs ``airflow db migrate`` (a new process, the
same environment) so a fresh ``AIRFLOW_HOME`` works; point ``AIRFLOW_HOME`` at a scratch folder before Airflow is
imported (``docs/testing.md``). The run's rows (DAG run, task instances, XCom) stay there for the test to read.

Airflow is imported only when :func:`run_dag` runs: the pytest plugin and this module load without it.
:mod:`.dag_results` reads what the run left (states, return values).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.testing.apps import fresh_apps
from airflow_provider_feishu_corehr.testing.dag_results import AIRFLOW_V3, DagResult, read_result

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from datetime import datetime

    from airflow_provider_feishu_corehr.testing.emulator import FeishuEmulator

__all__ = ["DagResult", "RunDagError", "run_dag"]

DEFAULT_CONN_ID = "feishu_default"
BUNDLE_CONFIG_ENV = "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"

_migrated: set[tuple[str | None, str | None]] = set()  # (AIRFLOW_HOME, SQL_ALCHEMY_CONN) migrated by this process


class RunDagError(Exception):
    """:func:`run_dag` cannot run: a bad argument, a DAG file that fails to import or lacks the DAG, or a metadata
    database ``airflow db migrate`` could not prepare. The message names the file, the DAG or the argument."""


def run_dag(
    dag_file: str | os.PathLike[str],
    dag_id: str | None = None,
    *,
    emulator: FeishuEmulator | None = None,
    conn_id: str | None = DEFAULT_CONN_ID,
    conf: Mapping[str, Any] | None = None,
    logical_date: datetime | None = None,
    prepare: Callable[[Any], None] | None = None,
) -> DagResult:
    """Run one DAG of ``dag_file`` with ``dag.test()`` against the emulator; return the run's outcome.

    :param dag_file: the DAG file (a ``.py`` file; its folder is the run's DAG bundle on Airflow 3).
    :param dag_id: the DAG to run; may be left out when the file declares exactly one.
    :param emulator: a running :class:`~.FeishuEmulator` (e.g. the ``feishu_emulator`` fixture, to inspect it
        afterwards); ``None`` starts one with the default seed for the run and stops it after.
    :param conn_id: the Airflow connection id the DAG uses: ``AIRFLOW_CONN_<CONN_ID>`` points at the emulator for
        the run. ``None``: set no connection and start no emulator (the test has set its connections itself).
    :param conf: the run's ``conf`` (``dag_run.conf``, what ``params`` are resolved against).
    :param logical_date: the run's logical date (aware); ``None``: now.
    :param prepare: called with the DAG object before the run, e.g. to shorten a sensor's ``poke_interval``.
    :returns: the run's state, each task instance's state and ``return_value`` XCom (:class:`~.DagResult`).
    :raises RunDagError: a bad argument, an import error in the file, no (or no single) DAG to run, or the
        metadata database could not be migrated. A task that fails does not raise: the result says ``failed``.
    """
    path = _check_arguments(dag_file, dag_id, emulator, conn_id, conf, logical_date, prepare)
    _migrate_once()
    with contextlib.ExitStack() as stack:
        env: dict[str, str] = {}
        if conn_id is not None:
            if emulator is None:
                from airflow_provider_feishu_corehr.testing.emulator import FeishuEmulator

                emulator = stack.enter_context(FeishuEmulator(apps=fresh_apps()))
            env[f"AIRFLOW_CONN_{conn_id.upper()}"] = emulator.airflow_conn_json()
        if AIRFLOW_V3:
            bundle = {"name": "dags-folder", "classpath": LOCAL_BUNDLE, "kwargs": {"path": str(path.parent)}}
            env[BUNDLE_CONFIG_ENV] = json.dumps([bundle])
        stack.enter_context(_environ(env))
        dag = _load_dag(path, dag_id)
        if prepare is not None:
            prepare(dag)
        dated = {} if logical_date is None else {"logical_date" if AIRFLOW_V3 else "execution_date": logical_date}
        dag_run = dag.test(run_conf=dict(conf) if conf is not None else None, **dated)  # no date: now, both lanes
        return read_result(dag_run)


def _check_arguments(
    dag_file: Any, dag_id: Any, emulator: Any, conn_id: Any, conf: Any, logical_date: Any, prepare: Any
) -> Path:
    """Refuse bad arguments before anything starts; return the DAG file's resolved path."""
    if not isinstance(dag_file, (str, os.PathLike)):
        raise RunDagError(f"dag_file must be a path (str or os.PathLike), got {type(dag_file).__name__}")
    path = Path(dag_file).resolve()
    if not path.is_file():
        raise RunDagError(f"dag_file {str(dag_file)!r}: no such file ({path})")
    if dag_id is not None and (not isinstance(dag_id, str) or not dag_id):
        raise RunDagError(f"dag_id must be a non-empty string or None, got {dag_id!r}")
    if conn_id is not None and (not isinstance(conn_id, str) or not conn_id.strip()):
        raise RunDagError(f"conn_id must be a non-empty string or None, got {conn_id!r}")
    if conn_id is None and emulator is not None:
        raise RunDagError("emulator was given with conn_id=None: name the connection the DAG uses (conn_id=...)")
    if emulator is not None and not callable(getattr(emulator, "airflow_conn_json", None)):
        raise RunDagError(f"emulator must be a FeishuEmulator, got {type(emulator).__name__}")
    if conf is not None and not hasattr(conf, "keys"):
        raise RunDagError(f"conf must be a mapping (dag_run.conf) or None, got {type(conf).__name__}")
    if logical_date is not None and getattr(logical_date, "tzinfo", None) is None:
        raise RunDagError(f"logical_date must be an aware datetime or None, got {logical_date!r}")
    if prepare is not None and not callable(prepare):
        raise RunDagError(f"prepare must be callable (it gets the DAG) or None, got {type(prepare).__name__}")
    return path


@contextlib.contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set ``values`` in the environment for the block, then put the whole environment back as it was.

    Whole: Airflow's in-process task runner exports ``AIRFLOW_CTX_*`` variables of the task it runs, and a task may
    set its own; none of them outlives the run.

    :param values: variables to set for the block.
    """
    before = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        for name in set(os.environ) - set(before):
            del os.environ[name]
        for name, value in before.items():
            if os.environ.get(name) != value:
                os.environ[name] = value


def _migrate_once() -> None:
    """``airflow db migrate`` in a new process, once per process and database (it is idempotent, and public)."""
    key = (os.environ.get("AIRFLOW_HOME"), os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"))
    if key in _migrated:
        return
    command = [sys.executable, "-m", "airflow", "db", "migrate"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise RunDagError(f"`airflow db migrate` failed (exit {done.returncode}); its last lines:\n{tail}")
    _migrated.add(key)


def _load_dag(path: Path, dag_id: str | None) -> Any:
    """The DAG ``dag_id`` of the file, as Airflow's ``DagBag`` collects it (every declaration style)."""
    from airflow.models import DagBag

    # Airflow 3's DagBag reads no example DAGs (they come as a bundle); Airflow 2's does unless told not to.
    loader: Any = DagBag
    bag = loader(dag_folder=str(path)) if AIRFLOW_V3 else loader(dag_folder=str(path), include_examples=False)
    if bag.import_errors:
        errors = "\n".join(str(error) for error in bag.import_errors.values())
        raise RunDagError(f"{path} failed to import:\n{errors}")
    found = sorted(bag.dags)
    if dag_id is None:
        if len(found) != 1:
            raise RunDagError(f"{path} declares {len(found)} DAGs ({', '.join(found) or 'none'}): pass dag_id=")
        dag_id = found[0]
    if dag_id not in bag.dags:
        raise RunDagError(f"{path} has no DAG {dag_id!r}; it declares: {', '.join(found) or 'none'}")
    return bag.dags[dag_id]
