"""What an answer means after an ambiguous attempt, the same in the sync and the async client (issue 18, part 2).

- A revoke answered 1160202 on a retry after an attempt that may have reached Feishu carries
  ``after_ambiguous_attempt=True`` (the attempt loop knows it; the operator reports it ``revoked``).
- An edit answered code 0 without its ``data`` (emulator fault ``no_data``) is an unreadable answer: a
  ``FeishuTransientError`` with ``outcome_unknown=True``, never re-sent, never a result with empty fields.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
from client_helpers import APPROVED, DATE, MakeAsync, MakeClient

from airflow_provider_feishu_corehr.client.errors import FeishuTransientError
from airflow_provider_feishu_corehr.testing import EmulatorError

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

WITHDRAWN = "7095671727698478608"

pytestmark = pytest.mark.feishu_emulator(rate_limits="off")


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest, make_client: MakeClient, make_async_client: MakeAsync) -> Callable[..., Any]:
    """``call(method, *args)`` on a fresh sync or async client (both transports, one rule)."""

    def sync_call(method: str, *args: Any) -> Any:
        return getattr(make_client(), method)(*args)

    def async_call(method: str, *args: Any) -> Any:
        async def run() -> Any:
            async with make_async_client() as client:
                return await getattr(client, method)(*args)

        return asyncio.run(run())

    return sync_call if request.param == "sync" else async_call


@pytest.mark.parametrize("fault", ["reset", "http_500", "html_502", "bad_json"])
def test_revoke_answered_1160202_after_an_ambiguous_attempt_says_so(
    feishu_emulator: FeishuEmulator, call: Callable[..., Any], fault: str
) -> None:
    feishu_emulator.inject_fault("revoke", fault, after_processing=True)
    result = call("revoke_offboarding", APPROVED)
    assert (result.already_withdrawn, result.after_ambiguous_attempt) == (True, True)
    assert result.log_id
    assert [r.code for r in feishu_emulator.requests if r.endpoint == "revoke"][-1] == 1160202


def test_revoke_answered_1160202_at_once_is_not_after_an_ambiguous_attempt(
    feishu_emulator: FeishuEmulator, call: Callable[..., Any]
) -> None:
    result = call("revoke_offboarding", WITHDRAWN)
    assert (result.already_withdrawn, result.after_ambiguous_attempt) == (True, False)


def test_a_definite_failure_before_the_answer_is_not_ambiguous(
    feishu_emulator: FeishuEmulator, call: Callable[..., Any]
) -> None:
    # A documented system error (row 6) is a definite answer: the later 1160202 is not ours.
    feishu_emulator.inject_fault("revoke", "system_error", count=1)
    result = call("revoke_offboarding", WITHDRAWN)
    assert (result.already_withdrawn, result.after_ambiguous_attempt) == (True, False)


def test_revoke_applied_on_the_retry_after_an_ambiguous_attempt(
    feishu_emulator: FeishuEmulator, call: Callable[..., Any]
) -> None:
    # The first attempt was not applied (503 before processing): the retry revokes it, code 0.
    feishu_emulator.inject_fault("revoke", "http_503")
    result = call("revoke_offboarding", APPROVED)
    assert (result.already_withdrawn, result.after_ambiguous_attempt) == (False, True)


def test_edit_answered_code_0_without_data_is_an_unknown_outcome(
    feishu_emulator: FeishuEmulator, call: Callable[..., Any]
) -> None:
    feishu_emulator.inject_fault("edit", "no_data")
    with pytest.raises(FeishuTransientError) as caught:
        call("edit_offboarding", APPROVED, DATE)
    error = caught.value
    assert error.outcome_unknown and not error.permanent
    assert (error.code, error.http_status, error.endpoint) == (0, 200, "edit")
    assert error.log_id
    assert "without the echoed fields" in str(error) and "Read the record back" in str(error)
    assert feishu_emulator.request_count("edit") == 1  # never re-sent
    assert feishu_emulator.record(APPROVED)["offboarding_date"] == "2026-12-31"  # the edit was applied


def test_edit_with_its_data_is_a_result(feishu_emulator: FeishuEmulator, call: Callable[..., Any]) -> None:
    result = call("edit_offboarding", APPROVED, DATE)
    assert [(f.field_name, f.value) for f in result.fields] == [("offboarding_date", "2026-12-31")]


@pytest.mark.parametrize("endpoint", ["revoke", "search", "token"])
def test_no_data_fault_applies_to_edit_only(feishu_emulator: FeishuEmulator, endpoint: str) -> None:
    with pytest.raises(EmulatorError, match="no_data applies to edit only"):
        feishu_emulator.inject_fault(endpoint, "no_data")
