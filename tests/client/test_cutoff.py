"""``client/cutoff.py``, the one place the client reaches past public API (the socket of a urllib3 connection, a
pool's connection class): pinned on the installed ``requests`` / ``urllib3``, so an upgrade that moves either fails
here, by name, rather than leaving a dripping server free to hold a poke."""

from __future__ import annotations

import ssl
import time
from typing import TYPE_CHECKING

import pytest

from airflow_provider_feishu_corehr.client import cutoff, sync_http
from airflow_provider_feishu_corehr.client.models import ClientSettings

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

pytestmark = pytest.mark.feishu_emulator(rate_limits="off")


class Sock:
    shut = False

    def shutdown(self, how: int) -> None:
        self.shut = True


def test_the_attempt_watchdog_fires_due_watches_only() -> None:
    dog = cutoff.Watchdog()
    watches = [dog.watch(seconds) for seconds in (0.05, 0.05, 5.0)]
    socks = [Sock() for _ in watches]
    for watch, sock in zip(watches, socks, strict=True):
        watch.bind(sock)  # type: ignore[arg-type]
    watches[1].finish()  # this attempt ended in time
    for _ in range(200):  # bounded wait for the first deadline to pass and the watchdog to act
        if watches[0].cut:
            break
        time.sleep(0.01)
    assert watches[0].cut and socks[0].shut
    assert not watches[1].cut and not socks[1].shut
    assert not watches[2].cut and not socks[2].shut  # not due yet


def test_a_watch_that_never_saw_a_socket_is_not_cut() -> None:
    watch = cutoff.Watch()
    watch.fire()  # still connecting: the connect timeout ends that
    assert not watch.cut


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_socket_of_a_real_attempt_reaches_its_watch(scheme: str) -> None:
    """The pin, without a network: requests still asks the adapter for the pool (and the shared TLS context reaches
    it), and the pool builds its connections from ``ConnectionCls``. The next test pins ``sock`` on a real attempt."""
    import requests
    import urllib3

    settings = ClientSettings(base_url=f"{scheme}://127.0.0.1:1", app_id="a", app_secret="s")
    session = sync_http.new_session(settings)
    adapter = session.get_adapter(settings.base_url)
    prepared = requests.Request("POST", settings.base_url + "/x").prepare()
    pool = adapter.get_connection_with_tls_context(prepared, session.verify)  # type: ignore[attr-defined]
    assert isinstance(pool, urllib3.HTTPConnectionPool)
    assert pool.ConnectionCls.__name__.startswith("Watched")
    assert issubclass(pool.ConnectionCls, urllib3.connection.HTTPConnection)
    if scheme == "https":  # the one shared context of client/network.py, not requests' default one
        assert isinstance(pool.conn_kw.get("ssl_context"), ssl.SSLContext)
    session.close()


def test_a_real_attempt_binds_its_socket_and_is_cut_when_its_headers_drip(
    feishu_emulator: FeishuEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = ClientSettings(base_url=feishu_emulator.base_url, app_id="a", app_secret="s")
    session = sync_http.new_session(settings)
    bound: list[object] = []
    original = cutoff.Watch.bind

    def spy(self: cutoff.Watch, sock: object) -> None:
        bound.append(sock)
        original(self, sock)  # type: ignore[arg-type]

    monkeypatch.setattr(cutoff.Watch, "bind", spy)
    try:
        feishu_emulator.inject_fault("token", "drip", seconds=0.2, headers=True)
        url = feishu_emulator.base_url + "/open-apis/auth/v3/tenant_access_token/internal"
        outcome = sync_http.attempt(session, url, b"{}", {}, seconds=0.5, limit=1 << 20)
    finally:
        session.close()
    assert bound and all(sock is not None for sock in bound)
    assert outcome == sync_http.TransportFailure(sync_http.FailureKind.TIMEOUT)
