"""Connection problems Airflow itself would hide or retry: broken ``extra`` JSON, an empty or unknown conn id, both
UI-form key styles, and the extras for size, paging, TLS and proxy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.models import DEFAULT_MAX_PAGES, DEFAULT_MAX_RESPONSE_BYTES
from airflow_provider_feishu_corehr.hooks.connection import settings_from_connection

BASE = {"conn_type": "feishu", "login": "cli_x", "password": "s3cret-value", "host": "https://open.feishu.cn"}


def connection(extra: Any, conn_id: str = "feishu_x") -> Any:
    """A real Airflow connection (the task SDK's, what hooks get at run time) whose ``extra`` text is exactly
    ``extra`` (a string) or its JSON (anything else)."""
    try:
        from airflow.sdk import Connection
    except ImportError:  # Airflow 2.x
        from airflow.models.connection import Connection  # type: ignore[assignment]

    text = extra if isinstance(extra, str) else json.dumps(extra)
    return Connection(conn_id=conn_id, conn_type="feishu", login="cli_x", password="s3cret-value", extra=text)


@pytest.mark.parametrize("text", ['{"timeout": 5', "timeout=5", "{'timeout': 5}", '{"timeout": 5,}'])
def test_extra_that_is_not_json_fails_naming_the_connection(text: str) -> None:
    conn = connection(text)
    assert conn.extra_dejson == {}  # what Airflow does: swallow it, defaults silently apply
    with pytest.raises(FeishuInvalidInputError) as caught:
        settings_from_connection(conn)
    message = str(caught.value)
    assert message.startswith("Connection 'feishu_x', field extra: is not valid JSON")
    assert text not in message and "s3cret" not in message  # the extra may hold secrets: never echoed


@pytest.mark.parametrize("extra", ["[1, 2]", '"text"', "5"])
def test_extra_that_is_json_but_not_an_object_fails(extra: str) -> None:
    with pytest.raises(FeishuInvalidInputError, match="field extra: must be a JSON object"):
        settings_from_connection(connection(extra))


def test_empty_extra_means_defaults() -> None:
    settings = settings_from_connection(connection(""))
    assert (settings.max_response_bytes, settings.max_pages) == (DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_PAGES)


def test_ui_form_extras_plain_names_and_prefixed_names_both_read() -> None:
    plain = settings_from_connection(connection({"timeout": "7", "max_pages": "20"}))  # what the forms store
    prefixed = settings_from_connection(  # older connections
        connection({"extra__feishu__timeout": "7", "extra__feishu__max_pages": "20"})
    )
    assert (plain.timeout, plain.max_pages) == (prefixed.timeout, prefixed.max_pages) == (7.0, 20)
    same = settings_from_connection(connection({"timeout": "7", "extra__feishu__timeout": "7"}))
    assert same.timeout == 7.0
    with pytest.raises(FeishuInvalidInputError, match=r"extra\.timeout: is given twice"):
        settings_from_connection(connection({"timeout": "7", "extra__feishu__timeout": "9"}))


def test_size_paging_tls_and_proxy_extras(tmp_path: Any) -> None:
    settings = settings_from_connection(
        connection(
            {
                "max_response_bytes": "2048",
                "max_pages": 3,
                "ca_bundle": " /etc/ssl/corp.pem ",
                "client_cert": "/etc/ssl/me.pem",
                "client_key": "/etc/ssl/me.key",
                "proxy": "http://proxy.corp:3128",
            }
        )
    )
    assert (settings.max_response_bytes, settings.max_pages) == (2048, 3)
    assert (settings.ca_bundle, settings.client_cert, settings.client_key) == (
        "/etc/ssl/corp.pem",
        "/etc/ssl/me.pem",
        "/etc/ssl/me.key",
    )
    assert settings.proxy == "http://proxy.corp:3128"
    assert settings_from_connection(connection({"proxy": "OFF"})).proxy == "off"


@pytest.mark.parametrize(
    ("extra", "field_name", "rule"),
    [
        ({"max_response_bytes": 10}, "max_response_bytes", "must be >= 1024"),
        ({"max_response_bytes": "big"}, "max_response_bytes", "must be an integer"),
        ({"max_pages": 0}, "max_pages", "must be >= 1"),
        ({"max_pages": 2.5}, "max_pages", "must be an integer"),
        ({"ca_bundle": 5}, "ca_bundle", "must be a file path"),
        ({"client_cert": ["a"]}, "client_cert", "must be a file path"),
        ({"client_key": "/k.pem"}, "client_key", "without client_cert"),
        ({"proxy": "socks5://p:1"}, "proxy", "http:// or https://"),
        ({"proxy": "http://"}, "proxy", "with a host"),
        ({"proxy": "http://p:notaport"}, "proxy", "not a valid URL"),
        ({"proxy": 8080}, "proxy", "must be a URL or 'off'"),
    ],
)
def test_bad_new_extras_name_the_field(extra: dict[str, Any], field_name: str, rule: str) -> None:
    with pytest.raises(FeishuInvalidInputError) as caught:
        settings_from_connection(connection(extra))
    assert str(caught.value).startswith(f"Connection 'feishu_x', field {field_name}: ")
    assert rule in str(caught.value)


# -- conn ids: a configuration error, not something to retry --------------------------------------------------


@pytest.mark.parametrize("conn_id", ["", "   ", None, 5])
def test_empty_conn_id_is_a_permanent_invalid_input_error(conn_id: Any) -> None:
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

    with pytest.raises(FeishuInvalidInputError, match="feishu_conn_id must name a connection") as caught:
        FeishuHook(conn_id).settings  # noqa: B018
    assert caught.value.permanent


def test_unknown_conn_id_is_a_permanent_invalid_input_error_naming_it() -> None:
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

    with pytest.raises(FeishuInvalidInputError) as caught:
        FeishuHook("feishu_nobody_defined_this").get_offboarding("6982509313466189341")
    assert "'feishu_nobody_defined_this' is not defined" in str(caught.value)
    assert "AIRFLOW_CONN_FEISHU_NOBODY_DEFINED_THIS" in str(caught.value)
    assert caught.value.permanent


def test_broken_extra_from_the_environment_fails_through_the_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_BROKEN", json.dumps({**BASE, "extra": '{"timeout": 5'}))
    with pytest.raises(FeishuInvalidInputError, match="'feishu_broken', field extra: is not valid JSON"):
        FeishuHook("feishu_broken").settings  # noqa: B018
