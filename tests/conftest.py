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
# Airflow 2.11's initdb adds its default connections (redis_default, ...); Airflow 3's adds none. Neither lane
# has them, so a test that needs a connection undefined (or defined) does not depend on which test migrated first.
os.environ["AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS"] = "False"
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
def run_dag(airflow_db: Path) -> Any:
    """Return ``run(path, dag_id, *, prepare=None, run_conf=None) -> DagRun``: the package's own
    :func:`~airflow_provider_feishu_corehr.testing.dags.run_dag` (``docs/testing.md``) with the connections the
    test set itself (``conn_id=None``), returning the ``DagRun`` for ``tests/airflow_lanes.py``'s readers.
    """
    from airflow_provider_feishu_corehr.testing.dags import run_dag as shipped

    def run(path: Path, dag_id: str, *, prepare: Any = None, run_conf: dict[str, Any] | None = None) -> Any:
        return shipped(path, dag_id, conn_id=None, conf=run_conf, prepare=prepare).dag_run

    return run


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
