"""``settings_from_connection``: Airflow connection fields and extras -> typed ``ClientSettings``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from airflow_lanes import AIRFLOW_V3

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.hooks.connection import is_loopback, settings_from_connection


@dataclass
class Conn:
    """Just the attributes of an Airflow Connection that are read."""

    host: str | None = "https://open.feishu.cn"
    login: str | None = "cli_app"
    password: str | None = "s3cret-value"
    port: int | None = None
    schema: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    conn_id: str | None = "feishu_test"

    @property
    def extra_dejson(self) -> dict[str, Any]:
        return self.extra


@pytest.mark.parametrize(
    ("host", "port", "extra", "base_url"),
    [
        ("https://open.feishu.cn", None, {}, "https://open.feishu.cn"),
        ("https://open.feishu.cn/", None, {}, "https://open.feishu.cn"),
        ("HTTPS://Open.Feishu.CN", None, {}, "https://open.feishu.cn"),
        ("http://127.0.0.1:8080", None, {}, "http://127.0.0.1:8080"),
        ("http://127.0.0.1", 8080, {}, "http://127.0.0.1:8080"),  # port field honoured
        ("http://127.0.0.1:8080", 8080, {}, "http://127.0.0.1:8080"),
        ("http://localhost:9", None, {}, "http://localhost:9"),
        ("http://127.8.9.10:1", None, {}, "http://127.8.9.10:1"),
        ("http://[::1]:8080", None, {}, "http://[::1]:8080"),
        ("https://gateway.example.com:8443", None, {}, "https://gateway.example.com:8443"),
        (None, None, {}, "https://open.feishu.cn"),
        ("", None, {"domain": "lark"}, "https://open.larksuite.com"),
        (None, None, {"domain": "feishu"}, "https://open.feishu.cn"),
        ("https://open.feishu.cn", None, {"domain": "lark"}, "https://open.feishu.cn"),  # host wins
    ],
)
def test_base_url(host: str | None, port: int | None, extra: dict[str, Any], base_url: str) -> None:
    assert settings_from_connection(Conn(host=host, port=port, extra=extra)).base_url == base_url


def test_defaults_and_credentials() -> None:
    settings = settings_from_connection(Conn(login=" cli_app "))
    assert (settings.app_id, settings.app_secret) == ("cli_app", "s3cret-value")
    assert (settings.timeout, settings.max_attempts, settings.user_id_type, settings.rate_limits) == (
        30.0,
        5,
        "people_corehr_id",
        {},
    )


def test_extras_are_typed_even_when_they_arrive_as_strings() -> None:
    extra = {
        "timeout": "7.5",
        "max_attempts": "3",
        "max_elapsed": "20",
        "backoff_base": "0.01",
        "backoff_max": 0.1,
        "rate_limit_wait_max": "2",
        "user_id_type": "open_id",
        "rate_limits": json.dumps({"revoke": 10, "search": "50/60", "edit": None}),
    }
    settings = settings_from_connection(Conn(extra=extra))
    assert settings.timeout == 7.5 and settings.max_attempts == 3 and settings.max_elapsed == 20.0
    assert (settings.backoff_base, settings.backoff_max, settings.rate_limit_wait_max) == (0.01, 0.1, 2.0)
    assert settings.user_id_type == "open_id"
    assert settings.rate_limits == {"revoke": (10, 1.0), "search": (50, 60.0), "edit": None}


@pytest.mark.parametrize(
    ("rate_limits", "expected"),
    [
        ({"search": 10}, {"search": (10, 60.0)}),  # a bare number keeps the documented window
        ({"edit": [5, 2]}, {"edit": (5, 2.0)}),
        ({"edit": "off"}, {"edit": None}),
        ("off", {"revoke": None, "edit": None, "search": None}),
        ("", {}),
        ({}, {}),
    ],
)
def test_rate_limit_forms(rate_limits: Any, expected: dict[str, Any]) -> None:
    assert settings_from_connection(Conn(extra={"rate_limits": rate_limits})).rate_limits == expected


def test_ui_form_prefix_and_empty_values_mean_default() -> None:
    settings = settings_from_connection(
        Conn(extra={"extra__feishu__timeout": "12", "extra__feishu__domain": "", "user_id_type": None})
    )
    assert settings.timeout == 12.0 and settings.user_id_type == "people_corehr_id"


@pytest.mark.parametrize(
    ("changes", "field_name", "rule"),
    [
        ({"login": None}, "login", "App ID is missing"),
        ({"login": "  "}, "login", "App ID is missing"),
        ({"password": None}, "password", "App Secret is missing"),
        ({"password": ""}, "password", "App Secret is missing"),
        ({"host": "http://open.feishu.cn"}, "host", "plain http:// is refused for a non-loopback host"),
        ({"host": "http://10.0.0.1:8080"}, "host", "plain http:// is refused"),
        ({"host": "http://localhost.example.com"}, "host", "plain http:// is refused"),
        ({"host": "ftp://open.feishu.cn"}, "host", "must be an http(s) URL"),
        ({"host": "https://open.feishu.cn/open-apis"}, "host", "origin only"),
        ({"host": "https://open.feishu.cn?x=1"}, "host", "origin only"),
        ({"host": "https://user:pw@open.feishu.cn"}, "host", "must not contain credentials"),
        ({"host": "https://open.feishu.cn:notaport"}, "host", "not a valid base URL"),
        ({"host": "https://"}, "host", "has no host name"),
        ({"host": "https://open feishu.cn"}, "host", "neither a DNS name nor an IP address"),
        ({"host": "https://open.feishu.cn:0"}, "host", "has port 0"),
        ({"host": "https:/open.feishu.cn"}, "host", "has no scheme"),
        ({"host": "http://127.0.0.1:8080", "port": 9090}, "port", "the host URL says 8080"),
        ({"host": "", "port": 8080}, "port", "host is empty"),
        ({"host": "", "extra": {"domain": "larksuite"}}, "domain", "must be one of feishu, lark"),
        ({"schema": "corehr"}, "schema", "not used"),
        ({"extra": {"timeout": "soon"}}, "timeout", "must be a number"),
        ({"extra": {"timeout": 0}}, "timeout", "must be > 0"),
        ({"extra": {"timeout": "nan"}}, "timeout", "must be > 0"),
        ({"extra": {"max_attempts": "2.5"}}, "max_attempts", "must be an integer"),
        ({"extra": {"max_attempts": 0}}, "max_attempts", "must be >= 1"),
        ({"extra": {"max_attempts": True}}, "max_attempts", "must be an integer"),
        ({"extra": {"backoff_base": -1}}, "backoff_base", "must be >= 0"),
        ({"extra": {"user_id_type": "email"}}, "user_id_type", "must be one of"),
        ({"extra": {"retries": 3}}, "extra.retries", "unknown extra"),
        ({"extra": {"rate_limits": "{not json"}}, "rate_limits", "must be a JSON object"),
        ({"extra": {"rate_limits": [1, 2]}}, "rate_limits", "must be an object"),
        ({"extra": {"rate_limits": {"token": 5}}}, "rate_limits.token", "unknown endpoint"),
        ({"extra": {"rate_limits": {"edit": "fast"}}}, "rate_limits.edit", "must be an integer"),
        ({"extra": {"rate_limits": {"edit": "5/0"}}}, "rate_limits.edit", "must be > 0"),
        ({"extra": {"rate_limits": {"edit": [1, 2, 3]}}}, "rate_limits.edit", "[requests, window seconds]"),
        ({"extra": {"rate_limits": {"edit": 0}}}, "rate_limits.edit", "must be >= 1"),
    ],
)
def test_bad_connections_name_the_connection_and_the_field(changes: dict[str, Any], field_name: str, rule: str) -> None:
    conn = Conn(**changes)
    with pytest.raises(FeishuInvalidInputError) as caught:
        settings_from_connection(conn)
    text = str(caught.value)
    assert text.startswith(f"Connection 'feishu_test', field {field_name}: ")
    assert rule in text
    assert "s3cret-value" not in text


@pytest.mark.parametrize(
    ("host", "would_be", "instead"),
    [
        ("127.0.0.1:8765", "https://127.0.0.1:8765", "write http://127.0.0.1:8765 (a local server such as the emu"),
        ("localhost", "https://localhost", "write http://localhost "),
        ("open.feishu.cn", "https://open.feishu.cn", "leave the host empty and set the extra domain to feishu"),
        (" open.larksuite.com ", "https://open.larksuite.com", "set the extra domain to lark"),
        ("gateway.example.com:8443", "https://gateway.example.com:8443", "write https://gateway.example.com:8443"),
    ],
)
def test_a_host_without_scheme_is_refused_with_the_url_it_would_have_meant(
    host: str, would_be: str, instead: str
) -> None:
    """Refused when the connection is read (before any request), even for a known Feishu host: the host field says
    exactly which URL is called."""
    with pytest.raises(FeishuInvalidInputError) as caught:
        settings_from_connection(Conn(host=host))
    assert caught.value.field == "host"  # type: ignore[attr-defined]
    text = str(caught.value)
    assert text.startswith("Connection 'feishu_test', field host: has no scheme: ")
    assert f"would have been used as {would_be};" in text
    assert instead in text


def test_a_host_without_scheme_never_echoes_credentials() -> None:
    with pytest.raises(FeishuInvalidInputError) as caught:
        settings_from_connection(Conn(host="cli_app:hunter2@open.feishu.cn"))
    assert "hunter2" not in str(caught.value) and "without credentials" in str(caught.value)


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.255.0.1") and is_loopback("::1")
    assert is_loopback("LOCALHOST")
    assert not is_loopback("128.0.0.1") and not is_loopback("example.com") and not is_loopback("0.0.0.0")


# -- real Airflow connection objects ---------------------------------------------------------------------


def test_airflow_connection_from_json_and_uri_forms() -> None:
    from airflow.models.connection import Connection

    extra = {"timeout": 5, "max_attempts": 2, "rate_limits": {"revoke": 10, "search": "50/60", "edit": None}}
    host = "http://127.0.0.1:8080"
    as_json = json.dumps({"conn_type": "feishu", "login": "cli_x", "password": "p/w@:x", "host": host, "extra": extra})
    query = "timeout=5&max_attempts=2&rate_limits=" + quote(json.dumps(extra["rate_limits"]))
    as_uri = f"feishu://cli_x:{quote('p/w@:x', safe='')}@{quote(host, safe='')}/?{query}"
    protocol_uri = f"feishu://http://cli_x:{quote('p/w@:x', safe='')}@127.0.0.1:8080/?{query}"

    conns = [
        Connection.from_json(as_json, conn_id="feishu_json"),
        Connection(conn_id="feishu_uri", uri=as_uri),
        Connection(conn_id="feishu_model_protocol_uri", uri=protocol_uri),  # host + port fields
    ]
    if AIRFLOW_V3:  # the Task SDK's Connection (what tasks get on Airflow 3)
        from airflow.sdk import Connection as SdkConnection

        conns += [
            SdkConnection.from_uri(as_uri, conn_id="feishu_sdk_uri"),  # extras stay strings here
            SdkConnection.from_uri(protocol_uri, conn_id="feishu_protocol_uri"),  # host + port fields
        ]
    for conn in conns:
        settings = settings_from_connection(conn)
        assert settings.base_url == "http://127.0.0.1:8080", conn.conn_id
        assert (settings.app_id, settings.app_secret) == ("cli_x", "p/w@:x")
        assert (settings.timeout, settings.max_attempts) == (5.0, 2)
        assert settings.rate_limits == {"revoke": (10, 1.0), "search": (50, 60.0), "edit": None}
