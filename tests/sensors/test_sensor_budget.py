"""The sensor's side of the search budget: a poke bounded by its sensor's timeout, and looks that slip behind
their interval said once in the task log (the limiter itself is tested in ``tests/client/test_budget.py``, the
trigger's side in ``tests/triggers/test_offboarding_trigger_emulator.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from status_fixtures import after_searches, conn_json, said_once

from airflow_provider_feishu_corehr.sensors.offboarding import OffboardingStatusSensor

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

APPROVING_EMP, APPROVING_OFF = "6982509313466189342", "7095671727698478605"


def _slow_sensor(emu: FeishuEmulator, monkeypatch: pytest.MonkeyPatch, rate: str, **kwargs: Any) -> Any:
    """A poke-mode sensor on connection ``feishu_slow``, whose client-side search budget is ``rate``."""
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_SLOW", conn_json(emu, rate_limits={"search": rate}))
    args = {"employment_id": APPROVING_EMP, "target_statuses": "Approved", "feishu_conn_id": "feishu_slow", **kwargs}
    return OffboardingStatusSensor(**args)


def test_a_poke_does_not_outlive_the_sensor_timeout(
    feishu: FeishuEmulator, monkeypatch: pytest.MonkeyPatch, logs: Any
) -> None:
    """A search budget of 1 per minute: the second look would wait a minute; the 3 s sensor does not."""
    from airflow.providers.common.compat.sdk import AirflowSensorTimeout

    sensor = _slow_sensor(
        feishu, monkeypatch, "1/60", task_id="bounded", poke_interval=0.2, timeout=3, max_consecutive_failures=50
    )
    with pytest.raises(AirflowSensorTimeout):
        sensor.execute({})  # type: ignore[arg-type]
    assert feishu.request_count("search") == 1
    assert "no free slot for" in logs()  # the poke said why it did not look, then Airflow's timeout ended the task


def test_looks_that_slip_behind_the_interval_are_reported(
    feishu: FeishuEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A search budget of 1 per 1.5 s under a 0.1 s poke interval: the task log says the looks slip behind."""
    sensor = _slow_sensor(
        feishu, monkeypatch, "1/1.5", task_id="slipping", offboarding_id=APPROVING_OFF, poke_interval=0.1, timeout=30
    )
    with after_searches(feishu, 3, lambda: feishu.set_status(APPROVING_OFF, "Approved")):
        sensor.execute({})  # type: ignore[arg-type]
    out = said_once(capsys, caplog, "slip behind the poll interval of 0.1 s")  # said once, not at every look
    assert "The app's search budget" in out
