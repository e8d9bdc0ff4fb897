"""Outcome-unknown writes and the edit defence (``client/policy.py`` ``ENDPOINT_RULES``), against the emulator.

An attempt that may have reached Feishu without a definite answer (read timeout or reset after sending, HTTP 5xx,
an unreadable body) leaves a write's outcome unknown. A revoke is re-sent (a repeat answers 1160202) and only an
exhausted budget says ``outcome_unknown``; an edit is never re-sent after such an attempt (a late-applied first
attempt could overwrite a newer value): it fails at once with ``outcome_unknown=True``.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING

import pytest

from airflow_provider_feishu_corehr.client.api import ApiRequest
from airflow_provider_feishu_corehr.client.codes import Endpoint
from airflow_provider_feishu_corehr.client.errors import (
    FeishuAuthError,
    FeishuBusinessError,
    FeishuTransientError,
)
from airflow_provider_feishu_corehr.client.exchange import GetToken, Send, TransportFailure, exchange
from airflow_provider_feishu_corehr.client.models import FieldValue
from airflow_provider_feishu_corehr.client.policy import ENDPOINT_RULES, Fail, FailureKind, Retry, RetryPolicy

if TYPE_CHECKING:
    from collections.abc import Callable

    from client_helpers import MakeAsync, MakeClient

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

pytestmark = pytest.mark.feishu_emulator(rate_limits="off")

APPROVED = "7095671727698478604"
NEW_DATE = "2026-12-31"
DATE = [FieldValue("offboarding_date", NEW_DATE)]
AMBIGUOUS_HTTP = ["http_500", "http_503", "html_502", "bad_json", "reset"]


def wait_for(check: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Poll ``check`` every 20 ms for at most ``seconds`` (bounded in count and time)."""
    for _ in range(int(seconds / 0.02)):
        if check():
            return True
        time.sleep(0.02)
    return check()


def edit_requests(emu: FeishuEmulator) -> int:
    return emu.request_count("edit")


# -- the table, without a socket ---------------------------------------------------------------------------


def test_only_writes_have_outcomes_and_only_edit_is_never_resent_after_an_ambiguous_attempt() -> None:
    assert {e for e, rule in ENDPOINT_RULES.items() if rule.writes} == {Endpoint.REVOKE, Endpoint.EDIT}
    assert {e for e, rule in ENDPOINT_RULES.items() if not rule.resend_after_ambiguous} == {Endpoint.EDIT}
    assert set(ENDPOINT_RULES) == set(Endpoint)


@pytest.mark.parametrize(
    ("kind", "sent"),
    [
        (FailureKind.CONNECT, False),
        (FailureKind.CONNECT_TIMEOUT, False),
        (FailureKind.TIMEOUT, True),
        (FailureKind.RESET, True),
        (FailureKind.PROTOCOL, True),
        (FailureKind.TOO_LARGE, True),
    ],
)
def test_transport_failures_split_into_not_sent_and_may_have_reached(kind: FailureKind, sent: bool) -> None:
    policy = RetryPolicy(random=lambda: 0.5)
    edit = policy.decide_failure(Endpoint.EDIT, kind, attempt=1, elapsed=0.0)
    revoke = policy.decide_failure(Endpoint.REVOKE, kind, attempt=1, elapsed=0.0)
    assert isinstance(revoke, Retry) and revoke.ambiguous is sent
    if sent:
        assert isinstance(edit, Fail) and edit.error.outcome_unknown and edit.error.attempts == 1
        assert isinstance(edit.error, FeishuTransientError)
    else:
        assert isinstance(edit, Retry) and not edit.ambiguous


def test_any_final_error_of_a_write_after_an_ambiguous_attempt_is_unknown_and_never_of_a_read() -> None:
    policy = RetryPolicy(random=lambda: 0.5)
    body = json.dumps({"code": 1160206, "msg": "under withdrawal approval"}).encode()
    for endpoint, unknown in ((Endpoint.REVOKE, True), (Endpoint.SEARCH, False)):
        decision = policy.decide(
            endpoint, status=400, headers={}, body=body, token_sent=True, attempt=2, elapsed=1.0, uncertain=True
        )
        assert isinstance(decision, Fail) and decision.error.outcome_unknown is unknown
    definite = policy.decide(
        Endpoint.REVOKE, status=400, headers={}, body=body, token_sent=True, attempt=1, elapsed=0.0
    )
    assert isinstance(definite, Fail) and not definite.error.outcome_unknown


def test_a_token_failure_after_an_ambiguous_revoke_attempt_is_unknown() -> None:
    # The token fetch fails while a revoke that may have been applied is being retried: the call's error says so.
    steps = exchange(RetryPolicy(random=lambda: 0.0), ApiRequest(Endpoint.REVOKE), clock=time.monotonic, timeout=5)
    assert isinstance(next(steps), GetToken)
    assert isinstance(steps.send("tok-1"), Send)
    steps.send(TransportFailure(FailureKind.TIMEOUT))  # -> Sleep
    assert isinstance(steps.send(None), GetToken)
    with pytest.raises(FeishuAuthError) as caught:
        steps.throw(FeishuAuthError("token refused", endpoint="token"))
    assert caught.value.outcome_unknown


def test_http_500_with_a_permanent_body_code_is_retried_for_reads() -> None:
    # Feishu documents these endpoints' business codes with HTTP 400; a 5xx is a server failure, not an answer.
    policy = RetryPolicy(random=lambda: 0.5)
    body = json.dumps({"code": 1160103, "msg": "No permission on param"}).encode()
    decision = policy.decide(
        Endpoint.SEARCH, status=500, headers={}, body=body, token_sent=True, attempt=1, elapsed=0.0
    )
    assert isinstance(decision, Retry)
    spent = policy.decide(Endpoint.SEARCH, status=500, headers={}, body=body, token_sent=True, attempt=5, elapsed=1)
    assert isinstance(spent, Fail) and type(spent.error) is FeishuTransientError and spent.error.code == 1160103
    assert spent.error.advice  # the code's advice still travels with the error


# -- edit: the defence ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", AMBIGUOUS_HTTP)
def test_edit_is_sent_once_after_an_ambiguous_answer_and_says_unknown(
    kind: str, feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    client = make_client()
    client.fetch_token()
    feishu_emulator.inject_fault("edit", kind, count=5, after_processing=True)
    with pytest.raises(FeishuTransientError) as caught:
        client.edit_offboarding(APPROVED, DATE)
    assert caught.value.outcome_unknown and caught.value.attempts == 1
    assert edit_requests(feishu_emulator) == 1
    assert feishu_emulator.record(APPROVED)["offboarding_date"] == NEW_DATE  # Feishu did apply it


def test_late_applied_edit_is_not_resent_and_lands_after_the_client_gave_up(
    feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    client = make_client(timeout=0.2)
    client.fetch_token()
    before = feishu_emulator.record(APPROVED)["offboarding_date"]
    feishu_emulator.inject_fault("edit", "late_apply", seconds=0.6)
    with pytest.raises(FeishuTransientError) as caught:
        client.edit_offboarding(APPROVED, DATE)
    error = caught.value
    assert error.outcome_unknown and error.attempts == 1 and "timeout" in str(error)
    assert feishu_emulator.record(APPROVED)["offboarding_date"] == before  # not applied yet when the call ended
    assert wait_for(lambda: feishu_emulator.record(APPROVED)["offboarding_date"] == NEW_DATE)
    assert edit_requests(feishu_emulator) == 1  # the one request, applied late; nothing re-sent


def test_edit_is_still_retried_where_the_answer_is_definite(
    feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    client = make_client()
    client.fetch_token()
    for kind in ("rate_limit_429", "rate_limit_400", "system_error"):
        feishu_emulator.inject_fault("edit", kind)
    feishu_emulator.invalidate_tokens()
    assert client.edit_offboarding(APPROVED, DATE).offboarding_id == APPROVED
    # refused token (99991663) -> replay; 429; 400+99991400; documented system error; success
    assert edit_requests(feishu_emulator) == 5


def test_edit_that_never_reached_feishu_is_retried_and_its_outcome_is_known(
    feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    client = make_client(max_attempts=3)
    client.fetch_token()
    feishu_emulator.stop()  # the port is closed now: every attempt is refused, nothing is sent
    with pytest.raises(FeishuTransientError) as caught:
        client.edit_offboarding(APPROVED, DATE)
    assert caught.value.attempts == 3 and not caught.value.outcome_unknown
    assert "connection error" in str(caught.value)


# -- revoke: re-sent, unknown only when the budget is spent ---------------------------------------------------


def test_revoke_after_a_lost_answer_is_resent_and_resolved(
    feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    client = make_client()
    client.fetch_token()
    feishu_emulator.inject_fault("revoke", "reset", after_processing=True)
    assert client.revoke_offboarding(APPROVED).already_withdrawn  # the retry saw 1160202
    assert feishu_emulator.request_count("revoke") == 2


def test_revoke_whose_every_attempt_was_ambiguous_is_unknown(
    feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    client = make_client(max_attempts=3)
    client.fetch_token()
    feishu_emulator.inject_fault("revoke", "http_500", count=3)
    with pytest.raises(FeishuTransientError) as caught:
        client.revoke_offboarding(APPROVED)
    assert caught.value.outcome_unknown and caught.value.attempts == 3


def test_a_definite_business_answer_without_an_ambiguous_attempt_is_known(
    feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    with pytest.raises(FeishuBusinessError) as caught:
        make_client().revoke_offboarding("7095671727698478699")
    assert caught.value.code == 1160201 and not caught.value.outcome_unknown


# -- async: the same table ---------------------------------------------------------------------------------


def test_async_edit_defence_and_revoke_retry(feishu_emulator: FeishuEmulator, make_async_client: MakeAsync) -> None:
    async def main() -> None:
        async with make_async_client(timeout=0.2) as client:
            await client.fetch_token()
            feishu_emulator.inject_fault("edit", "late_apply", seconds=0.6)
            with pytest.raises(FeishuTransientError) as edit:
                await client.edit_offboarding(APPROVED, DATE)
            assert edit.value.outcome_unknown and edit.value.attempts == 1
            assert wait_for(lambda: feishu_emulator.record(APPROVED)["offboarding_date"] == NEW_DATE)
            feishu_emulator.inject_fault("revoke", "http_503", after_processing=True)
            assert (await client.revoke_offboarding(APPROVED)).already_withdrawn

    asyncio.run(main())
    assert edit_requests(feishu_emulator) == 1 and feishu_emulator.request_count("revoke") == 2


# -- one HTTP 500 does not end a deferrable sensor -------------------------------------------------------------


def test_one_http_500_with_a_permanent_body_code_does_not_end_the_trigger(feishu_connection: FeishuEmulator) -> None:
    from airflow_provider_feishu_corehr.triggers.offboarding import OffboardingStatusTrigger

    # search's 1160103 is "no permission on a filter" (permanent) when it comes with HTTP 400; with a 500 it is not
    # an answer, so the client retries it and the trigger still sees the record.
    feishu_connection.inject_fault("search", "http_500", code=1160103)
    trigger = OffboardingStatusTrigger(
        feishu_conn_id="feishu_default",
        employment_id="6982509313466189341",
        target_statuses=["Approved"],
        poll_interval=0.1,
        max_consecutive_failures=1,
    )

    async def first_event() -> object:
        async for event in trigger.run():
            return event
        return None

    event = asyncio.run(first_event())
    assert getattr(event, "payload", {}).get("status") == "success"
    assert feishu_connection.request_count("search", http_status=500) == 1
    assert feishu_connection.request_count("search", code=0) == 1
