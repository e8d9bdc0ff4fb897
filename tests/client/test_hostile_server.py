"""A slow or hostile server cannot hang a call, take memory, or get the secret: redirects, drip, huge bodies,
endless pages, deadlines, malformed token replies, against the emulator's faults (sync and async clients).

Time bounds here are generous ceilings computed from the settings (``attempts * (timeout + 1 s) + slack``), never
tight timings: they only catch a call that hangs.
"""

from __future__ import annotations

import asyncio
import json
import time
import tracemalloc
from typing import TYPE_CHECKING, Any

import pytest
from client_helpers import APPROVED, DATE, EMPLOYMENT, MakeAsync, MakeClient

from airflow_provider_feishu_corehr.client.api import token_request
from airflow_provider_feishu_corehr.client.errors import (
    FeishuDeadlineError,
    FeishuPagingError,
    FeishuRedirectError,
    FeishuResponseTooLargeError,
    FeishuTransientError,
)
from airflow_provider_feishu_corehr.client.exchange import HttpResponse, Send, Sleep, exchange
from airflow_provider_feishu_corehr.client.models import ClientSettings
from airflow_provider_feishu_corehr.client.paging import MAX_EMPTY_PAGES
from airflow_provider_feishu_corehr.client.policy import RetryPolicy
from airflow_provider_feishu_corehr.testing import EmulatorError, FeishuEmulator

if TYPE_CHECKING:
    from collections.abc import Iterator


pytestmark = pytest.mark.feishu_emulator(rate_limits="off")

SLACK = 3.0


@pytest.fixture
def elsewhere() -> Iterator[FeishuEmulator]:
    """A second server a redirect points to: it must never see a request."""
    with FeishuEmulator() as other:
        yield other


def ceiling(attempts: int, timeout: float) -> float:
    """The most a call may take: every attempt at its wall-clock limit plus ~1 s, and some slack."""
    return attempts * (timeout + 1.0) + SLACK


# -- redirects are never followed -----------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["token", "search", "edit"])
def test_redirect_is_a_permanent_error_naming_the_target_and_nothing_reaches_it(
    endpoint: str, feishu_emulator: FeishuEmulator, make_client: MakeClient, elsewhere: FeishuEmulator
) -> None:
    client = make_client()
    if endpoint != "token":
        client.fetch_token()
    target = f"{elsewhere.base_url}/open-apis/auth/v3/tenant_access_token/internal"
    feishu_emulator.inject_fault(endpoint, "redirect", status=307, location=target, count=5)
    with pytest.raises(FeishuRedirectError) as caught:
        if endpoint == "token":
            client.fetch_token(fresh=True)
        elif endpoint == "search":
            client.get_offboarding(EMPLOYMENT)
        else:
            client.edit_offboarding(APPROVED, DATE)
    error = caught.value
    assert error.permanent and error.attempts == 1 and error.http_status == 307
    assert elsewhere.base_url in str(error) and "/open-apis" not in str(error)
    assert not error.outcome_unknown  # a redirect is a definite "not here"
    assert elsewhere.requests == [] and elsewhere.connections_opened == 0
    assert feishu_emulator.request_count(endpoint) == 1


def test_async_redirect_on_the_token_endpoint_sends_the_secret_nowhere(
    feishu_emulator: FeishuEmulator, make_async_client: MakeAsync, elsewhere: FeishuEmulator
) -> None:
    feishu_emulator.inject_fault("token", "redirect", status=308, location=f"{elsewhere.base_url}/x", count=5)

    async def main() -> None:
        async with make_async_client() as client:
            with pytest.raises(FeishuRedirectError):
                await client.get_offboarding(EMPLOYMENT)

    asyncio.run(main())
    assert elsewhere.requests == [] and elsewhere.connections_opened == 0
    assert feishu_emulator.request_count("token") == 1 and feishu_emulator.request_count("search") == 0


# -- a wall-clock deadline per attempt ------------------------------------------------------------------------


def test_dripping_body_cannot_hold_a_sync_call(feishu_emulator: FeishuEmulator, make_client: MakeClient) -> None:
    client = make_client(timeout=0.5, max_attempts=2)
    client.fetch_token()
    # About 100+ body bytes at 0.2 s each would hold a per-read timeout for twenty seconds.
    feishu_emulator.inject_fault("search", "drip", seconds=0.2, count=2)
    started = time.monotonic()
    with pytest.raises(FeishuTransientError) as caught:
        client.get_offboarding(EMPLOYMENT)
    assert time.monotonic() - started < ceiling(2, 0.5)
    assert caught.value.attempts == 2 and "timeout" in str(caught.value)


def test_dripping_body_cannot_hold_an_async_call(feishu_emulator: FeishuEmulator, make_async_client: MakeAsync) -> None:
    async def main() -> None:
        async with make_async_client(timeout=0.5, max_attempts=2) as client:
            await client.fetch_token()
            feishu_emulator.inject_fault("search", "drip", seconds=0.2, count=2)
            with pytest.raises(FeishuTransientError) as caught:
                await client.get_offboarding(EMPLOYMENT)
            assert caught.value.attempts == 2 and "timeout" in str(caught.value)

    started = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - started < ceiling(2, 0.5)


@pytest.mark.parametrize("sync", [True, False])
def test_dripping_headers_cannot_hold_a_call_either(
    sync: bool, feishu_emulator: FeishuEmulator, make_client: MakeClient, make_async_client: MakeAsync
) -> None:
    # The status line and the headers (~150 bytes) one byte every 0.2 s: each socket read is quick, the whole is not.
    async def via_async() -> None:
        async with make_async_client(timeout=0.5, max_attempts=2) as client:
            await client.fetch_token()
            feishu_emulator.inject_fault("search", "drip", seconds=0.2, headers=True, count=2)
            await client.get_offboarding(EMPLOYMENT)

    started = time.monotonic()
    with pytest.raises(FeishuTransientError) as caught:
        if sync:
            client = make_client(timeout=0.5, max_attempts=2)
            client.fetch_token()
            feishu_emulator.inject_fault("search", "drip", seconds=0.2, headers=True, count=2)
            client.get_offboarding(EMPLOYMENT)
        else:
            asyncio.run(via_async())
    assert time.monotonic() - started < ceiling(2, 0.5)
    assert caught.value.attempts == 2 and "timeout" in str(caught.value)


def test_dripped_edit_answer_is_an_unknown_outcome_sent_once(
    feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    client = make_client(timeout=0.5)
    client.fetch_token()
    feishu_emulator.inject_fault("edit", "drip", seconds=0.3)
    with pytest.raises(FeishuTransientError) as caught:
        client.edit_offboarding(APPROVED, DATE)
    assert caught.value.outcome_unknown and caught.value.attempts == 1
    assert feishu_emulator.request_count("edit") == 1


def test_max_elapsed_bounds_the_whole_call(feishu_emulator: FeishuEmulator, make_client: MakeClient) -> None:
    # timeout 5 per attempt, but the call as a whole has 0.5 s: the attempt is cut to what is left.
    client = make_client(timeout=5.0, max_elapsed=0.5, max_attempts=5)
    client.fetch_token()
    feishu_emulator.inject_fault("search", "delay", seconds=4.0)
    started = time.monotonic()
    with pytest.raises(FeishuTransientError):
        client.get_offboarding(EMPLOYMENT)
    assert time.monotonic() - started < 0.5 + 1.0 + SLACK


def test_a_caller_deadline_ends_a_search_in_time(feishu_emulator: FeishuEmulator, make_client: MakeClient) -> None:
    client = make_client(timeout=5.0)
    client.fetch_token()
    feishu_emulator.inject_fault("search", "delay", seconds=3.0, count=3)
    started = time.monotonic()
    with pytest.raises(FeishuDeadlineError) as caught:
        client.lookup_offboardings([EMPLOYMENT], deadline=time.monotonic() + 0.3)
    assert time.monotonic() - started < 0.3 + 1.0 + SLACK
    assert not caught.value.permanent and caught.value.endpoint == "search"


def test_async_caller_deadline(feishu_emulator: FeishuEmulator, make_async_client: MakeAsync) -> None:
    async def main() -> None:
        async with make_async_client(timeout=5.0) as client:
            await client.fetch_token()
            feishu_emulator.inject_fault("search", "delay", seconds=3.0, count=3)
            with pytest.raises(FeishuDeadlineError):
                await client.get_offboarding(EMPLOYMENT, deadline=time.monotonic() + 0.3)

    started = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - started < 0.3 + 1.0 + SLACK


# -- response size cap -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True])
def test_huge_body_is_refused_with_memory_bounded(
    chunked: bool, feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    limit = 1024 * 1024
    client = make_client(max_response_bytes=limit, max_attempts=2)
    client.fetch_token()
    feishu_emulator.inject_fault("search", "huge_body", size=64 * limit, chunked=chunked, count=2)
    tracemalloc.start()
    try:
        with pytest.raises(FeishuResponseTooLargeError) as caught:
            client.get_offboarding(EMPLOYMENT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * limit  # a 64 MiB body was never held
    assert caught.value.attempts == 2 and "too large" in str(caught.value)


def test_async_huge_body_is_refused(feishu_emulator: FeishuEmulator, make_async_client: MakeAsync) -> None:
    limit = 1024 * 1024

    async def main() -> None:
        async with make_async_client(max_response_bytes=limit, max_attempts=1) as client:
            await client.fetch_token()
            feishu_emulator.inject_fault("search", "huge_body", size=64 * limit, chunked=True)
            with pytest.raises(FeishuResponseTooLargeError):
                await client.get_offboarding(EMPLOYMENT)

    tracemalloc.start()
    try:
        asyncio.run(main())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * limit


def test_huge_answer_to_an_edit_is_an_unknown_outcome(feishu_emulator: FeishuEmulator, make_client: MakeClient) -> None:
    client = make_client(max_response_bytes=4096)
    client.fetch_token()
    feishu_emulator.inject_fault("edit", "huge_body", size=1024 * 1024)
    with pytest.raises(FeishuResponseTooLargeError) as caught:
        client.edit_offboarding(APPROVED, DATE)
    assert caught.value.outcome_unknown and feishu_emulator.request_count("edit") == 1


# -- bounded paging ------------------------------------------------------------------------------------------------


def test_endless_empty_pages_stop_on_no_progress(feishu_emulator: FeishuEmulator, make_client: MakeClient) -> None:
    client = make_client()
    feishu_emulator.inject_fault("search", "endless_pages", ratio=1.0)
    with pytest.raises(FeishuPagingError) as caught:
        client.get_offboarding(EMPLOYMENT)
    assert "empty pages" in str(caught.value) and caught.value.permanent
    assert feishu_emulator.request_count("search") == MAX_EMPTY_PAGES + 1


def test_endless_pages_with_items_stop_at_max_pages(
    feishu_emulator: FeishuEmulator, make_client: MakeClient, make_async_client: MakeAsync
) -> None:
    feishu_emulator.inject_fault("search", "endless_pages", ratio=1.0, items=2)
    with pytest.raises(FeishuPagingError, match="max_pages 7"):
        list(make_client(max_pages=7).search_offboardings())
    assert feishu_emulator.request_count("search") == 7

    async def main() -> None:
        async with make_async_client(max_pages=3) as client:
            with pytest.raises(FeishuPagingError, match="max_pages 3"):
                await client.lookup_offboardings([EMPLOYMENT])

    asyncio.run(main())
    assert feishu_emulator.request_count("search") == 7 + 3


# -- malformed token replies are hiccups ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "malformed",
    [{"code": 0}, {"code": 0, "tenant_access_token": "t-1", "expire": "7200"}, {"code": 0, "expire": 7200}],
)
def test_malformed_token_reply_is_retried_not_an_auth_error(malformed: dict[str, Any]) -> None:
    # The emulator always answers well-formed tokens: this reply is scripted (what a server bug would send).
    settings = ClientSettings(base_url="https://open.feishu.cn", app_id="cli_a", app_secret="s")
    steps = exchange(RetryPolicy(random=lambda: 0.0), token_request(settings), clock=time.monotonic, timeout=5)
    assert isinstance(next(steps), Send)
    assert isinstance(steps.send(HttpResponse(200, {}, json.dumps(malformed).encode())), Sleep)
    assert isinstance(steps.send(None), Send)
    good = {"code": 0, "tenant_access_token": "t-2", "expire": 7200}
    with pytest.raises(StopIteration) as done:
        steps.send(HttpResponse(200, {}, json.dumps(good).encode()))
    assert done.value.value.body["tenant_access_token"] == "t-2"


def test_malformed_token_reply_exhausts_as_transient() -> None:
    settings = ClientSettings(base_url="https://open.feishu.cn", app_id="cli_a", app_secret="s")
    steps = exchange(RetryPolicy(max_attempts=1), token_request(settings), clock=time.monotonic, timeout=5)
    next(steps)
    with pytest.raises(FeishuTransientError) as caught:
        steps.send(HttpResponse(200, {}, b'{"code": 0}'))
    assert not caught.value.permanent and caught.value.endpoint == "token"


# -- fault kinds are validated ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "kind", "params", "fragment"),
    [
        ("edit", "endless_pages", {}, "search endpoint only"),
        ("search", "redirect", {"status": 200}, "status must be one of"),
        ("search", "redirect", {"location": 5}, "location must be"),
        ("search", "huge_body", {"size": -1}, "size must be"),
        ("search", "huge_body", {"chunked": "yes"}, "chunked must be"),
        ("search", "drip", {"seconds": "slow"}, "seconds must be"),
        ("search", "drip", {"headers": 1}, "headers must be"),
        ("edit", "late_apply", {"after_processing": False}, "unknown parameter"),
    ],
)
def test_new_fault_kinds_validate_their_parameters(
    endpoint: str, kind: str, params: dict[str, Any], fragment: str, feishu_emulator: FeishuEmulator
) -> None:
    with pytest.raises(EmulatorError, match=fragment):
        feishu_emulator.inject_fault(endpoint, kind, **params)


def test_hook_passes_a_poke_deadline_through(feishu_connection: FeishuEmulator) -> None:
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

    hook = FeishuHook()
    hook.get_conn().fetch_token()
    feishu_connection.inject_fault("search", "delay", seconds=3.0, count=3)
    started = time.monotonic()
    with pytest.raises(FeishuDeadlineError):
        hook.lookup_offboardings([EMPLOYMENT], deadline=time.monotonic() + 0.3)
    assert time.monotonic() - started < 0.3 + 1.0 + SLACK


def test_the_caller_deadline_also_bounds_the_token_fetch(
    feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    feishu_emulator.inject_fault("token", "delay", seconds=3.0, count=3)
    started = time.monotonic()
    with pytest.raises(FeishuDeadlineError) as caught:
        make_client(timeout=5.0).get_offboarding(EMPLOYMENT, deadline=time.monotonic() + 0.3)
    assert time.monotonic() - started < 0.3 + 1.0 + SLACK
    assert caught.value.endpoint == "token" and feishu_emulator.request_count("search") == 0
