"""Every row of the retry table (``docs/transport.md``, ``client/policy.py``) against the emulator's real faults.

Sleeps are recorded, not slept (see ``conftest.py``): the recorded seconds are what the client decided to wait,
and the emulator's clock moves by as much. Jitter is pinned (``random`` = 0.5): a backoff after attempt n is
``0.5 * min(0.08, 0.01 * 2**(n-1))``; a rate-limit wait is ``reset + 0.5 * 0.01``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from client_helpers import APPROVED, BACKOFF, DATE, JITTER, EmulatorTime, MakeClient

from airflow_provider_feishu_corehr.client.errors import (
    FeishuBusinessError,
    FeishuRateLimitError,
    FeishuTransientError,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_feishu_corehr.client.sync import FeishuClient
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

pytestmark = pytest.mark.feishu_emulator(rate_limits="off")


def edit(client: FeishuClient) -> None:
    client.edit_offboarding(APPROVED, DATE)


# -- row 1: rate limited -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rate_limit_429", "rate_limit_400"])
def test_rate_limit_waits_the_reset_header_then_retries(
    kind: str, feishu_emulator: FeishuEmulator, make_client: MakeClient, emu_time: EmulatorTime
) -> None:
    client = make_client()
    client.fetch_token()
    feishu_emulator.inject_fault("edit", kind, reset=7)
    edit(client)
    assert emu_time.sleeps == [7 + JITTER]
    seen = [(r.http_status, r.code) for r in feishu_emulator.requests if r.endpoint == "edit"]
    assert seen == [(429 if kind == "rate_limit_429" else 400, 99991400), (200, 0)]


@pytest.mark.feishu_emulator(rate_limits={"edit": (3, 10.0)})
def test_server_side_window_the_wait_ends_it_exactly(
    feishu_emulator: FeishuEmulator, make_client: MakeClient, emu_time: EmulatorTime
) -> None:
    # The client-side limiter is off: the 4th edit in the emulator's 10 s window gets 429 with reset = seconds
    # left in the window. Waiting that long (the emulator's clock moves with the recorded sleep) must be enough.
    client = make_client()
    for _ in range(4):
        edit(client)
    assert len(emu_time.sleeps) == 1
    waited = emu_time.sleeps[0] - JITTER
    assert waited == int(waited) and 1 <= waited <= 10  # whole seconds from x-ogw-ratelimit-reset
    statuses = [r.http_status for r in feishu_emulator.requests if r.endpoint == "edit"]
    assert statuses == [200, 200, 200, 429, 200]


def test_rate_limit_wait_is_capped(
    feishu_emulator: FeishuEmulator, make_client: MakeClient, emu_time: EmulatorTime
) -> None:
    client = make_client(rate_limit_wait_max=5.0)
    client.fetch_token()
    feishu_emulator.inject_fault("edit", "rate_limit_429", reset=120)
    edit(client)
    assert emu_time.sleeps == [5.0 + JITTER]


def test_rate_limit_budget_spent(
    feishu_emulator: FeishuEmulator, make_client: MakeClient, emu_time: EmulatorTime
) -> None:
    client = make_client(max_attempts=3)
    client.fetch_token()
    feishu_emulator.inject_fault("edit", "rate_limit_429", count=5, reset=2)
    with pytest.raises(FeishuRateLimitError) as caught:
        edit(client)
    error = caught.value
    last = feishu_emulator.requests[-1]
    assert (error.attempts, error.code, error.http_status, error.log_id) == (3, 99991400, 429, last.log_id)
    assert error.elapsed >= 4.0  # two waits of 2 s on the clock shared with the emulator
    assert "3 attempt(s)" in str(error) and f"log_id {last.log_id}" in str(error) and not error.permanent
    assert emu_time.sleeps == [2 + JITTER, 2 + JITTER]


# -- row 2: network errors, timeouts, 5xx, non-JSON --------------------------------------------------------


@pytest.mark.parametrize("kind", ["http_500", "http_503", "html_502", "bad_json", "reset"])
def test_transient_faults_back_off_exponentially_then_succeed(
    kind: str, feishu_emulator: FeishuEmulator, make_client: MakeClient, emu_time: EmulatorTime
) -> None:
    # A revoke is re-sent after an ambiguous attempt (a repeat answers 1160202); an edit is not (test_outcome_unknown).
    client = make_client()
    client.fetch_token()
    feishu_emulator.inject_fault("revoke", kind, count=3)
    assert not client.revoke_offboarding(APPROVED).already_withdrawn
    assert emu_time.sleeps == BACKOFF[:3]
    assert feishu_emulator.request_count("revoke") == 4 and feishu_emulator.request_count("revoke", code=0) == 1


def test_timeout_is_retried(feishu_emulator: FeishuEmulator, make_client: MakeClient, emu_time: EmulatorTime) -> None:
    client = make_client(timeout=0.2)
    client.fetch_token()
    emu_time.sleeps.clear()  # the search's own backoffs only
    feishu_emulator.inject_fault("search", "delay", seconds=1.0)
    assert client.get_offboarding(feishu_emulator.record(APPROVED)["employment_id"]) is not None
    # The delayed first attempt timed out and was retried after the first backoff (a later attempt slowed past
    # 0.2 s by a busy machine is retried the same way, after the next backoff of the schedule).
    assert emu_time.sleeps == BACKOFF[: max(1, len(emu_time.sleeps))]
    assert feishu_emulator.request_count("search", code=0) >= 1


def test_connection_refused_is_retried_then_reported(make_client: MakeClient, emu_time: EmulatorTime) -> None:
    import socket

    with socket.socket() as sock:  # a port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(base_url=f"http://127.0.0.1:{port}", max_attempts=3)
    with pytest.raises(FeishuTransientError) as caught:
        client.fetch_token()
    assert caught.value.attempts == 3 and caught.value.endpoint == "token"
    assert "connection error" in str(caught.value)
    assert emu_time.sleeps == BACKOFF[:2]


def test_transient_budget_spent_names_attempts_elapsed_code_and_log_id(
    feishu_emulator: FeishuEmulator, make_client: MakeClient, emu_time: EmulatorTime
) -> None:
    client = make_client(max_attempts=3)
    client.fetch_token()
    feishu_emulator.inject_fault("revoke", "http_503", count=10)
    with pytest.raises(FeishuTransientError) as caught:
        client.revoke_offboarding(APPROVED)
    error = caught.value
    assert error.outcome_unknown  # every attempt may have reached Feishu
    last = feishu_emulator.requests[-1]
    assert (error.attempts, error.http_status, error.log_id) == (3, 503, last.log_id)
    assert error.code == last.code and error.code is not None
    text = str(error)
    assert "3 attempt(s) over" in text and f"code {error.code}" in text and "retry budget spent" in text
    assert emu_time.sleeps == BACKOFF[:2]


def test_token_endpoint_faults_are_retried_too(
    feishu_emulator: FeishuEmulator, make_client: MakeClient, emu_time: EmulatorTime
) -> None:
    feishu_emulator.inject_fault("token", "html_502")
    edit(make_client())
    assert emu_time.sleeps == BACKOFF[:1]
    assert feishu_emulator.request_count("token") == 2


def test_revoke_whose_response_was_lost_is_retried_and_reports_already_withdrawn(
    feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    client = make_client()
    client.fetch_token()
    feishu_emulator.inject_fault("revoke", "reset", after_processing=True)
    result = client.revoke_offboarding(APPROVED)
    assert result.already_withdrawn
    assert feishu_emulator.get_offboarding(APPROVED)["status"] == "Withdrawn"


# -- row 3: documented system errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "call"),
    [
        ("revoke", lambda c: c.revoke_offboarding(APPROVED)),
        ("edit", edit),
        ("search", lambda c: list(c.search_offboardings())),
    ],
)
def test_documented_system_errors_are_retried(
    endpoint: str,
    call: Callable[[FeishuClient], object],
    feishu_emulator: FeishuEmulator,
    make_client: MakeClient,
    emu_time: EmulatorTime,
) -> None:
    client = make_client()
    client.fetch_token()
    feishu_emulator.inject_fault(endpoint, "system_error", count=2)
    call(client)
    assert emu_time.sleeps == BACKOFF[:2]
    codes = [r.code for r in feishu_emulator.requests if r.endpoint == endpoint]
    assert codes[:2] == [{"revoke": 1160101, "edit": 1161000, "search": 1160999}[endpoint]] * 2 and codes[2] == 0


def test_concurrent_revoke_1160204_is_retried(
    feishu_emulator: FeishuEmulator, make_client: MakeClient, emu_time: EmulatorTime
) -> None:
    result = make_client().revoke_offboarding("7095671727698478611")  # seeded: 1160204 once, then ok
    assert not result.already_withdrawn
    assert [r.code for r in feishu_emulator.requests if r.endpoint == "revoke"] == [1160204, 0]
    assert emu_time.sleeps == BACKOFF[:1]


# -- row 4: other business codes never retry ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda c: c.revoke_offboarding("7095671727698478607"), 1160102),  # rejected
        (lambda c: c.revoke_offboarding("7095671727698478610"), 1160203),  # department disabled
        (lambda c: c.edit_offboarding("7095671727698478699", DATE), 1160625),  # unknown id
        (lambda c: c.edit_offboarding("7095671727698478617", DATE), 1160204),  # future contract (edit meaning)
    ],
)
def test_business_errors_are_not_retried(
    call: Callable[[FeishuClient], object],
    code: int,
    feishu_emulator: FeishuEmulator,
    make_client: MakeClient,
    emu_time: EmulatorTime,
) -> None:
    client = make_client()
    client.fetch_token()
    with pytest.raises(FeishuBusinessError) as caught:
        call(client)
    assert caught.value.code == code and caught.value.permanent and caught.value.advice
    assert emu_time.sleeps == []
    assert len([r for r in feishu_emulator.requests if r.endpoint != "token"]) == 1
