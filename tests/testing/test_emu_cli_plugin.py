"""The CLI as a subprocess, the pytest plugin fixtures, the Airflow connection strings, no Airflow import."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING

import pytest
import requests
from emu_client import run_user_tests

if TYPE_CHECKING:
    from pathlib import Path

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

CLI = [sys.executable, "-m", "airflow_provider_feishu_corehr.testing"]


def start_cli(*args: str) -> tuple[subprocess.Popen[str], dict[str, str], str]:
    """Start the CLI; return the process, its JSON line and the two human-readable lines after it."""
    process = subprocess.Popen(
        [*CLI, "--print-json-line", *(args if "--port" in args else ("--port", "0", *args))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    if not first:
        process.wait(timeout=10)
        pytest.fail(f"CLI exited: {process.stderr.read() if process.stderr else ''}")
    banner = process.stdout.readline() + process.stdout.readline()
    return process, json.loads(first), banner


def stop_cli(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    return out


def test_cli_starts_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    record = {"offboarding_id": "7000000000000000001", "employment_id": "6000000000000000001"}
    seed.write_text(json.dumps({"records": [record]}))
    process, info, banner = start_cli("--seed", str(seed), "--rate-limit", "revoke=1/60", "--token-ttl", "600")
    try:
        assert info["base_url"] == f"http://127.0.0.1:{info['port']}"
        assert json.loads(info["conn_json"])["host"] == info["base_url"]
        base = info["base_url"]
        token = requests.post(
            f"{base}/open-apis/auth/v3/tenant_access_token/internal",
            json={"app_id": "cli_emulator", "app_secret": "emulator-secret"},
            timeout=10,
        ).json()
        assert token["expire"] == 600
        headers = {"Authorization": f"Bearer {token['tenant_access_token']}"}
        revoke = f"{base}/open-apis/corehr/v2/offboardings/revoke"
        first = requests.post(revoke, json={"offboarding_id": "7000000000000000001"}, headers=headers, timeout=10)
        assert first.json()["code"] == 0
        second = requests.post(revoke, json={"offboarding_id": "7000000000000000001"}, headers=headers, timeout=10)
        assert (second.status_code, second.headers["x-ogw-ratelimit-limit"]) == (429, "1")
        state = requests.get(f"{base}/_emulator/state", timeout=10).json()
        assert [o["status"] for o in state["offboardings"]] == ["Withdrawn"]
    finally:
        out = stop_cli(process)
    assert f"listening on {info['base_url']}" in banner
    assert f"AIRFLOW_CONN_FEISHU_DEFAULT='{info['conn_json']}'" in banner
    assert "stopped" in out
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{info['base_url']}/_emulator/state", timeout=5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate-limit", "revoke"], "ENDPOINT=COUNT/SECONDS"),
        (["--rate-limit", "revoke=fast"], "ENDPOINT=COUNT/SECONDS"),
        (["--rate-limit", "delete=5/1"], "unknown endpoint 'delete'"),
        (["--seed", "/nonexistent/seed.json"], "cannot be read"),
        (["--token-ttl", "0"], "token_ttl"),
    ],
)
def test_cli_bad_arguments_exit_2_with_a_message(args: list[str], message: str) -> None:
    result = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert message in result.stderr


def test_feishu_emulator_fixture_is_started(feishu_emulator: FeishuEmulator) -> None:
    assert requests.get(f"{feishu_emulator.base_url}/_emulator/state", timeout=5).status_code == 200


@pytest.mark.feishu_emulator(apps={"cli_emulator": "emulator-secret"})
def test_feishu_connection_fixture_sets_the_airflow_connection(feishu_connection: FeishuEmulator) -> None:
    conn = json.loads(os.environ["AIRFLOW_CONN_FEISHU_DEFAULT"])
    assert conn == {
        "conn_type": "feishu",
        "login": "cli_emulator",
        "password": "emulator-secret",
        "host": feishu_connection.base_url,
    }


@pytest.mark.feishu_emulator(token_ttl=120, rate_limits="off", token_invalid_http_status=200)
def test_marker_passes_options(feishu_emulator: FeishuEmulator) -> None:
    state = feishu_emulator.state()
    assert state["token_ttl"] == 120
    assert set(state["rate_limits"].values()) == {None}


def test_fixture_stops_the_emulator_after_the_test(tmp_path: Path) -> None:
    run_user_tests(
        tmp_path,
        """
        import pathlib

        def test_user_dag(feishu_connection):
            pathlib.Path("url.txt").write_text(feishu_connection.base_url)
        """,
    )
    url = (tmp_path / "url.txt").read_text()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{url}/_emulator/state", timeout=5)


def test_nothing_in_testing_imports_airflow() -> None:
    code = textwrap.dedent(
        """
        import sys
        import airflow_provider_feishu_corehr.testing.pytest_plugin
        import airflow_provider_feishu_corehr.testing.cli
        from airflow_provider_feishu_corehr.testing import FeishuEmulator
        with FeishuEmulator() as emu:
            emu.airflow_conn_uri()
        loaded = sorted(m for m in sys.modules if m == "airflow" or m.startswith("airflow."))
        print(loaded)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_connection_strings_parse_in_airflow(feishu_emulator: FeishuEmulator) -> None:
    from airflow.models.connection import Connection

    for conn in (
        Connection(conn_id="feishu_default", uri=feishu_emulator.airflow_conn_uri()),
        Connection.from_json(feishu_emulator.airflow_conn_json(), conn_id="feishu_default"),
    ):
        assert (conn.conn_type, conn.host) == ("feishu", feishu_emulator.base_url)
        assert (conn.login, conn.password) == (feishu_emulator.app_id, "emulator-secret")


def test_cli_default_port_is_not_airflows_8080() -> None:
    from airflow_provider_feishu_corehr.testing.cli import build_parser

    assert build_parser().parse_args([]).port == 8765


def test_cli_clock_flags_drive_the_tenant_calendar() -> None:
    process, info, banner = start_cli(
        "--clock-start", "2026-06-30 23:59:00", "--clock-speed", "0", "--timezone", "+09:00",
        "--approval-delay", "30", "--processing-time", "0.2",
    )  # fmt: skip
    try:
        base = info["base_url"]
        clock = requests.get(f"{base}/_emulator/clock", timeout=10).json()
        assert clock == {
            "tenant_time": "2026-06-30 23:59:00",
            "timezone": "+09:00",
            "epoch": clock["epoch"],
            "speed": 0,
            "approval_delay": 30,
        }
        assert requests.get(f"{base}/_emulator/state", timeout=10).json()["processing_time"] == 0.2
        assert requests.post(f"{base}/_emulator/clock", json={"advance": 60}, timeout=10).status_code == 200
        status = requests.get(f"{base}/_emulator/offboardings/7095671727698478604", timeout=10).json()["status"]
        assert status == "Offboarded"
        approved = requests.get(f"{base}/_emulator/offboardings/7095671727698478605", timeout=10).json()["status"]
        assert approved == "Approved"  # Approving since start; the 30 s approval delay has passed
    finally:
        stop_cli(process)
    assert "tenant time 2026-06-30 23:59:00" in banner
