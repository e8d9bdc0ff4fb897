"""Running the provider's tasks produces no warning from the provider, on Airflow 3.3 and on 2.11.

During each run, Python warnings attributed to a provider module are turned into errors, and every other warning
is recorded: none may name the provider's code or come from its files. Log records at WARNING or above from the
provider's loggers fail the test too: a clean run (the record is there, Feishu answers) has nothing to warn
about. Airflow 2's ``ExecutorSafeguard`` warning (``... .execute cannot be called outside TaskInstance!``) on
poke and reschedule runs is one of these.
"""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import airflow_provider_feishu_corehr

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "example_dags"
SENSOR_DAGS = Path(__file__).resolve().parent / "dags" / "sensor_offboarding_status.py"
PACKAGE = "airflow_provider_feishu_corehr"
PACKAGE_DIR = str(Path(airflow_provider_feishu_corehr.__file__).resolve().parent)
OUR_NAMES = (PACKAGE, "FeishuHook", "OffboardingStatusSensor", "OffboardingStatusTrigger", "OffboardingOperator")


@contextmanager
def _no_provider_warnings(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    caplog.set_level(logging.INFO)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("error", module=rf"{PACKAGE}(\..*)?$")
        warnings.filterwarnings("error", module=r"(dagfile_)?example_feishu_.*")
        yield
    ours = [
        f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})"
        for w in caught
        if w.filename.startswith((PACKAGE_DIR, str(EXAMPLES))) or any(n in str(w.message) for n in OUR_NAMES)
    ]
    assert ours == []
    logged = [
        f"{r.levelname} {r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.WARNING and PACKAGE in r.name
    ]
    assert logged == []
    out = capfd.readouterr()
    for text in (out.out, out.err, caplog.text):
        assert "cannot be called outside" not in text


def _approved_record(emu: FeishuEmulator) -> dict[str, Any]:
    employment_id = "7300000000000000777"
    offboarding_id = emu.add_offboarding(employment_id=employment_id, status="Approved")
    return {"employment_id": employment_id, "offboarding_id": offboarding_id}


@pytest.mark.parametrize("mode", ["poke", "reschedule", "deferrable"])
def test_sensor_runs_without_provider_warnings(
    mode: str,
    feishu_connection: FeishuEmulator,
    run_dag: Any,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    conf = _approved_record(feishu_connection)
    with _no_provider_warnings(caplog, capfd):
        dag_run = run_dag(SENSOR_DAGS, f"feishu_sensor_{mode}_wait", run_conf=conf)
    assert dag_run.state == "success"


@pytest.mark.parametrize(
    ("file_name", "dag_id", "conf"),
    [
        ("example_feishu_offboarding_lifecycle.py", "example_feishu_offboarding_lifecycle", {}),
        ("example_feishu_batch_corrections.py", "example_feishu_batch_corrections", {}),
        ("example_feishu_batch_corrections.py", "example_feishu_batch_corrections_mapped", {}),
        ("example_feishu_wait_until_offboarded.py", "example_feishu_wait_until_offboarded", None),
    ],
    ids=["lifecycle", "batch", "batch-mapped", "wait"],
)
def test_examples_run_without_provider_warnings(
    file_name: str,
    dag_id: str,
    conf: dict[str, Any] | None,
    feishu_connection: FeishuEmulator,
    run_dag: Any,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    if conf is None:  # the wait example: an employment whose offboarding is already Offboarded (default seed)
        conf = {"employment_id": "6982509313466189343"}
    with _no_provider_warnings(caplog, capfd):
        dag_run = run_dag(EXAMPLES / file_name, dag_id, run_conf=conf)
    assert dag_run.state == "success"
