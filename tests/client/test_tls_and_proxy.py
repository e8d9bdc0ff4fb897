"""One TLS and proxy path for both clients (``client/network.py``), over the emulator's HTTPS mode with a test CA.

The sync client (poke mode) and the async client (deferrable mode) trust the same CA bundle, from the same
settings: connection extra ``ca_bundle``, else ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` / ``SSL_CERT_FILE`` /
``SSL_CERT_DIR``. A certificate nobody trusts fails with :class:`FeishuTLSError` in both, with nothing sent.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from client_helpers import EMPLOYMENT, MakeAsync, MakeClient

from airflow_provider_feishu_corehr.client.errors import (
    FeishuInvalidInputError,
    FeishuTLSError,
    FeishuTransientError,
)
from airflow_provider_feishu_corehr.client.models import ClientSettings
from airflow_provider_feishu_corehr.client.network import environment_proxy, network_settings

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")
https = pytest.mark.feishu_emulator(tls=True, rate_limits="off")


@pytest.fixture(autouse=True)
def _no_ca_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CA_VARIABLES:
        monkeypatch.delenv(name, raising=False)


# -- over HTTPS -------------------------------------------------------------------------------------------------


@https
def test_sync_and_async_clients_over_https_with_the_connection_ca_bundle(
    feishu_emulator: FeishuEmulator, make_client: MakeClient, make_async_client: MakeAsync
) -> None:
    assert feishu_emulator.base_url.startswith("https://127.0.0.1:") and feishu_emulator.ca_path
    record = make_client(ca_bundle=feishu_emulator.ca_path).get_offboarding(EMPLOYMENT)
    assert record is not None and record.employment_id == EMPLOYMENT

    async def main() -> None:
        async with make_async_client(ca_bundle=feishu_emulator.ca_path) as client:
            assert await client.get_offboarding(EMPLOYMENT) is not None

    asyncio.run(main())
    assert feishu_emulator.request_count("search", code=0) == 2


@https
@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"])
def test_both_clients_read_the_same_ca_variables(
    variable: str,
    feishu_emulator: FeishuEmulator,
    make_client: MakeClient,
    make_async_client: MakeAsync,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert feishu_emulator.ca_path is not None
    monkeypatch.setenv(variable, feishu_emulator.ca_path)
    assert make_client().fetch_token(fresh=True)

    async def main() -> None:
        async with make_async_client() as client:
            assert await client.fetch_token(fresh=True)

    asyncio.run(main())
    assert feishu_emulator.request_count("token", code=0) == 2


@https
def test_untrusted_certificate_is_a_typed_error_in_both_clients_and_nothing_is_sent(
    feishu_emulator: FeishuEmulator, make_client: MakeClient, make_async_client: MakeAsync
) -> None:
    with pytest.raises(FeishuTLSError) as sync_error:
        make_client().fetch_token()
    assert sync_error.value.permanent and sync_error.value.attempts == 1
    assert "ca_bundle" in str(sync_error.value)

    async def main() -> None:
        async with make_async_client() as client:
            with pytest.raises(FeishuTLSError) as async_error:
                await client.fetch_token()
            assert async_error.value.attempts == 1

    asyncio.run(main())
    assert feishu_emulator.requests == []  # the handshake failed: no request, no secret


@https
def test_hook_over_https_from_the_emulator_connection(feishu_connection: FeishuEmulator) -> None:
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

    conn = json.loads(feishu_connection.airflow_conn_json())
    assert conn["extra"] == {"ca_bundle": feishu_connection.ca_path}
    hook = FeishuHook()
    assert hook.settings.ca_bundle == feishu_connection.ca_path
    assert hook.test_connection()[0] is True
    assert hook.get_offboarding(EMPLOYMENT) is not None


@https
def test_hook_over_https_without_the_ca_fails_clearly(
    feishu_emulator: FeishuEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

    conn = json.loads(feishu_emulator.airflow_conn_json())
    conn.pop("extra")
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_NOCA", json.dumps(conn))
    ok, message = FeishuHook("feishu_noca").test_connection()
    assert not ok and "not trusted" in message


# -- settings: where trust and routing come from ------------------------------------------------------------


def settings(**kwargs: object) -> ClientSettings:
    return ClientSettings(base_url="https://open.feishu.cn", app_id="a", app_secret="s", **kwargs)  # type: ignore[arg-type]


def test_ca_precedence_connection_extra_then_variables(tmp_path: os.PathLike[str]) -> None:
    files = {}
    for name in ("extra", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        path = os.path.join(tmp_path, f"{name}.pem")
        open(path, "w").close()
        files[name] = path
    env = {name: files[name] for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")}
    assert network_settings(settings(ca_bundle=files["extra"]), env).ca_file == files["extra"]
    assert network_settings(settings(), env).ca_file == files["REQUESTS_CA_BUNDLE"]
    del env["REQUESTS_CA_BUNDLE"]
    assert network_settings(settings(), env).ca_file == files["CURL_CA_BUNDLE"]
    del env["CURL_CA_BUNDLE"]
    found = network_settings(settings(), {**env, "SSL_CERT_DIR": str(tmp_path)})
    assert (found.ca_file, found.ca_dir) == (files["SSL_CERT_FILE"], str(tmp_path))
    directory = network_settings(settings(ca_bundle=str(tmp_path)), {})
    assert (directory.ca_file, directory.ca_dir) == (None, str(tmp_path))
    assert network_settings(settings(), {}).ca_source == "certifi"


def test_missing_ca_or_client_cert_file_is_named_before_any_request() -> None:
    with pytest.raises(FeishuInvalidInputError, match="connection extra ca_bundle points to"):
        network_settings(settings(ca_bundle="/nonexistent/ca.pem"), {})
    with pytest.raises(FeishuInvalidInputError, match="REQUESTS_CA_BUNDLE points to"):
        network_settings(settings(), {"REQUESTS_CA_BUNDLE": "/nonexistent/ca.pem"})
    with pytest.raises(FeishuInvalidInputError, match="client_cert points to"):
        network_settings(settings(client_cert="/nonexistent/cert.pem"), {})


def test_client_certificate_is_loaded_into_the_shared_context(tmp_path: os.PathLike[str]) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("client.example")
    path = os.path.join(tmp_path, "client.pem")
    cert.private_key_and_cert_chain_pem.write_to_path(path)
    context = network_settings(settings(client_cert=path), {}).ssl_context()
    assert context.verify_mode.name == "CERT_REQUIRED" and context.check_hostname
    bad = os.path.join(tmp_path, "bad.pem")
    with open(bad, "w") as handle:
        handle.write("not a certificate")
    with pytest.raises(FeishuInvalidInputError, match="client_cert"):
        network_settings(settings(client_cert=bad), {}).ssl_context()


def test_proxy_from_environment_with_no_proxy_and_the_extra() -> None:
    env = {"HTTPS_PROXY": "http://proxy.corp:3128", "HTTP_PROXY": "http://plain.corp:80"}
    assert environment_proxy("https://open.feishu.cn", env) == "http://proxy.corp:3128"
    assert environment_proxy("http://127.0.0.1:8080", env) == "http://plain.corp:80"
    assert environment_proxy("https://open.feishu.cn", {**env, "NO_PROXY": ".feishu.cn"}) is None
    assert environment_proxy(
        "https://open.feishu.cn", {"https_proxy": "http://low:1", "HTTPS_PROXY": "http://up:1"}
    ) == ("http://low:1")
    assert environment_proxy("https://open.feishu.cn", {"ALL_PROXY": "http://all:1"}) == "http://all:1"
    assert network_settings(settings(proxy="off"), env).proxy is None
    assert network_settings(settings(proxy="http://mine:1"), env).proxy == "http://mine:1"
    assert network_settings(settings(), env).proxy == "http://proxy.corp:3128"


@pytest.mark.feishu_emulator(rate_limits="off")
def test_async_client_uses_the_same_proxy_settings(
    feishu_emulator: FeishuEmulator, make_async_client: MakeAsync, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:  # a "proxy" port with nobody listening
        sock.bind(("127.0.0.1", 0))
        dead_proxy = f"http://127.0.0.1:{sock.getsockname()[1]}"
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", dead_proxy)

    async def main(expect_failure: bool) -> None:
        async with make_async_client(max_attempts=2) as client:
            if expect_failure:
                with pytest.raises(FeishuTransientError, match="connection error"):
                    await client.fetch_token()
            else:
                assert await client.fetch_token()

    asyncio.run(main(True))
    assert feishu_emulator.requests == []  # everything went to the (dead) proxy
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    asyncio.run(main(False))
    assert feishu_emulator.request_count("token") == 1


# -- the CLI ------------------------------------------------------------------------------------------------------


def test_cli_tls_prints_the_ca_path_and_serves_https() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_feishu_corehr.testing", "--print-json-line", "--tls"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        assert info["base_url"].startswith("https://") and os.path.exists(info["ca_path"])
        assert json.loads(info["conn_json"])["extra"] == {"ca_bundle": info["ca_path"]}
        from airflow_provider_feishu_corehr.client.sync import FeishuClient

        conn = json.loads(info["conn_json"])
        client = FeishuClient(
            ClientSettings(
                base_url=conn["host"], app_id=conn["login"], app_secret=conn["password"], ca_bundle=info["ca_path"]
            )
        )
        with client:
            assert client.fetch_token(fresh=True)
    finally:
        process.terminate()
        process.communicate(timeout=10)
    assert not os.path.exists(info["ca_path"])  # the test CA is removed when the emulator stops


# -- the operators and the trigger over HTTPS (they read the same connection, so the same ca_bundle) -------------


class _TI:
    """Stands in for the task instance of a direct ``execute()`` call: keeps XCom pushes."""

    def __init__(self) -> None:
        self.pushed: dict[str, object] = {}

    def xcom_push(self, key: str, value: object) -> None:
        self.pushed[key] = json.loads(json.dumps(value))


@https
def test_operator_over_https(feishu_connection: FeishuEmulator) -> None:
    from airflow_provider_feishu_corehr.operators.offboarding import RevokeOffboardingOperator

    result = RevokeOffboardingOperator(task_id="r", offboarding_id="7095671727698478604").execute({"ti": _TI()})
    assert "revoked" in json.dumps(result)
    assert feishu_connection.record("7095671727698478604")["status"] == "Withdrawn"
    assert feishu_connection.request_count("revoke", code=0) == 1


@https
def test_trigger_over_https(feishu_connection: FeishuEmulator) -> None:
    from airflow_provider_feishu_corehr.triggers.offboarding import OffboardingStatusTrigger

    trigger = OffboardingStatusTrigger(
        feishu_conn_id="feishu_default",
        employment_id=EMPLOYMENT,
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
    assert feishu_connection.request_count("search", code=0) == 1


def test_proxy_credentials_stay_out_of_reprs() -> None:
    with_credentials = settings(proxy="http://user:pa55word@proxy.corp:3128")
    assert "pa55word" not in repr(with_credentials)
    assert "pa55word" not in repr(network_settings(with_credentials, {}))
