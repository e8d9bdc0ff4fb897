"""Progress lines of long batches and the summary table, read from a log capture; the clock is driven by the
test (no timing assertions)."""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_feishu_corehr.operators import progress as progress_module
from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator
from airflow_provider_feishu_corehr.operators.progress import Progress, summary_table

if TYPE_CHECKING:
    from recording_ti import RecordingTI

    from airflow_provider_feishu_corehr.testing import FeishuEmulator


class FakeClock:
    def __init__(self, step: float = 0.0) -> None:
        self.now = 1000.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def _lines(caplog: pytest.LogCaptureFixture, word: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if word in r.getMessage()]


def test_a_line_every_10_s_or_10_percent_whichever_comes_later(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    log = logging.getLogger("test.progress")
    waits = {"http_429": 0, "paced": 0.0}
    progress = Progress(
        "Edit", 1000, log=log, limit=20.0, waits=lambda: (waits["http_429"], waits["paced"]), clock=clock
    )
    with caplog.at_level(logging.INFO, logger="test.progress"):
        for n in range(1, 1001):
            clock.now = 1000.0 + n / 20  # 20 records/s
            if n % 100 == 0:
                waits["http_429"] += 1
                waits["paced"] += 0.5
            progress.record(ok=n % 250 != 0)
    lines = _lines(caplog, "Edit progress")
    # 10 % is 100 records = 5 s at 20/s: the 10 s interval comes later, so one line per 200 records.
    assert len(lines) == 4, lines
    assert lines[0].startswith("Edit progress: 200/1000 (20%) in 10 s, 20.0/s (100% of the limit 20/s), ETA 40 s")
    assert "failures so far 0; rate-limit waits: 2 refused by Feishu, 1.0 s paced by the client" in lines[0]
    assert "failures so far 3" in lines[-1] and lines[-1].startswith("Edit progress: 800/1000")


def test_the_share_rules_when_records_are_slow(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    progress = Progress("Revoke", 50, log=logging.getLogger("test.progress"), limit=None, clock=clock)
    with caplog.at_level(logging.INFO, logger="test.progress"):
        for n in range(1, 51):
            clock.now = 1000.0 + 4.0 * n  # one record every 4 s: 10 % (5 records) takes 20 s
            progress.record(ok=True)
    lines = _lines(caplog, "Revoke progress")
    assert [line.split(" ")[2] for line in lines] == [f"{n}/50" for n in range(5, 50, 5)]
    assert "(no rate limit)" in lines[0] and "ETA 3 min 00 s" in lines[0]


def test_a_short_batch_logs_no_progress_line(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    progress = Progress("Edit", 100, log=logging.getLogger("test.progress"), limit=20.0, clock=clock)
    with caplog.at_level(logging.INFO, logger="test.progress"):
        for _ in range(100):
            clock.now += 0.05  # 5 s in all
            progress.record(ok=True)
    assert _lines(caplog, "progress") == []


def test_summary_table_groups_failures_by_code_with_advice() -> None:
    def rec(outcome: str, kind: str | None = None, code: int | None = None, advice: str | None = None) -> Any:
        error = None if kind is None else {"kind": kind, "code": code, "advice": advice}
        return {"outcome": outcome, "error": error}

    records = [rec("edited")] * 5 + [
        rec("failed", "business", 1160625, "The offboarding id does not exist."),
        rec("failed", "business", 1160625, "The offboarding id does not exist."),
        rec("unknown", "transient", 503, "Read it back."),
        rec("not_sent", "not_sent", None, "Run the task again."),
    ]
    text = summary_table("Edit", records, ("edited", "failed", "unknown", "not_sent"), 12.34)
    lines = text.splitlines()
    assert lines[0] == "Edit summary: 9 record(s) in 12.3 s"
    assert re.search(r"edited\s+5$", lines[2]) and re.search(r"not_sent\s+1$", lines[5])
    assert re.search(r"failed\s+business\s+1160625\s+2\s+The offboarding id does not exist\.$", lines[7])
    assert any(re.search(r"unknown\s+transient\s+503\s+1\s+Read it back\.$", line) for line in lines)


def _level(text: str, out: str, caplog: pytest.LogCaptureFixture) -> list[int]:
    """Levels of the log lines containing ``text``: from the log capture (Airflow 2's stdlib task logger) or from
    the ``[level]`` marker of the printed line (Airflow 3's structlog task logger)."""
    levels = [r.levelno for r in caplog.records if text in r.getMessage()]
    markers = {"[debug": logging.DEBUG, "[info": logging.INFO, "[warning": logging.WARNING, "[error": logging.ERROR}
    for line in out.splitlines():
        if text in line:
            levels += [level for marker, level in markers.items() if marker in line]
    return levels


def test_batch_logs_progress_summary_and_per_record_lines_at_debug(
    fast_feishu: FeishuEmulator,
    ti: RecordingTI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(progress_module, "CLOCK", FakeClock(step=1.0))  # every look at the clock: one second later
    ids = [fast_feishu.add_offboarding(employment_id=f"69700000000000000{i:02d}") for i in range(40)]
    ids[7] = "7000000000000000001"  # unknown to Feishu: 1160625
    operator = EditOffboardingOperator(
        task_id="e", offboarding_id=ids, update_data={"handover_note__c": "x"}, max_workers=1
    )
    with caplog.at_level(logging.INFO), pytest.raises(AirflowFailException):
        operator.execute({"ti": ti})
    out = capsys.readouterr().out
    text = out + caplog.text
    progress = _level("Edit progress:", out, caplog)
    assert progress and set(progress) == {logging.INFO}
    assert "Edit summary: 40 record(s)" in text
    assert re.search(r"failed\s+business\s+1160625\s+1\s+The offboarding id does not exist", text)
    assert "Edited offboarding" not in text  # per-record success lines are DEBUG, below the INFO level
    assert set(_level("Edit failed:", out, caplog)) == {logging.WARNING}


def test_the_progress_counts_every_attempt_the_retry_table_calls_rate_limited(
    fast_feishu: FeishuEmulator, ti: RecordingTI, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = json.loads(fast_feishu.airflow_conn_json())
    conn["extra"] = {"rate_limits": "off", "max_attempts": 3, "backoff_base": 0.01, "backoff_max": 0.05}
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_DEFAULT", json.dumps(conn))
    ids = [fast_feishu.add_offboarding(employment_id=f"69530000000000{i:02d}") for i in range(4)]
    fast_feishu.inject_fault("edit", "rate_limit_429", reset=0)
    fast_feishu.inject_fault("edit", "rate_limit_400", reset=0)  # code 99991400 with HTTP 400: the same row
    operator = EditOffboardingOperator(
        task_id="e", offboarding_id=ids, update_data={"handover_note__c": "rate limited"}, max_workers=1
    )
    value = operator.execute({"ti": ti})
    assert value["counts"]["edited"] == 4
    assert operator.gate.rate_limit_refusals == 2
