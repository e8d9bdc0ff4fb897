"""The blocking client against the emulator over real HTTP: methods, typed results, token lifecycle."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest
from client_helpers import APPROVED, DATE, EMPLOYMENT, EmulatorTime, MakeClient

from airflow_provider_feishu_corehr.client.errors import (
    FeishuAuthError,
    FeishuBusinessError,
    FeishuInvalidInputError,
    FeishuTransientError,
)
from airflow_provider_feishu_corehr.client.models import FieldValue

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.client.sync import FeishuClient
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

pytestmark = pytest.mark.feishu_emulator(rate_limits="off")

OLDER_OF_EMPLOYMENT = "7095671727698478603"
WITHDRAWN = "7095671727698478608"


def test_revoke_then_revoke_again_is_already_withdrawn(
    feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    client = make_client()
    first = client.revoke_offboarding(APPROVED, operator_id="6893014062142064135")
    assert (first.offboarding_id, first.already_withdrawn) == (APPROVED, False)
    assert feishu_emulator.get_offboarding(APPROVED)["status"] == "Withdrawn"
    again = client.revoke_offboarding(APPROVED)
    assert again.already_withdrawn
    assert again.log_id == feishu_emulator.requests[-1].log_id  # the X-Tt-Logid of that very response


def test_edit_returns_the_echoed_fields(feishu_emulator: FeishuEmulator, make_client: MakeClient) -> None:
    result = make_client().edit_offboarding(APPROVED, [FieldValue("offboarding_date", "2026-11-30")])
    assert result.fields == (FieldValue("offboarding_date", "2026-11-30"),)
    assert feishu_emulator.get_offboarding(APPROVED)["offboarding_info"]["offboarding_date"] == "2026-11-30"


def test_search_reads_every_page(feishu_emulator: FeishuEmulator, make_client: MakeClient) -> None:
    records = list(make_client().search_offboardings(page_size=4))
    expected = {item["offboarding_id"] for item in feishu_emulator.offboardings()}
    assert len(records) == len(expected) and {r.offboarding_id for r in records} == expected
    assert feishu_emulator.request_count("search") == -(-len(expected) // 4)


def test_search_filters(feishu_emulator: FeishuEmulator, make_client: MakeClient) -> None:
    client = make_client()
    withdrawn = list(client.search_offboardings(statuses="Withdrawn"))
    assert withdrawn and all(r.status == "Withdrawn" for r in withdrawn)
    mine = list(client.search_offboardings(employment_ids=[EMPLOYMENT]))
    assert {r.offboarding_id for r in mine} == {APPROVED, OLDER_OF_EMPLOYMENT}
    dated = list(client.search_offboardings(offboarding_date_start="2026-12-31", offboarding_date_end="2026-12-31"))
    assert all(r.offboarding_date == "2026-12-31" for r in dated)


def test_get_offboarding_latest_named_and_missing(feishu_emulator: FeishuEmulator, make_client: MakeClient) -> None:
    client = make_client()
    latest = client.get_offboarding(EMPLOYMENT)
    assert latest is not None and (latest.offboarding_id, latest.status) == (APPROVED, "Approved")
    older = client.get_offboarding(EMPLOYMENT, offboarding_id=OLDER_OF_EMPLOYMENT)
    assert older is not None and older.status == "Withdrawn"
    assert client.get_offboarding(EMPLOYMENT, offboarding_id="7095671727698478699") is None
    assert client.get_offboarding("6982509313466189999") is None


def test_user_id_type_is_sent_to_search(feishu_emulator: FeishuEmulator, make_client: MakeClient) -> None:
    open_id = feishu_emulator.employment_id_as(EMPLOYMENT, "open_id")
    client = make_client()
    assert client.get_offboarding(open_id) is None  # people_corehr_id (the default) does not know an open_id
    found = client.get_offboarding(open_id, user_id_type="open_id")
    assert found is not None and found.offboarding_id == APPROVED and found.employment_id == open_id


def test_business_errors_are_typed_with_code_advice_and_log_id(
    feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    client = make_client()
    with pytest.raises(FeishuBusinessError) as caught:
        client.revoke_offboarding("7095671727698478699")
    error = caught.value
    last = feishu_emulator.requests[-1]
    assert (error.code, error.http_status, error.endpoint, error.log_id) == (1160201, 400, "revoke", last.log_id)
    assert error.permanent and error.advice and "offboarding is not exist" in str(error)
    with pytest.raises(FeishuBusinessError) as edit_error:
        client.edit_offboarding("7095671727698478605", DATE)  # still in approval
    assert edit_error.value.code == 1160623
    assert feishu_emulator.request_count("edit") == 1  # never retried


def test_bad_input_is_refused_before_any_request(feishu_emulator: FeishuEmulator, make_client: MakeClient) -> None:
    client = make_client()
    with pytest.raises(FeishuInvalidInputError):
        client.edit_offboarding(APPROVED, [])
    with pytest.raises(FeishuInvalidInputError):
        client.search_offboardings(statuses=["Gone"])
    with pytest.raises(FeishuInvalidInputError):
        client.revoke_offboarding(" ")
    assert feishu_emulator.requests == []


# -- token lifecycle --------------------------------------------------------------------------------------


def test_many_calls_use_one_token(feishu_emulator: FeishuEmulator, make_client: MakeClient) -> None:
    client = make_client()
    for _ in range(25):
        client.edit_offboarding(APPROVED, DATE)
    list(client.search_offboardings())
    client.get_offboarding(EMPLOYMENT)
    assert feishu_emulator.request_count("token") == 1
    assert feishu_emulator.request_count("edit", code=0) == 25


def test_eight_threads_times_two_hundred_calls_use_one_token(
    feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    client = make_client()
    start = threading.Barrier(8)

    def work(_: int) -> int:
        start.wait()
        return sum(1 for _ in range(200) if client.edit_offboarding(APPROVED, DATE).fields)

    with ThreadPoolExecutor(8) as pool:
        done = sum(pool.map(work, range(8)))
    assert done == 1600
    assert feishu_emulator.request_count("token") == 1
    assert feishu_emulator.request_count("edit", code=0) == 1600
    assert feishu_emulator.request_count(http_status=429) == 0


@pytest.mark.feishu_emulator(token_ttl=60, rate_limits="off")
def test_short_ttl_is_refreshed_before_expiry_without_a_failed_call(
    feishu_emulator: FeishuEmulator, make_client: MakeClient, emu_time: EmulatorTime
) -> None:
    # 60 s tokens: the client refreshes 12 s before expiry (a fifth of the lifetime); the emulator hands out a
    # new token once less than 15 s remain. Client and server clocks move together, 1 s per call, over 4 TTLs.
    client = make_client()
    for _ in range(240):
        client.edit_offboarding(APPROVED, DATE)
        emu_time.advance(1.0)
    assert feishu_emulator.request_count("edit", code=0) == 240
    assert feishu_emulator.request_count(code=99991663) == 0  # never sent an expired token
    assert feishu_emulator.request_count("token") == feishu_emulator.tokens_issued == 5  # at 0, 48, 96, 144, 192 s


@pytest.mark.parametrize(
    "status",
    [
        pytest.param(200, marks=pytest.mark.feishu_emulator(token_invalid_http_status=200, rate_limits="off")),
        pytest.param(400, marks=pytest.mark.feishu_emulator(token_invalid_http_status=400, rate_limits="off")),
    ],
)
@pytest.mark.parametrize("threads", [1, 4])
def test_invalidating_every_token_mid_run_costs_one_refresh_and_no_failed_call(
    status: int, threads: int, feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    emu, client = feishu_emulator, make_client()
    calls, invalidated = 60, threading.Event()

    def work(n: int) -> int:
        ok = 0
        for i in range(calls):
            if n == 0 and i == calls // 2:
                emu.invalidate_tokens()
                invalidated.set()
            ok += client.edit_offboarding(APPROVED, DATE).offboarding_id == APPROVED
        return ok

    with ThreadPoolExecutor(threads) as pool:
        assert sum(pool.map(work, range(threads))) == calls * threads
    assert invalidated.is_set()
    refused = [r for r in emu.requests if r.code == 99991663]
    assert refused and all(r.http_status == status for r in refused)
    assert emu.request_count("token") == 2 and emu.tokens_issued == 2  # the first token and one refresh
    assert emu.request_count("edit", code=0) == calls * threads
    assert emu.request_count(http_status=429) == 0


def test_wrong_secret_fails_even_with_a_valid_token_cached_for_the_app_id(
    feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    make_client().edit_offboarding(APPROVED, DATE)  # caches a valid token for cli_emulator
    wrong = make_client(app_secret="not-the-secret")
    with pytest.raises(FeishuAuthError) as caught:
        wrong.edit_offboarding(APPROVED, DATE)
    error = caught.value
    assert error.endpoint == "token" and error.code is not None and error.permanent
    assert error.log_id == feishu_emulator.requests[-1].log_id
    assert "not-the-secret" not in str(error)
    assert feishu_emulator.request_count("token") == 2 and feishu_emulator.request_count("edit") == 1


def test_fetch_token_fresh_asks_the_server_and_on_token_sees_every_new_token(
    feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    seen: list[str] = []
    client = make_client(on_token=seen.append)
    token = client.fetch_token()
    assert client.fetch_token() == token and feishu_emulator.request_count("token") == 1
    feishu_emulator.invalidate_tokens()
    fresh = client.fetch_token(fresh=True)
    assert fresh != token and feishu_emulator.request_count("token") == 2
    assert seen == [token, fresh]


# -- client-side rate limiter ------------------------------------------------------------------------------


@pytest.mark.feishu_emulator(rate_limits=None)  # the documented limits: edit 20 per 1 s
def test_client_side_limiter_keeps_threads_within_the_documented_rate(
    feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    # Three threads share one limiter (the process-wide one of base URL, app and endpoint). Without it these
    # 60 edits would reach the emulator within a fraction of a second and get at least two 429 answers (the
    # 21st and the 41st of a burst). With it they are paced at 97 % of 20/s: no 429 expected; one is tolerated,
    # because a scheduling hiccup of > 30 ms on a busy machine can shift a window's first request.
    # Real sleeping here (about 3 s): the limiter paces on the real clock.
    client = make_client(rate_limits={}, rate_limit_wait_max=2.0, sleep=time.sleep)
    client.fetch_token()
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: [edit_once(client) for _ in range(20)], range(3)))
    assert sum(map(len, results)) == 60
    assert feishu_emulator.request_count("edit", code=0) == 60
    assert feishu_emulator.request_count("edit", http_status=429) <= 1


def edit_once(client: FeishuClient) -> str:
    return client.edit_offboarding(APPROVED, DATE).offboarding_id


def test_proxy_environment_is_honoured(
    feishu_emulator: FeishuEmulator, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The session reads the proxy variables once, for the base URL; NO_PROXY is honoured.
    import socket

    with socket.socket() as sock:  # a "proxy" port with nobody listening
        sock.bind(("127.0.0.1", 0))
        dead_proxy = f"http://127.0.0.1:{sock.getsockname()[1]}"
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", dead_proxy)
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("no_proxy", "")
    with pytest.raises(FeishuTransientError, match="connection error"):
        make_client(max_attempts=2).fetch_token()
    assert feishu_emulator.requests == []  # everything went to the (dead) proxy
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    assert make_client().fetch_token()
    assert feishu_emulator.request_count("token") == 1
