"""Token cache (``client/tokens.py``) with a fake clock: keys, refresh margin, one fetch at a time, invalidation."""

from __future__ import annotations

import asyncio
import threading

import pytest

from airflow_provider_feishu_corehr.client.api import TokenGrant
from airflow_provider_feishu_corehr.client.models import ClientSettings
from airflow_provider_feishu_corehr.client.tokens import TokenCache, TokenKey, refresh_margin


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Issuer:
    """Hands out tok-1, tok-2, ... and counts fetches; ``gate`` lets a test hold fetches open."""

    def __init__(self, expire: float = 7200.0) -> None:
        self.expire = expire
        self.fetches = 0
        self.gate = threading.Event()
        self.gate.set()
        self._lock = threading.Lock()

    def __call__(self) -> TokenGrant:
        self.gate.wait(5)
        with self._lock:
            self.fetches += 1
            return TokenGrant(f"tok-{self.fetches}", self.expire)


KEY = TokenKey("https://open.feishu.cn", "cli_a", "h")


def test_key_hashes_the_secret_and_differs_per_secret_base_url_and_app() -> None:
    right = TokenKey.for_settings(ClientSettings("https://open.feishu.cn", "cli_a", "right-secret"))
    wrong = TokenKey.for_settings(ClientSettings("https://open.feishu.cn", "cli_a", "wrong-secret"))
    other_host = TokenKey.for_settings(ClientSettings("https://open.larksuite.com", "cli_a", "right-secret"))
    assert len({right, wrong, other_host}) == 3
    assert "right-secret" not in repr(right) and "right-secret" not in right.secret_hash


@pytest.mark.parametrize(("expire", "margin"), [(7200, 180), (900, 180), (600, 120), (10, 2)])
def test_refresh_margin_is_three_minutes_but_at_most_a_fifth_of_the_lifetime(expire: float, margin: float) -> None:
    assert refresh_margin(expire) == margin


def test_token_is_reused_until_the_margin_then_refreshed() -> None:
    clock, issuer = FakeClock(), Issuer(expire=7200)
    cache = TokenCache(clock)
    assert cache.get(KEY, issuer) == ("tok-1", True)
    clock.now += 7200 - 180 - 1
    assert cache.get(KEY, issuer) == ("tok-1", False)
    clock.now += 1
    assert cache.get(KEY, issuer) == ("tok-2", True)
    assert issuer.fetches == 2


def test_fresh_fetches_even_when_cached() -> None:
    cache, issuer = TokenCache(FakeClock()), Issuer()
    cache.get(KEY, issuer)
    assert cache.get(KEY, issuer, fresh=True) == ("tok-2", True)
    assert cache.get(KEY, issuer) == ("tok-2", False)


def test_invalidate_drops_only_the_token_that_was_refused() -> None:
    cache, issuer = TokenCache(FakeClock()), Issuer()
    cache.get(KEY, issuer)
    assert cache.invalidate(KEY, "tok-1")
    assert cache.get(KEY, issuer) == ("tok-2", True)
    # a caller that still holds tok-1 must not throw away the fresh tok-2
    assert not cache.invalidate(KEY, "tok-1")
    assert cache.get(KEY, issuer) == ("tok-2", False)


def test_one_fetch_at_a_time_across_threads() -> None:
    cache, issuer = TokenCache(FakeClock()), Issuer()
    issuer.gate.clear()
    results: list[tuple[str, bool]] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get(KEY, issuer))) for _ in range(8)]
    for thread in threads:
        thread.start()
    issuer.gate.set()
    for thread in threads:
        thread.join(10)
    assert issuer.fetches == 1
    assert sorted(results) == [("tok-1", False)] * 7 + [("tok-1", True)]


def test_one_fetch_at_a_time_across_coroutines() -> None:
    cache = TokenCache(FakeClock())
    fetches = 0

    async def fetch() -> TokenGrant:
        nonlocal fetches
        fetches += 1
        await asyncio.sleep(0.01)
        return TokenGrant(f"tok-{fetches}", 7200)

    async def main() -> list[tuple[str, bool]]:
        return await asyncio.gather(*(cache.aget(KEY, fetch) for _ in range(10)))

    results = asyncio.run(main())
    assert fetches == 1 and {token for token, _ in results} == {"tok-1"}
    # a second event loop gets its own lock and still shares the cached token
    assert asyncio.run(cache.aget(KEY, fetch)) == ("tok-1", False)


def test_failed_fetch_caches_nothing_and_releases_the_lock() -> None:
    cache = TokenCache(FakeClock())

    def broken() -> TokenGrant:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        cache.get(KEY, broken)
    assert cache.cached(KEY) is None
    assert cache.get(KEY, Issuer()) == ("tok-1", True)


def test_grant_repr_hides_the_token() -> None:
    assert "tok-secret" not in repr(TokenGrant("tok-secret", 7200))
