"""Test set-up shared by the whole suite.

``AIRFLOW_HOME`` (and the DAGs folder) point to a temporary folder before Airflow is imported, so nothing is
written to the home directory; the SQLite metadata database is migrated once per session, lazily, by the
``airflow_db`` fixture that DAG tests use.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

_GIVEN_HOME = os.environ.get("FEISHU_TEST_AIRFLOW_HOME")
_HOME = Path(_GIVEN_HOME or tempfile.mkdtemp(prefix="feishu-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_HOME / "dags")
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")
(_HOME / "dags").mkdir(parents=True, exist_ok=True)

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DAGS = REPO_ROOT / "example_dags"
TEST_DAGS = Path(__file__).resolve().parent / "dags"


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the temporary ``AIRFLOW_HOME`` this module created (one given by the caller is the caller's)."""
    if not _GIVEN_HOME:
        shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Migrate the SQLite metadata database in the temporary ``AIRFLOW_HOME`` once per session."""
    from airflow.utils import db

    db.initdb()
    return _HOME


@pytest.fixture
def run_dag(airflow_db: Path) -> Iterator[Any]:
    """Return ``run(path, dag_id, *, prepare=None, **test_kwargs) -> DagRun``: copy a DAG file into the DAGs folder,
    call ``prepare(dag)`` if given, run ``dag.test()``.

    Airflow 3 runs ``dag.test()`` only for DAGs it finds in a bundle, so the file is copied into the DAGs
    folder first and loaded from there.
    """
    import importlib.util

    copied: list[Path] = []

    def run(path: Path, dag_id: str, *, prepare: Any = None, **test_kwargs: Any) -> Any:
        target = _HOME / "dags" / path.name
        shutil.copy(path, target)
        copied.append(target)
        for extra in path.parent.glob("*.csv"):
            shutil.copy(extra, _HOME / "dags" / extra.name)
        if (path.parent / "data").is_dir():  # files a DAG reads relative to itself (example_dags/data)
            shutil.copytree(path.parent / "data", _HOME / "dags" / "data", dirs_exist_ok=True)
        spec = importlib.util.spec_from_file_location(f"dagfile_{path.stem}", target)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        dags = {obj.dag_id: obj for obj in vars(module).values() if hasattr(obj, "dag_id") and hasattr(obj, "test")}
        if prepare is not None:  # e.g. shorten a sensor's poke_interval; dag.test() runs these task objects
            prepare(dags[dag_id])
        return dags[dag_id].test(**test_kwargs)

    yield run
    for target in copied:
        target.unlink(missing_ok=True)


@pytest.fixture(autouse=True, scope="session")
def _operator_xcom_follows_the_schema() -> Iterator[None]:
    """Every value the operators return or push in this process is checked against ``docs/xcom.schema.json``."""
    from xcom_schema import check_xcom

    from airflow_provider_feishu_corehr.operators.batch import OffboardingOperator

    run_batch, push = OffboardingOperator.run_batch, OffboardingOperator._push

    def checked_run_batch(self: Any, *args: Any, **kwargs: Any) -> Any:
        value = run_batch(self, *args, **kwargs)
        check_xcom(value)
        return value

    def checked_push(self: Any, context: Any, value: Any) -> None:
        check_xcom(value)
        push(self, context, value)

    OffboardingOperator.run_batch = checked_run_batch  # type: ignore[method-assign]
    OffboardingOperator._push = checked_push  # type: ignore[method-assign]
    yield
    OffboardingOperator.run_batch = run_batch  # type: ignore[method-assign]
    OffboardingOperator._push = push  # type: ignore[method-assign]
