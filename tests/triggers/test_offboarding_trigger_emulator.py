"""OffboardingStatusTrigger against the emulator: its one event, its pace under errors, its bounds; read only."""

from __future__ import annotations

import itertools
import json
import time
from typing import TYPE_CHECKING, Any

import requests
from status_fixtures import NEW_EMPLOYMENT, after_searches, conn_json, said_once, trigger_events

from airflow_provider_feishu_corehr.triggers._poller import group_window
from airflow_provider_feishu_corehr.triggers.offboarding import OffboardingStatusTrigger

if TYPE_CHECKING:
    import pytest

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

POLL = 0.1
APPROVING_EMP, APPROVING_OFF = "6982509313466189342", "7095671727698478605"
MIN_GAP = group_window(POLL)
"""The least time between two searches of one trigger: a look is planned no earlier than the previous look's answer
and its round starts a grouping window after that (docs/scaling.md section 1); the pace is one look per beat of the
interval (``searches <= elapsed / POLL + 1``)."""


def _trigger(**kwargs: Any) -> OffboardingStatusTrigger:
    args: dict[str, Any] = {
        "feishu_conn_id": "feishu_default",
        "employment_id": APPROVING_EMP,
        "target_statuses": ["Approved"],
        "poll_interval": POLL,
        "max_consecutive_failures": 3,
    }
    args.update(kwargs)
    return OffboardingStatusTrigger(**args)


def search_gaps(emu: FeishuEmulator) -> list[float]:
    """Seconds between consecutive search requests as the emulator received them."""
    times = [r.at for r in emu.requests if r.endpoint == "search"]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def _timed_events(trigger: OffboardingStatusTrigger) -> tuple[list[Any], float]:
    started = time.monotonic()
    events = trigger_events(trigger)
    return events, time.monotonic() - started


def _read_only(emu: FeishuEmulator) -> None:
    assert emu.request_count("revoke") == 0
    assert emu.request_count("edit") == 0


def _no_secret(emu: FeishuEmulator, payload: Any) -> None:
    assert emu.app_secret not in json.dumps(payload)


def test_success_event_carries_the_record_summary(feishu: FeishuEmulator) -> None:
    with after_searches(feishu, 2, lambda: feishu.set_status(APPROVING_OFF, "Approved")):
        events = trigger_events(_trigger(offboarding_id=APPROVING_OFF))
    assert len(events) == 1
    item = feishu.get_offboarding(APPROVING_OFF)
    assert events[0].payload == {
        "status": "success",
        "record": {
            "offboarding_id": APPROVING_OFF,
            "employment_id": APPROVING_EMP,
            "status": "Approved",
            "offboarding_date": item["offboarding_info"]["offboarding_date"],
            "expected_offboarding_date": item["offboarding_info"]["expected_offboarding_date"],
            "checklist_status": item["offboarding_checklist"].get("checklist_status"),  # none before approval
        },
    }
    _no_secret(feishu, events[0].payload)
    _read_only(feishu)


def test_failure_event_on_a_failure_status(feishu: FeishuEmulator) -> None:
    with after_searches(feishu, 2, lambda: feishu.set_status(APPROVING_OFF, "Rejected")):
        events = trigger_events(_trigger())
    assert len(events) == 1
    payload = events[0].payload
    assert payload["status"] == "failure"
    assert payload["record"]["offboarding_id"] == APPROVING_OFF
    assert payload["record"]["status"] == "Rejected"
    assert payload["message"] == (
        f"Failure status Rejected reached: the most recent offboarding of employment {APPROVING_EMP} "
        "(failure statuses: Rejected, Withdrawn)"
    )
    _read_only(feishu)


def test_errors_for_a_while_do_not_cause_a_hot_loop(feishu: FeishuEmulator, one_attempt_conn: str) -> None:
    """Six failed looks, then success: one look per beat of ``poll_interval``, never straight after a failed one."""
    feishu.inject_fault("search", "http_503", count=3)
    feishu.inject_fault("search", "reset", count=1)
    feishu.inject_fault("search", "html_502", count=2)
    trigger = _trigger(feishu_conn_id=one_attempt_conn, target_statuses="Approving", max_consecutive_failures=10)
    events, elapsed = _timed_events(trigger)
    assert events[0].payload["status"] == "success"
    searches = feishu.request_count("search")
    assert searches == 7  # 6 errors (no client retry on this connection), then the good look
    assert min(search_gaps(feishu)) >= MIN_GAP  # never straight after a failed look
    assert searches <= elapsed / POLL + 1
    assert feishu.request_count() <= elapsed / POLL + 2  # + the one token request
    _read_only(feishu)


def test_waiting_looks_are_paced_too(feishu: FeishuEmulator) -> None:
    """Not found, then found but not yet at a target: every look that did not end the trigger is followed by a sleep."""
    added: list[str] = []

    def add() -> None:
        added.append(feishu.add_offboarding(employment_id=NEW_EMPLOYMENT, status="Approving"))

    with after_searches(feishu, 3, add), after_searches(feishu, 6, lambda: feishu.set_status(added[0], "Approved")):
        events, elapsed = _timed_events(_trigger(employment_id=NEW_EMPLOYMENT))
    assert events[0].payload["record"]["offboarding_id"] == added[0]
    searches = feishu.request_count("search")
    assert searches >= 7
    assert min(search_gaps(feishu)) >= MIN_GAP  # a wait after every look but the last
    assert searches <= elapsed / POLL + 1


def test_gives_up_after_max_consecutive_transient_errors(feishu: FeishuEmulator, one_attempt_conn: str) -> None:
    feishu.inject_fault("search", "http_500", count=100)
    events = trigger_events(_trigger(feishu_conn_id=one_attempt_conn, max_consecutive_failures=4))
    assert len(events) == 1
    payload = events[0].payload
    assert payload["status"] == "error"
    assert payload["permanent"] is False
    assert payload["consecutive_failures"] == 4
    assert payload["error_type"] == "FeishuTransientError"
    assert payload["http_status"] == 500
    assert feishu.request_count("search") == 4
    assert len(search_gaps(feishu)) == 3 and min(search_gaps(feishu)) >= MIN_GAP  # 4 looks, paced
    _no_secret(feishu, payload)


def test_a_good_look_resets_the_consecutive_error_count(feishu: FeishuEmulator, one_attempt_conn: str) -> None:
    """2 errors, a good look (still Approving), 2 errors, ...: never 3 in a row, so the trigger keeps going."""
    feishu.inject_fault("search", "http_503", count=2)

    def more_faults() -> None:
        feishu.inject_fault("search", "http_503", count=2)

    with (
        after_searches(feishu, 3, more_faults),
        after_searches(feishu, 6, lambda: feishu.set_status(APPROVING_OFF, "Approved")),
    ):
        events = trigger_events(_trigger(feishu_conn_id=one_attempt_conn, max_consecutive_failures=3))
    assert events[0].payload["status"] == "success"
    assert feishu.request_count("search", http_status=503) == 4


def test_wrong_app_secret_is_permanent_and_ends_at_once(feishu: FeishuEmulator, wrong_secret_conn: str) -> None:
    events = trigger_events(_trigger(feishu_conn_id=wrong_secret_conn, max_consecutive_failures=50))
    assert len(events) == 1
    payload = events[0].payload
    assert payload["status"] == "error"
    assert payload["permanent"] is True
    assert payload["error_type"] == "FeishuAuthError"
    assert feishu.request_count("token") == 1
    assert feishu.request_count("search") == 0
    assert "not-the-secret" not in json.dumps(payload)


def test_missing_permission_is_permanent_and_ends_at_once(feishu: FeishuEmulator) -> None:
    feishu.inject_fault("search", "system_error", code=1160103, count=5)
    events = trigger_events(_trigger(max_consecutive_failures=50))
    payload = events[0].payload
    assert (payload["status"], payload["permanent"], payload["code"]) == ("error", True, 1160103)
    assert payload["log_id"]
    assert feishu.request_count("search") == 1


def test_undefined_connection_is_a_permanent_error_event(feishu: FeishuEmulator) -> None:
    events = trigger_events(_trigger(feishu_conn_id="feishu_nowhere"))
    payload = events[0].payload
    assert (payload["status"], payload["permanent"], payload["error_type"]) == (
        "error",
        True,
        "FeishuInvalidInputError",
    )
    assert "feishu_nowhere" in payload["message"]
    assert feishu.request_count() == 0


def test_the_token_the_trigger_fetches_is_registered_with_the_secret_masker(feishu: FeishuEmulator) -> None:
    from airflow.providers.common.compat.sdk import redact

    events = trigger_events(_trigger(offboarding_id=APPROVING_OFF, target_statuses="Approving"))
    assert events[0].payload["status"] == "success"
    assert feishu.tokens_issued == 1
    # Within its lifetime the token endpoint hands out the same token again: the one the trigger used.
    token = requests.post(
        f"{feishu.base_url}/open-apis/auth/v3/tenant_access_token/internal",
        json={"app_id": feishu.app_id, "app_secret": feishu.app_secret},
        timeout=10,
    ).json()["tenant_access_token"]
    assert feishu.tokens_issued == 1
    assert token not in str(redact(f"token={token}"))


def test_a_trigger_whose_looks_slip_behind_says_so_in_its_log(
    feishu: FeishuEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A search budget of 1 per 1.5 s under a 0.1 s poll interval: the trigger's log says so, once."""
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_SLOW", conn_json(feishu, rate_limits={"search": "1/1.5"}))
    trigger = OffboardingStatusTrigger(
        feishu_conn_id="feishu_slow",
        employment_id=APPROVING_EMP,
        offboarding_id=APPROVING_OFF,
        target_statuses="Approved",
        poll_interval=0.1,
    )
    with after_searches(feishu, 3, lambda: feishu.set_status(APPROVING_OFF, "Approved")):
        (event,) = trigger_events(trigger)
    assert event.payload["status"] == "success"
    out = said_once(capsys, caplog, "slip behind the poll interval of 0.1 s")
    assert f"offboarding {APPROVING_OFF} of employment {APPROVING_EMP}" in out
