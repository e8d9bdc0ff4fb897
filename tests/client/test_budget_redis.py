"""The ``redis`` rate-limit scope (issue 20, parts 1-3) against a real ``redis-server`` process (tests/redis_server.py):
the booking script is the pacing rule, processes share one schedule, and a server that is down, slow or wrong neither
hangs nor fails a call (process pacing at the safe share, one warning naming the Redis connection, back to Redis when
it returns).

| case | test |
|---|---|
| the script is ``next_slot`` on the server's clock | ``test_the_booking_script_is_next_slot_on_the_servers_clock`` |
| two real processes | ``test_two_processes_share_one_schedule_in_redis`` |
| stopped, restarted | ``test_a_server_stopped_mid_run_falls_back_then_a_restarted_one_is_used_again`` |
| read-only replica | ``test_a_read_only_replica_falls_back_with_one_warning`` |
| wrong password | ``test_wrong_credentials_fall_back_naming_the_connection_never_the_password`` |
| slow (paused) | ``test_a_paused_server_costs_a_bounded_wait_then_falls_back`` (sync and async) |
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import sys
import time
from typing import TYPE_CHECKING, Any

import pytest
from redis_server import RedisServerProcess, redis_server

from airflow_provider_feishu_corehr.client.base import limiter_for
from airflow_provider_feishu_corehr.client.budget import FALLBACK_SHARE
from airflow_provider_feishu_corehr.client.budget_redis import RedisRateLimiter, RedisSlotStore, redis_key
from airflow_provider_feishu_corehr.client.codes import Endpoint
from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.models import ClientSettings, RedisServer
from airflow_provider_feishu_corehr.client.ratelimit import HEADROOM, next_slot, within

if TYPE_CHECKING:
    from collections.abc import Iterator

    from client_helpers import MakeClient

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

BUDGET_LOG = "airflow_provider_feishu_corehr.client.budget"
INTERVAL = 1 / (20 * HEADROOM)
SPAWN = multiprocessing.get_context("spawn")
NONE = float("-inf")
_ids = itertools.count()


@pytest.fixture(scope="session")
def shared_redis() -> Iterator[RedisServerProcess]:
    """One server for the tests that do not break it (each uses keys of its own)."""
    with redis_server() as server:
        yield server


def _server(port: int, *, password: str | None = None, conn_id: str | None = None) -> RedisServer:
    return RedisServer(conn_id=conn_id or f"redis_test_{next(_ids)}", host="127.0.0.1", port=port, password=password)


def _limiter(server: RedisServer, *, retry_after: float = 0.0, limit: int = 20) -> RedisRateLimiter:
    return RedisRateLimiter(
        limit, 1.0, key=redis_key("https://x", f"cli_{next(_ids)}", "edit"), server=server, retry_after=retry_after
    )


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == BUDGET_LOG and r.levelno >= logging.WARNING]


# -- the script ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "floor", "max_wait"),
    [
        (None, None, None),  # a schedule nobody used
        (-5.0, None, None),  # a slot in the past
        (0.3, None, None),  # the next free slot ahead
        (0.99, None, None),  # within the horizon
        (1.5, None, None),  # beyond the horizon: not taken
        (0.5, None, 0.2),  # beyond the caller's time left: not taken
        (3600.0, None, None),  # an hour ahead: stale, restarts from now
        (None, 0.4, None),  # keys lost (restart): goes on from the last slot seen
        (0.2, 0.6, None),  # the floor later than the stored slot
        (3600.0, 0.1, None),  # stale slot, fresh floor
        (None, 3600.0, None),  # stale floor: ignored
    ],
)
def test_the_booking_script_is_next_slot_on_the_servers_clock(
    shared_redis: RedisServerProcess, stored: float | None, floor: float | None, max_wait: float | None
) -> None:
    """The Lua copy of the pacing rule gives what ``next_slot`` gives for the same inputs (offsets are from the
    server's clock now; the script returns the ``now`` it used)."""
    store = RedisSlotStore(_server(shared_redis.port))
    key = f"script-test-{next(_ids)}"
    server_now = float(store.client.time()[0])
    if stored is not None:
        store.client.set(key, repr(server_now + stored))
    floor_at = NONE if floor is None else server_now + floor
    got = store.book(key, now=0.0, interval=INTERVAL, max_wait=max_wait, horizon=1.0, floor=floor_at)
    before = NONE if stored is None else server_now + stored
    want = next_slot(store.now, before, INTERVAL, max_wait, 1.0, floor_at)
    assert got.taken == want.taken and got.stale == want.stale
    assert got.wait == pytest.approx(want.wait, abs=1e-6)
    assert got.next_free == pytest.approx(want.next_free, abs=1e-6)
    kept = store.client.get(key)
    if want.next_free != NONE:
        assert kept is not None and float(kept) == pytest.approx(want.next_free, abs=1e-6)
        if want.next_free != before:  # written: expires one horizon after its slot
            assert 0 < store.client.pttl(key) <= (want.next_free - store.now + 1.0) * 1000 + 1
    else:
        assert kept is None


def test_keys_hash_the_app_and_never_hold_the_secret() -> None:
    settings = ClientSettings(base_url="https://open.feishu.cn", app_id="cli_a", app_secret="s3cret-value")
    key = redis_key(settings.base_url, settings.app_id, "search")
    assert key.startswith("feishu-corehr:rate:v1:") and key.endswith(":search")
    assert "cli_a" not in key and "s3cret" not in key and "feishu.cn" not in key
    assert redis_key("https://open.larksuite.com", "cli_a", "search") != key


# -- two processes -----------------------------------------------------------------------------------------------


def _book_in_process(port: int, key: str, count: int, out: Any) -> None:
    """In a separate process: take ``count`` slots of a 20/s Redis schedule; report each slot on the server's clock
    and whether the process ever paced alone."""
    limiter = RedisRateLimiter(20, 1.0, key=key, server=_server(port, conn_id="redis_two_processes"))
    store = limiter.redis_store
    booked = 0
    while booked < count:
        booking = limiter.book()
        if booking.taken:
            out.put(store.now + booking.wait)  # the slot, on the server's clock the booking used
            booked += 1
        else:  # the schedule is full one window ahead: book again later
            time.sleep(0.2)
    out.put(("degraded", limiter.degraded))


def test_two_processes_share_one_schedule_in_redis(shared_redis: RedisServerProcess) -> None:
    key = f"two-processes-{next(_ids)}"
    out = SPAWN.Queue()
    workers = [SPAWN.Process(target=_book_in_process, args=(shared_redis.port, key, 15, out)) for _ in range(2)]
    for worker in workers:
        worker.start()
    got = [out.get(timeout=60) for _ in range(32)]
    for worker in workers:
        worker.join(30)
    flags = [item for item in got if isinstance(item, tuple)]
    slots = sorted(item for item in got if not isinstance(item, tuple))
    assert flags == [("degraded", False)] * 2 and len(slots) == 30
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert min(gaps) >= INTERVAL - 1e-3  # 30 distinct slots one interval apart, whichever process took them


def test_redis_scope_picks_the_redis_limiter_one_per_app_and_endpoint(shared_redis: RedisServerProcess) -> None:
    server = _server(shared_redis.port)
    settings = ClientSettings(
        base_url="https://x", app_id=f"cli_{next(_ids)}", app_secret="s", rate_limit_scope="redis",
        rate_limit_redis=server, rate_limit_share=0.5,
    )  # fmt: skip
    limiter = limiter_for(settings, Endpoint.EDIT)
    assert isinstance(limiter, RedisRateLimiter) and limiter.share == 0.5
    assert limiter is limiter_for(settings, Endpoint.EDIT) and limiter is not limiter_for(settings, Endpoint.SEARCH)
    assert limiter.key == redis_key("https://x", settings.app_id, "edit")
    limiter.book()
    assert shared_redis_keys(limiter) == [limiter.key]


def shared_redis_keys(limiter: RedisRateLimiter) -> list[str]:
    return [k.decode() for k in limiter.redis_store.client.keys(limiter.key)]


def test_redis_scope_without_a_server_is_a_typed_error() -> None:
    settings = ClientSettings(base_url="https://y", app_id="cli_y", app_secret="s", rate_limit_scope="redis")
    with pytest.raises(FeishuInvalidInputError, match="rate_limit_redis_conn_id, 'redis_default'"):
        limiter_for(settings, Endpoint.EDIT)


def test_a_client_on_the_redis_scope_sends_every_request_once(
    shared_redis: RedisServerProcess, feishu_emulator: FeishuEmulator, make_client: MakeClient
) -> None:
    server = _server(shared_redis.port)
    client = make_client(
        sleep=time.sleep, rate_limit_scope="redis", rate_limit_redis=server, rate_limits={"search": (20, 1.0)}
    )
    for _ in range(4):
        list(client.search_offboardings(employment_ids=["6982509313466189341"]))
    assert feishu_emulator.request_count("search") == 4
    limiter = client._limiter(Endpoint.SEARCH)
    assert isinstance(limiter, RedisRateLimiter) and not limiter.degraded
    assert limiter.redis_store.client.exists(redis_key(feishu_emulator.base_url, feishu_emulator.app_id, "search"))


# -- down, restarted, read-only, wrong password, slow -------------------------------------------------------------


def test_a_server_stopped_mid_run_falls_back_then_a_restarted_one_is_used_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with redis_server() as server:
        limiter = _limiter(_server(server.port, conn_id="redis_stopped"))
        with caplog.at_level(logging.INFO, logger=BUDGET_LOG):
            with within(30):
                assert limiter.book().taken and not limiter.degraded
                server.stop()
                down = [limiter.book() for _ in range(3)]  # tried each time (retry_after 0), never raised
            assert all(b.taken for b in down) and limiter.degraded
            assert limiter.fallback.interval == pytest.approx(INTERVAL / FALLBACK_SHARE)
            warnings = _warnings(caplog)
            assert len(warnings) == 1 and "Redis connection 'redis_stopped'" in warnings[0]
            assert "Connection refused" in warnings[0] and "25 % of its share" in warnings[0]
            last_seen = limiter._seen

            server.start()  # the same port, no keys, no scripts
            back = limiter.book()
        assert back.taken and not limiter.degraded
        assert any("is used again" in r.getMessage() for r in caplog.records)
        assert back.next_free >= last_seen  # the schedule goes on from the last slot this process saw
        assert float(limiter.redis_store.client.get(limiter.key) or 0) == back.next_free


def test_a_read_only_replica_falls_back_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    with redis_server() as primary, redis_server("--replicaof", "127.0.0.1", str(primary.port)) as replica:
        limiter = _limiter(_server(replica.port, conn_id="redis_replica"))
        with caplog.at_level(logging.INFO, logger=BUDGET_LOG), within(30):
            bookings = [limiter.book() for _ in range(3)]
        assert all(b.taken for b in bookings) and limiter.degraded
        warnings = _warnings(caplog)
        assert len(warnings) == 1 and "Redis connection 'redis_replica'" in warnings[0]
        assert "ReadOnlyError" in warnings[0] or "READONLY" in warnings[0]


def test_wrong_credentials_fall_back_naming_the_connection_never_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with redis_server("--requirepass", "the-right-pass-7") as server:
        limiter = _limiter(_server(server.port, password="a-wrong-pass-9", conn_id="redis_wrong_pass"))
        with caplog.at_level(logging.DEBUG), within(30):
            bookings = [limiter.book() for _ in range(2)]
        assert all(b.taken for b in bookings) and limiter.degraded
        warnings = _warnings(caplog)
        assert len(warnings) == 1 and "Redis connection 'redis_wrong_pass'" in warnings[0]
        assert "AuthenticationError" in warnings[0]
        text = caplog.text + "".join(r.getMessage() for r in caplog.records)
        assert "a-wrong-pass-9" not in text and "the-right-pass-7" not in text

        right = _limiter(_server(server.port, password="the-right-pass-7"))
        assert right.book().taken and not right.degraded  # the control: the right password books in Redis


def test_a_paused_server_costs_a_bounded_wait_then_falls_back(caplog: pytest.LogCaptureFixture) -> None:
    """SIGSTOP: connections are accepted, nothing answers. The booking gives up after the socket timeout (the call's
    own ``within`` bound is never reached: no FeishuNotSentError), paces alone, and uses Redis again once it
    answers."""
    with redis_server() as server:
        limiter = _limiter(_server(server.port, conn_id="redis_paused"), retry_after=0.0)
        assert limiter.book().taken
        server.pause()
        try:
            with caplog.at_level(logging.INFO, logger=BUDGET_LOG), within(60):
                slow = limiter.book()
        finally:
            server.resume()
        assert slow.taken and limiter.degraded
        warnings = _warnings(caplog)
        assert len(warnings) == 1 and "Redis connection 'redis_paused'" in warnings[0] and "Timeout" in warnings[0]
        assert limiter.book().taken and not limiter.degraded


def test_a_paused_server_never_blocks_the_event_loop(caplog: pytest.LogCaptureFixture) -> None:
    """The async path books on the booking thread: while the paused server holds a booking, the loop runs other
    coroutines (counted ticks), and the booking ends in process pacing."""
    with redis_server() as server:
        limiter = _limiter(_server(server.port, conn_id="redis_paused_async"))
        assert limiter.book().taken
        server.pause()
        ticks = 0

        async def tick(done: asyncio.Event) -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        async def main() -> None:
            done = asyncio.Event()
            ticker = asyncio.create_task(tick(done))
            with within(60):
                await limiter.aacquire(asyncio.sleep)
            done.set()
            await ticker

        try:
            with caplog.at_level(logging.INFO, logger=BUDGET_LOG):
                asyncio.run(main())
        finally:
            server.resume()
        assert limiter.degraded and ticks > 1  # the loop ran while the booking waited for the paused server
        assert len(_warnings(caplog)) == 1


def test_without_the_redis_package_the_module_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # what `import redis` meets where it is not installed
    monkeypatch.delitem(sys.modules, "airflow_provider_feishu_corehr.client.budget_redis")
    with pytest.raises(FeishuInvalidInputError, match=r"pip install 'airflow-provider-feishu-corehr\[redis\]'"):
        import airflow_provider_feishu_corehr.client.budget_redis  # noqa: F401
