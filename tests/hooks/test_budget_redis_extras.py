"""The ``redis`` scope's extras (``rate_limit_scope: redis``, ``rate_limit_redis_conn_id``) and the Redis connection
they name: read into the client settings by ``FeishuHook`` (sync and async, from ``AIRFLOW_CONN_*``), its password
masked, refused with the field named when wrong, and a hook whose requests book in a real ``redis-server``."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import TYPE_CHECKING, Any

import pytest
from redis_server import redis_server

from airflow_provider_feishu_corehr.client.budget_redis import redis_key
from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.models import FieldValue, RedisServer
from airflow_provider_feishu_corehr.hooks.connection import settings_from_connection, with_redis
from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

APPROVED = "7095671727698478604"


def _feishu(**extra: Any) -> Any:
    from airflow.models.connection import Connection

    conn = Connection(conn_id="f", conn_type="feishu", host="http://127.0.0.1:1", login="a", password="s")
    conn.set_extra(json.dumps(extra))
    return conn


def _redis(uri: str, conn_id: str = "r") -> Any:
    from airflow.models.connection import Connection

    return Connection(conn_id=conn_id, uri=uri)


def test_the_redis_connection_is_read_as_redis_hook_reads_it_plus_the_uris_database() -> None:
    settings = settings_from_connection(_feishu(rate_limit_scope="redis"))
    assert settings.rate_limit_redis_conn_id == "redis_default" and settings.rate_limit_redis is None
    read = with_redis(settings, _redis("redis://:pw%40x@redis.internal:6380/1"), feishu_conn_id="f").rate_limit_redis
    assert read == RedisServer(conn_id="r", host="redis.internal", port=6380, db=1, password="pw@x")
    assert "pw@x" not in repr(read)
    tls = _redis("redis://user@h?db=2&ssl=true&ssl_cert_reqs=none&ssl_ca_certs=%2Fca.pem&broker_transport=x")
    read = with_redis(settings, tls, feishu_conn_id="f").rate_limit_redis
    assert read is not None and (read.port, read.db, read.username, read.password) == (6379, 2, "user", None)
    assert dict(read.ssl) == {"ssl": True, "ssl_cert_reqs": "none", "ssl_ca_certs": "/ca.pem"}  # others left alone


@pytest.mark.parametrize(
    ("uri", "field", "rule"),
    [
        ("redis://:p@/1", "host", "must be the Redis server's host name"),
        ("redis://h:6379/one", "schema", "must be a Redis database number"),
        ("redis://h:6379/1?db=2", "extra.db", "is 2 but the schema (the URI's path) says 1"),
        ("redis://h?ssl_cert_reqs=sometimes", "extra.ssl_cert_reqs", "must be one of required, optional, none"),
        ("redis://h?ssl=maybe", "extra.ssl", "must be true or false"),
    ],
)
def test_a_bad_redis_connection_names_both_connections_and_the_field(uri: str, field: str, rule: str) -> None:
    settings = settings_from_connection(_feishu(rate_limit_scope="redis", rate_limit_redis_conn_id="cache"))
    with pytest.raises(FeishuInvalidInputError) as caught:
        with_redis(settings, _redis(uri, conn_id="cache"), feishu_conn_id="f")
    message = str(caught.value)
    assert message.startswith("Connection 'cache' (the Redis server of connection 'f', extra rate_limit_redis_conn_id)")
    assert f"field {field}: {rule}" in message and ":p@" not in message


@pytest.mark.parametrize(
    ("extra", "rule"),
    [
        ({"rate_limit_redis_conn_id": "cache"}, "rate_limit_redis_conn_id: is used by rate_limit_scope redis only"),
        ({"rate_limit_scope": "redis", "rate_limit_redis_conn_id": "a b"}, "rate_limit_redis_conn_id: must be an Airf"),
        ({"rate_limit_scope": "redis", "rate_limit_store": "/tmp/x"}, "rate_limit_store: is the host scope's SQLite"),
    ],
)
def test_bad_redis_extras_name_the_field(extra: dict[str, Any], rule: str) -> None:
    with pytest.raises(FeishuInvalidInputError, match=f"Connection 'f', field {rule}"):
        settings_from_connection(_feishu(**extra))


def test_without_the_redis_package_the_scope_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # what importlib finds where it is not installed
    with pytest.raises(FeishuInvalidInputError, match=r"rate_limit_scope: is redis, which needs the redis package: "):
        settings_from_connection(_feishu(rate_limit_scope="redis"))
    assert settings_from_connection(_feishu(rate_limit_scope="host")).rate_limit_scope == "host"  # others unaffected


def test_an_undefined_redis_connection_is_a_configuration_error(
    feishu_emulator: FeishuEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = {"conn_type": "feishu", "host": feishu_emulator.base_url, "login": feishu_emulator.app_id}
    conn |= {"password": feishu_emulator.app_secret, "extra": {"rate_limit_scope": "redis"}}
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_NOREDIS", json.dumps(conn))
    with pytest.raises(FeishuInvalidInputError, match="field rate_limit_redis_conn_id: names connection 'redis_defa"):
        FeishuHook(feishu_conn_id="feishu_noredis").settings  # noqa: B018 - reading it raises
    assert feishu_emulator.request_count("token") == 0  # before any request


def test_a_hook_on_the_redis_scope_books_in_the_redis_connections_database(
    feishu_emulator: FeishuEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sync and async: both connections from the environment, the Redis password masked, and the hook's edits
    booked under the app's key in database 1 of a real server with a password."""
    from airflow.providers.common.compat.sdk import redact

    with redis_server("--requirepass", "redis-pass-31") as server:
        feishu = {"conn_type": "feishu", "host": feishu_emulator.base_url, "login": feishu_emulator.app_id}
        extra = {"rate_limit_scope": "redis", "rate_limit_redis_conn_id": "budget_redis"}
        feishu |= {"password": feishu_emulator.app_secret, "extra": extra}
        monkeypatch.setenv("AIRFLOW_CONN_FEISHU_REDIS", json.dumps(feishu))
        monkeypatch.setenv("AIRFLOW_CONN_BUDGET_REDIS", f"redis://:redis-pass-31@127.0.0.1:{server.port}/1")
        hook = FeishuHook(feishu_conn_id="feishu_redis")
        read = hook.settings.rate_limit_redis
        assert read is not None and (read.conn_id, read.port, read.db) == ("budget_redis", server.port, 1)
        assert "redis-pass-31" not in str(redact("the password is redis-pass-31"))

        async def read_async() -> RedisServer | None:
            return (await FeishuHook(feishu_conn_id="feishu_redis").aget_settings()).rate_limit_redis

        assert asyncio.run(read_async()) == read
        hook.edit_offboarding(APPROVED, [FieldValue("offboarding_date", "2026-12-31")])
        assert feishu_emulator.request_count("edit") == 1
        import redis

        db1 = redis.Redis(host="127.0.0.1", port=server.port, db=1, password="redis-pass-31")
        try:
            key = redis_key(feishu_emulator.base_url, feishu_emulator.app_id, "edit")
            assert db1.exists(key) and float(db1.get(key) or 0) > 0
        finally:
            db1.close()
