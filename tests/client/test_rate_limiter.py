"""Client-side rate limiter (``client/ratelimit.py``) with a fake clock."""

from __future__ import annotations

import asyncio
import itertools
import threading

import pytest

from airflow_provider_feishu_corehr.client.base import limiter_for
from airflow_provider_feishu_corehr.client.codes import Endpoint
from airflow_provider_feishu_corehr.client.models import ClientSettings
from airflow_provider_feishu_corehr.client.ratelimit import HEADROOM, RateLimiter, rate_for


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def send_times(limiter: RateLimiter, clock: FakeClock, n: int) -> list[float]:
    times = []
    for _ in range(n):
        limiter.acquire(clock.sleep)
        times.append(clock.now)
    return times


def test_sequential_caller_is_paced_evenly_at_the_headroom_share_of_the_limit() -> None:
    clock = FakeClock()
    limiter = RateLimiter(20, 1.0, clock=clock)
    times = send_times(limiter, clock, 100)
    gaps = {round(b - a, 9) for a, b in itertools.pairwise(times)}
    assert gaps == {round(1.0 / (20 * HEADROOM), 9)}
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert 0.95 * 20 <= rate <= 20


@pytest.mark.parametrize(("limit", "window"), [(20, 1.0), (100, 60.0), (3, 2.0)])
def test_no_window_of_the_server_length_holds_more_than_the_limit(limit: int, window: float) -> None:
    clock = FakeClock()
    limiter = RateLimiter(limit, window, clock=clock)
    times = send_times(limiter, clock, limit * 4)
    # a fixed window may start at any send (the emulator opens it at the first request after the last one closed)
    for i, start in enumerate(times):
        assert sum(1 for t in times[i:] if t < start + window) <= limit


def test_a_caller_slower_than_the_rate_never_waits() -> None:
    clock = FakeClock()
    limiter = RateLimiter(20, 1.0, clock=clock)
    waited = []
    for _ in range(5):
        waited.append(limiter.acquire(clock.sleep))
        clock.now += 0.2  # the request itself takes longer than the interval
    assert waited == [0.0] * 5


def test_threads_share_one_schedule_with_distinct_slots() -> None:
    clock = FakeClock()
    limiter = RateLimiter(20, 1.0, clock=clock)
    delays: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(25):
            delay = limiter.reserve()
            with lock:
                delays.append(delay)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # the clock does not move: the 200 reservations are 200 consecutive slots
    assert sorted(round(d / limiter.interval) for d in delays) == list(range(200))


def test_async_acquire_uses_the_same_schedule() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, 1.0, clock=clock)
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    async def main() -> None:
        for _ in range(3):
            await limiter.aacquire(record)

    limiter.reserve()
    asyncio.run(main())
    assert waits == pytest.approx([limiter.interval, 2 * limiter.interval, 3 * limiter.interval])


def test_documented_defaults_overrides_and_off() -> None:
    default = ClientSettings("https://open.feishu.cn", "cli_rl_1", "s")
    assert rate_for(default, Endpoint.EDIT) == (20, 1.0)
    assert rate_for(default, Endpoint.SEARCH) == (100, 60.0)
    assert limiter_for(default, Endpoint.TOKEN) is None
    custom = ClientSettings("https://open.feishu.cn", "cli_rl_1", "s", rate_limits={"edit": (5, 1.0), "search": None})
    assert rate_for(custom, Endpoint.EDIT) == (5, 1.0) and rate_for(custom, Endpoint.REVOKE) == (20, 1.0)
    assert limiter_for(custom, Endpoint.SEARCH) is None


def test_limiters_are_process_wide_per_base_url_app_and_endpoint() -> None:
    a = ClientSettings("https://open.feishu.cn", "cli_rl_2", "secret-1")
    b = ClientSettings("https://open.feishu.cn", "cli_rl_2", "secret-2")
    assert limiter_for(a, Endpoint.EDIT) is limiter_for(b, Endpoint.EDIT)
    assert limiter_for(a, Endpoint.EDIT) is not limiter_for(a, Endpoint.REVOKE)
    other_app = ClientSettings("https://open.feishu.cn", "cli_rl_3", "secret-1")
    assert limiter_for(a, Endpoint.EDIT) is not limiter_for(other_app, Endpoint.EDIT)
