"""The async client (httpx) against the emulator: same results, same decisions, one token across coroutines.

pytest-asyncio is not used: each test runs its coroutine with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from client_helpers import APPROVED, BACKOFF, DATE, EMPLOYMENT, EmulatorTime, MakeAsync

from airflow_provider_feishu_corehr.client.errors import (
    FeishuAuthError,
    FeishuBusinessError,
    FeishuInvalidInputError,
    FeishuTransientError,
)
from airflow_provider_feishu_corehr.client.models import FieldValue

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

pytestmark = pytest.mark.feishu_emulator(rate_limits="off")


def test_methods_return_typed_results(feishu_emulator: FeishuEmulator, make_async_client: MakeAsync) -> None:
    async def main() -> None:
        async with make_async_client() as client:
            latest = await client.get_offboarding(EMPLOYMENT)
            assert latest is not None and latest.offboarding_id == APPROVED
            edited = await client.edit_offboarding(APPROVED, [FieldValue("offboarding_date", "2026-10-31")])
            assert edited.fields == (FieldValue("offboarding_date", "2026-10-31"),)
            revoked = await client.revoke_offboarding(APPROVED)
            assert not revoked.already_withdrawn
            assert (await client.revoke_offboarding(APPROVED)).already_withdrawn
            records = [r async for r in client.search_offboardings(page_size=5)]
            assert len(records) == len(feishu_emulator.offboardings())
            named = await client.get_offboarding(EMPLOYMENT, offboarding_id=APPROVED)
            assert named is not None and named.status == "Withdrawn"

    asyncio.run(main())
    assert feishu_emulator.request_count("token") == 1


def test_bad_input_is_refused_when_called(feishu_emulator: FeishuEmulator, make_async_client: MakeAsync) -> None:
    client = make_async_client()
    with pytest.raises(FeishuInvalidInputError):
        client.search_offboardings(page_size=500)  # validated before iterating
    with pytest.raises(FeishuInvalidInputError):
        asyncio.run(client.get_offboarding(""))
    assert feishu_emulator.requests == []


def test_fifty_concurrent_coroutines_fetch_one_token(
    feishu_emulator: FeishuEmulator, make_async_client: MakeAsync
) -> None:
    async def main() -> list[object]:
        async with make_async_client() as client:
            return await asyncio.gather(*(client.edit_offboarding(APPROVED, DATE) for _ in range(50)))

    assert len(asyncio.run(main())) == 50
    assert feishu_emulator.request_count("token") == 1
    assert feishu_emulator.request_count("edit", code=0) == 50


@pytest.mark.parametrize(
    "status",
    [
        pytest.param(200, marks=pytest.mark.feishu_emulator(token_invalid_http_status=200, rate_limits="off")),
        pytest.param(400, marks=pytest.mark.feishu_emulator(token_invalid_http_status=400, rate_limits="off")),
    ],
)
def test_invalidated_tokens_cost_one_refresh_across_coroutines(
    status: int, feishu_emulator: FeishuEmulator, make_async_client: MakeAsync
) -> None:
    async def main() -> int:
        async with make_async_client() as client:
            await client.fetch_token()
            feishu_emulator.invalidate_tokens()
            results = await asyncio.gather(*(client.edit_offboarding(APPROVED, DATE) for _ in range(20)))
            return len(results)

    assert asyncio.run(main()) == 20
    assert feishu_emulator.request_count(code=99991663, http_status=status) >= 1
    assert feishu_emulator.request_count("token") == 2 and feishu_emulator.tokens_issued == 2
    assert feishu_emulator.request_count("edit", code=0) == 20


def test_rate_limit_and_transient_faults_follow_the_same_table(
    feishu_emulator: FeishuEmulator, make_async_client: MakeAsync, emu_time: EmulatorTime
) -> None:
    async def main() -> None:
        async with make_async_client() as client:
            await client.fetch_token()
            feishu_emulator.inject_fault("search", "rate_limit_429", reset=4)
            assert await client.get_offboarding(EMPLOYMENT) is not None
            assert emu_time.sleeps == [4.005]
            emu_time.sleeps.clear()
            for kind in ("html_502", "bad_json", "reset", "system_error"):
                feishu_emulator.inject_fault("search", kind)
                assert await client.get_offboarding(EMPLOYMENT) is not None
            feishu_emulator.inject_fault("edit", "system_error")  # a definite answer: an edit is re-sent
            await client.edit_offboarding(APPROVED, DATE)
            assert emu_time.sleeps == [BACKOFF[0]] * 5

    asyncio.run(main())


def test_budget_spent_and_business_errors(
    feishu_emulator: FeishuEmulator, make_async_client: MakeAsync, emu_time: EmulatorTime
) -> None:
    async def main() -> None:
        async with make_async_client(max_attempts=2) as client:
            await client.fetch_token()
            feishu_emulator.inject_fault("revoke", "http_500", count=5)
            with pytest.raises(FeishuTransientError) as transient:
                await client.revoke_offboarding(APPROVED)
            assert transient.value.attempts == 2 and transient.value.outcome_unknown
            assert transient.value.log_id == feishu_emulator.requests[-1].log_id
            feishu_emulator.clear_faults()
            with pytest.raises(FeishuBusinessError) as business:
                await client.revoke_offboarding("7095671727698478699")
            assert business.value.code == 1160201

    asyncio.run(main())
    assert emu_time.sleeps == BACKOFF[:1]


def test_wrong_secret_is_an_auth_error(feishu_emulator: FeishuEmulator, make_async_client: MakeAsync) -> None:
    async def main() -> None:
        async with make_async_client() as good:
            await good.fetch_token()
        async with make_async_client(app_secret="nope") as bad:
            with pytest.raises(FeishuAuthError):
                await bad.get_offboarding(EMPLOYMENT)

    asyncio.run(main())
    assert feishu_emulator.request_count("search") == 0


def test_timeout_is_retried(
    feishu_emulator: FeishuEmulator, make_async_client: MakeAsync, emu_time: EmulatorTime
) -> None:
    async def main() -> None:
        async with make_async_client(timeout=0.2) as client:
            await client.fetch_token()
            emu_time.sleeps.clear()  # the search's own backoffs only
            feishu_emulator.inject_fault("search", "delay", seconds=1.0)
            assert await client.get_offboarding(EMPLOYMENT) is not None

    asyncio.run(main())
    # The delayed first attempt timed out and was retried after the first backoff. A busy machine may slow a later
    # attempt past 0.2 s too: that one is retried the same way, after the next backoff of the schedule.
    assert emu_time.sleeps == BACKOFF[: max(1, len(emu_time.sleeps))]
