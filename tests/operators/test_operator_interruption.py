"""Stopping a batch inside the test process: ``on_kill`` from another thread, SIGINT, an execution timeout and a
``SystemExit`` in a worker thread. Each ends with every record's outcome pushed and nothing sent after the stop.

The same through a real task process (``airflow dags test`` in a subprocess) is ``test_interruption_process.py``.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from airflow import __version__ as airflow_version
from airflow.providers.common.compat.sdk import AirflowException
from packaging.version import Version

from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator, RevokeOffboardingOperator

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from recording_ti import RecordingTI

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

NOTE = "interrupted batch"


@pytest.fixture
def paced(fast_feishu: FeishuEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[FeishuEmulator]:
    """The emulator as ``feishu_default`` with the client paced to 100 edits/s and 3 % of edits held 1 s, longer
    than the in-flight grace (shortened to 0.5 s here; the subprocess test keeps the real 3 s)."""
    from airflow_provider_feishu_corehr.operators import gate

    monkeypatch.setattr(gate, "IN_FLIGHT_GRACE", 0.5)
    conn = json.loads(fast_feishu.airflow_conn_json())
    conn["extra"] = {"rate_limits": {"edit": 100, "revoke": 100}, "max_attempts": 2, "backoff_base": 0.01}
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_DEFAULT", json.dumps(conn))
    fast_feishu.inject_fault("edit", "delay", ratio=0.03, seconds=1.0)
    yield fast_feishu


def _batch(emu: FeishuEmulator, count: int, prefix: str) -> list[str]:
    return [emu.add_offboarding(employment_id=f"{prefix}{i:04d}") for i in range(count)]


def _when(emu: FeishuEmulator, edits: int, action: Callable[[], None]) -> dict[str, float]:
    """Run ``action`` in a thread once the emulator has seen ``edits`` edits; returns when it ran."""
    fired: dict[str, float] = {}

    def watch() -> None:
        deadline = time.monotonic() + 60
        while emu.request_count("edit") < edits and time.monotonic() < deadline:
            time.sleep(0.002)
        fired["at"] = time.monotonic()
        action()

    threading.Thread(target=watch, daemon=True).start()
    return fired


def _check_report(emu: FeishuEmulator, ti: RecordingTI, ids: list[str], stopped_at: float) -> dict[str, Any]:
    report = ti.pushed["return_value"]
    outcomes = {r["offboarding_id"]: r["outcome"] for r in report["records"]}
    assert len(outcomes) == report["total"] == len(ids)
    assert set(outcomes.values()) <= {"edited", "unknown", "not_sent"}
    time.sleep(1.5)  # every held edit has reached the emulator's data by now
    applied = {i for i in ids if emu.record(i).get("handover_note__c") == NOTE}
    edited = {i for i, o in outcomes.items() if o == "edited"}
    unknown = {i for i, o in outcomes.items() if o == "unknown"}
    assert edited <= applied <= edited | unknown  # zero unrecorded writes
    assert report["counts"]["not_sent"] > 0
    assert not [r for r in emu.requests if r.at > stopped_at + 0.2]  # nothing started after the stop
    for record in report["records"]:
        if record["outcome"] == "unknown":
            assert record["error"]["kind"] == "transient"
            assert "Read the offboarding's fields back" in record["error"]["advice"]
        if record["outcome"] == "not_sent":
            assert record["error"]["kind"] == "not_sent"
    return report


def test_on_kill_from_another_thread_stops_the_batch(paced: FeishuEmulator, ti: RecordingTI) -> None:
    ids = _batch(paced, 200, "6950000000000")
    operator = EditOffboardingOperator(task_id="e", offboarding_id=ids, update_data={"handover_note__c": NOTE})
    fired = _when(paced, 60, operator.on_kill)
    with pytest.raises(AirflowException, match=r"interrupted \(on_kill\)"):
        operator.execute({"ti": ti})
    _check_report(paced, ti, ids, fired["at"])


@pytest.fixture
def sigint_not_ignored() -> Iterator[None]:
    """SIGINT as a task process has it (not ignored), whatever the test runner inherited: a runner started in the
    background by a non-interactive shell has SIGINT ignored, and an ignored SIGINT stays ignored by design."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("sigint_not_ignored")
def test_sigint_stops_the_batch_and_the_handler_is_restored(paced: FeishuEmulator, ti: RecordingTI) -> None:
    ids = _batch(paced, 200, "6951000000000")
    before = signal.getsignal(signal.SIGINT)
    operator = EditOffboardingOperator(task_id="e", offboarding_id=ids, update_data={"handover_note__c": NOTE})
    handlers: list[object] = []

    def interrupt() -> None:
        handlers.append(signal.getsignal(signal.SIGINT))  # what SIGINT meets, should the batch not stop
        os.kill(os.getpid(), signal.SIGINT)

    fired = _when(paced, 80, interrupt)
    try:
        operator.execute({"ti": ti})
    except AirflowException as err:
        assert "interrupted (SIGINT)" in str(err)
    else:
        pytest.fail(f"the batch ran to its end; SIGINT was sent {fired} to handler {handlers} (before: {before})")
    assert signal.getsignal(signal.SIGINT) is before
    _check_report(paced, ti, ids, fired["at"])


@pytest.mark.skipif(Version(airflow_version) < Version("3"), reason="the Airflow 3 task SDK's timeout")
def test_execution_timeout_pushes_the_report_and_is_re_raised(paced: FeishuEmulator, ti: RecordingTI) -> None:
    from airflow.sdk.exceptions import AirflowTaskTimeout
    from airflow.sdk.execution_time.timeout import timeout

    ids = _batch(paced, 300, "6952000000000")
    operator = EditOffboardingOperator(task_id="e", offboarding_id=ids, update_data={"handover_note__c": NOTE})
    started = time.monotonic()
    with pytest.raises(AirflowTaskTimeout), timeout(1):  # SIGALRM raises in the main thread, as Airflow does
        operator.execute({"ti": ti})
    _check_report(paced, ti, ids, started + 1.0)


def test_system_exit_in_a_worker_keeps_the_report(
    fast_feishu: FeishuEmulator, ti: RecordingTI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

    ids = _batch(fast_feishu, 40, "6953000000000")
    real_revoke = FeishuHook.revoke_offboarding

    def revoke(self: FeishuHook, offboarding_id: str, **kwargs: Any) -> Any:
        if offboarding_id == ids[5]:
            raise SystemExit(3)  # e.g. a library calling sys.exit() inside a worker thread
        return real_revoke(self, offboarding_id, **kwargs)

    monkeypatch.setattr(FeishuHook, "revoke_offboarding", revoke)
    operator = RevokeOffboardingOperator(task_id="r", offboarding_id=ids, max_workers=2)
    with pytest.raises(AirflowException, match="SystemExit in a worker thread"):
        operator.execute({"ti": ti})
    records = ti.pushed["return_value"]["records"]
    assert len(records) == 40
    assert records[5]["outcome"] == "failed"
    assert records[5]["error"]["message"] == "unexpected SystemExit (see the task log)"
    revoked = [r["offboarding_id"] for r in records if r["outcome"] == "revoked"]
    assert revoked and all(fast_feishu.get_offboarding(i)["status"] == "Withdrawn" for i in revoked)
    assert {r["outcome"] for r in records} <= {"revoked", "failed", "not_sent"}
    assert fast_feishu.request_count("revoke") == len(revoked)  # nothing sent for the records not_sent


def test_an_ignored_sigint_stays_ignored() -> None:
    from airflow_provider_feishu_corehr.operators.sigint import stop_on_sigint

    stops: list[str] = []
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with stop_on_sigint(stops.append):
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
        assert stops == []
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
