"""scripts/demo_wait.py (the demo's waiting part) against an emulator, with a search standing in for the sensor."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from emu_client import Api

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "demo_wait.py"
WATCHED = "7095671727698478609"  # NoNeedApproval, offboarding date 2026-10-31


def script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


def test_the_clock_not_a_control_call_offboards_the_watched_record(
    feishu_emulator: FeishuEmulator, tmp_path: Path
) -> None:
    note = tmp_path / "wait.json"
    prepared = script("prepare", feishu_emulator.base_url, WATCHED, str(note), "--lead", "30")
    assert prepared.returncode == 0, prepared.stderr
    assert "stopped at 2026-10-31 23:59:30 (+08:00)" in prepared.stdout
    api = Api(feishu_emulator)
    assert api.search({"employment_ids": ["6982509313466189346"]}).json()["data"]["items"][0]["status"] == (
        "NoNeedApproval"
    )  # the "sensor" looks once, as the DAG's would

    ran = script("run", feishu_emulator.base_url, str(note), "--speed", "60", "--timeout", "60")

    assert ran.returncode == 0, ran.stderr
    result = json.loads(note.read_text())
    assert result["status_seen"] == "NoNeedApproval"
    assert result["transition"] == {
        "offboarding_id": WATCHED,
        "from": "NoNeedApproval",
        "to": "Offboarded",
        "cause": "clock",
        "tenant_time": "2026-11-01 00:00:00",
    }
    assert feishu_emulator.get_offboarding(WATCHED)["status"] == "Offboarded"
    assert "Offboarded by the emulator clock" in ran.stdout


@pytest.mark.feishu_emulator(clock_speed=0)
def test_run_gives_up_when_no_sensor_searches(feishu_emulator: FeishuEmulator, tmp_path: Path) -> None:
    note = tmp_path / "wait.json"
    assert script("prepare", feishu_emulator.base_url, WATCHED, str(note)).returncode == 0
    ran = script("run", feishu_emulator.base_url, str(note), "--timeout", "1")
    assert ran.returncode != 0 and "the sensor did not search" in ran.stderr
    assert feishu_emulator.get_offboarding(WATCHED)["status"] == "NoNeedApproval"
