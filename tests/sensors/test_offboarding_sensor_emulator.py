"""The sensor against the emulator in poke mode and in deferrable mode (execute → defer → trigger → resume).

Poke mode runs Airflow's own ``BaseSensorOperator.execute`` loop (timeouts, soft_fail); deferrable mode rebuilds
the trigger from ``serialize()`` and runs it in an event loop, with the deferral timeout enforced the way the
scheduler does (see ``sensor_helpers.run_deferrable``). Reschedule mode and ``dag.test()`` runs are in
``test_offboarding_sensor_dags.py``. State changes go through the emulator's control API after the emulator has
answered N searches (count-based, no sleeps in assertions).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from airflow_lanes import deferral_timeout_error
from sensor_helpers import run_in_mode, sensor_in_mode
from status_fixtures import NEW_EMPLOYMENT, after_searches

from airflow_provider_feishu_corehr.client.errors import FeishuTransientError

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

MODES = ["poke", "deferrable"]
APPROVED_EMP, APPROVED_OFF = "6982509313466189341", "7095671727698478604"  # latest of its employment, Approved
OFFBOARDED_EMP = "6982509313466189343"


_sensor, _run = sensor_in_mode, run_in_mode


def _summary(emu: FeishuEmulator, offboarding_id: str) -> dict[str, Any]:
    """What XCom must hold, built from the emulator's own view of the record."""
    item = emu.get_offboarding(offboarding_id)
    info = item["offboarding_info"]
    return {
        "offboarding_id": offboarding_id,
        "employment_id": info["employment_id"],
        "status": item["status"],
        "offboarding_date": info.get("offboarding_date") or None,
        "expected_offboarding_date": info.get("expected_offboarding_date") or None,
        "checklist_status": (item.get("offboarding_checklist") or {}).get("checklist_status"),
    }


def _no_writes(emu: FeishuEmulator) -> None:
    assert emu.request_count("revoke") == 0
    assert emu.request_count("edit") == 0


@pytest.mark.parametrize("mode", MODES)
def test_target_status_set_through_the_control_api_ends_the_wait(mode: str, feishu: FeishuEmulator) -> None:
    offboarding_id = feishu.add_offboarding(
        employment_id=NEW_EMPLOYMENT, status="Approving", offboarding_date="2026-12-31"
    )
    sensor = _sensor(mode, employment_id=NEW_EMPLOYMENT, offboarding_id=offboarding_id)
    with after_searches(feishu, 2, lambda: feishu.set_status(offboarding_id, "Approved")) as changed:
        xcom = _run(mode, sensor)
    assert changed.is_set()
    assert xcom == _summary(feishu, offboarding_id)
    assert xcom["status"] == "Approved"
    assert xcom["offboarding_date"] == "2026-12-31"
    assert feishu.request_count("search") >= 3  # two looks at Approving, then the one that saw Approved
    _no_writes(feishu)


@pytest.mark.parametrize("mode", MODES)
def test_xcom_is_the_same_small_summary_in_every_mode(mode: str, feishu: FeishuEmulator) -> None:
    xcom = _run(mode, _sensor(mode, employment_id=OFFBOARDED_EMP, target_statuses="Offboarded"))
    assert xcom == _summary(feishu, "7095671727698478606")
    assert set(xcom) == {
        "offboarding_id",
        "employment_id",
        "status",
        "offboarding_date",
        "expected_offboarding_date",
        "checklist_status",
    }


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("soft_fail", [False, True])
def test_failure_status_fails_at_once_or_skips_with_soft_fail(
    mode: str, soft_fail: bool, feishu: FeishuEmulator
) -> None:
    from airflow.providers.common.compat.sdk import AirflowFailException, AirflowSkipException

    offboarding_id = feishu.add_offboarding(employment_id=NEW_EMPLOYMENT, status="Approving")
    sensor = _sensor(mode, employment_id=NEW_EMPLOYMENT, soft_fail=soft_fail)
    expected = AirflowSkipException if soft_fail else AirflowFailException
    with after_searches(feishu, 2, lambda: feishu.set_status(offboarding_id, "Rejected")), pytest.raises(expected):
        _run(mode, sensor)
    searches = feishu.request_count("search")
    assert searches >= 3
    if not soft_fail:
        with pytest.raises(AirflowFailException, match=f"Failure status Rejected reached: .*{NEW_EMPLOYMENT}"):
            _run(mode, _sensor(mode, employment_id=NEW_EMPLOYMENT))
        assert feishu.request_count("search") == searches + 1  # no further look after a failure status


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("soft_fail", [False, True])
def test_timeout_fails_or_skips_with_soft_fail(mode: str, soft_fail: bool, feishu: FeishuEmulator) -> None:
    from airflow.providers.common.compat.sdk import AirflowSensorTimeout, AirflowSkipException

    sensor = _sensor(mode, employment_id="6982509313466189342", timeout=0.6, soft_fail=soft_fail)  # Approving
    timed_out = deferral_timeout_error() if mode == "deferrable" else AirflowSensorTimeout
    with pytest.raises(AirflowSkipException if soft_fail else timed_out):
        _run(mode, sensor)
    assert feishu.request_count("search") >= 2
    _no_writes(feishu)


@pytest.mark.parametrize("mode", MODES)
def test_record_appearing_later_is_waited_for(mode: str, feishu: FeishuEmulator, logs: Any) -> None:
    added: list[str] = []

    def add() -> None:
        added.append(feishu.add_offboarding(employment_id=NEW_EMPLOYMENT, status="Approved", reason_explanation="x"))

    with after_searches(feishu, 2, add):
        xcom = _run(mode, _sensor(mode, employment_id=NEW_EMPLOYMENT))
    assert xcom == _summary(feishu, added[0])
    out = logs()
    waiting = (
        f"Still waiting for Approved: no record yet for the most recent offboarding of employment {NEW_EMPLOYMENT}"
    )
    assert waiting in out
    assert re.search(
        # the trigger's next look is when its shared round starts (about 0.1 s, less the search's time)
        re.escape(waiting) + r" \(a new record may not be visible at once\); next look in 0\.\d+ s \(about "
        r"\d\d:\d\d:\d\d UTC\)\.",
        out,
    )
    assert "reason_explanation" not in out


@pytest.mark.parametrize("mode", MODES)
def test_transient_faults_in_between_are_logged_and_waited_through(
    mode: str, feishu: FeishuEmulator, one_attempt_conn: str, logs: Any
) -> None:
    offboarding_id = feishu.add_offboarding(employment_id=NEW_EMPLOYMENT, status="Approving")
    feishu.inject_fault("search", "http_503", count=2)  # the first two looks fail (no client retry)
    sensor = _sensor(mode, employment_id=NEW_EMPLOYMENT, feishu_conn_id=one_attempt_conn)
    with after_searches(feishu, 4, lambda: feishu.set_status(offboarding_id, "Approved")):
        xcom = _run(mode, sensor)
    assert xcom["status"] == "Approved"
    assert feishu.request_count("search", http_status=503) == 2
    assert feishu.request_count("search") >= 5
    text = logs()
    assert "Transient error 1 of at most 3 in a row" in text
    assert "Transient error 2 of at most 3 in a row" in text
    assert "Transient error 3" not in text  # the count restarts after a good look


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("soft_fail", [False, True])
def test_consecutive_transient_errors_are_bounded(
    mode: str, soft_fail: bool, feishu: FeishuEmulator, one_attempt_conn: str
) -> None:
    """Three transient errors in a row end the try with the typed error (retries apply; not a soft-fail skip)."""
    feishu.inject_fault("search", "http_500", count=50)
    sensor = _sensor(mode, employment_id=APPROVED_EMP, feishu_conn_id=one_attempt_conn, soft_fail=soft_fail)
    with pytest.raises(FeishuTransientError, match="HTTP 500"):
        _run(mode, sensor)
    assert feishu.request_count("search") == 3


def test_client_retries_hide_single_faults_from_the_sensor(feishu: FeishuEmulator, logs: Any) -> None:
    """With the connection's retry budget, a reset and a gateway page are retried inside one look."""
    feishu.inject_fault("search", "reset", count=1)
    feishu.inject_fault("search", "html_502", count=1)
    xcom = _run("poke", _sensor("poke", employment_id=APPROVED_EMP, offboarding_id=APPROVED_OFF))
    assert xcom["offboarding_id"] == APPROVED_OFF
    assert feishu.request_count("search") == 3
    assert "Transient error" not in logs()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("soft_fail", [False, True])
def test_wrong_app_secret_fails_at_once(
    mode: str, soft_fail: bool, feishu: FeishuEmulator, wrong_secret_conn: str
) -> None:
    from airflow.providers.common.compat.sdk import AirflowFailException, AirflowSkipException

    sensor = _sensor(mode, employment_id=APPROVED_EMP, feishu_conn_id=wrong_secret_conn, soft_fail=soft_fail)
    with pytest.raises(AirflowSkipException if soft_fail else AirflowFailException) as err:
        _run(mode, sensor)
    if not soft_fail:
        assert "Looking up the most recent offboarding of employment" in str(err.value)
        assert "not-the-secret" not in str(err.value)
    assert feishu.request_count("token") == 1
    assert feishu.request_count("search") == 0


@pytest.mark.parametrize("mode", MODES)
def test_missing_search_permission_fails_at_once(mode: str, feishu: FeishuEmulator) -> None:
    from airflow.providers.common.compat.sdk import AirflowFailException

    feishu.inject_fault("search", "system_error", code=1160103, count=5)  # "No permission on param"
    with pytest.raises(AirflowFailException, match="1160103"):
        _run(mode, _sensor(mode, employment_id=APPROVED_EMP))
    assert feishu.request_count("search") == 1
