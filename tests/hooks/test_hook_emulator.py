"""``FeishuHook`` against the emulator, with connections from ``AIRFLOW_CONN_*`` (JSON and URI) and the metadata DB."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.models import FieldValue
from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

if TYPE_CHECKING:
    from pathlib import Path

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

pytestmark = pytest.mark.feishu_emulator(rate_limits="off")

APPROVED = "7095671727698478604"
EMPLOYMENT = "6982509313466189341"
DATE = [FieldValue("offboarding_date", "2026-12-31")]


def exercise(hook: FeishuHook) -> None:
    """Every method of the hook once."""
    assert hook.edit_offboarding(APPROVED, DATE).fields == tuple(DATE)
    latest = hook.get_offboarding(EMPLOYMENT)
    assert latest is not None and latest.offboarding_id == APPROVED
    assert any(r.offboarding_id == APPROVED for r in hook.search_offboardings(employment_ids=EMPLOYMENT))
    assert not hook.revoke_offboarding(APPROVED).already_withdrawn


def test_hook_metadata() -> None:
    assert (FeishuHook.conn_type, FeishuHook.conn_name_attr, FeishuHook.default_conn_name) == (
        "feishu",
        "feishu_conn_id",
        "feishu_default",
    )
    assert FeishuHook.hook_name == "Feishu"
    assert FeishuHook().feishu_conn_id == "feishu_default"


def test_json_connection_from_env(feishu_connection: FeishuEmulator) -> None:
    hook = FeishuHook()
    exercise(hook)
    assert hook.settings.base_url == feishu_connection.base_url
    assert hook.get_conn() is hook.get_conn()


def test_uri_connection_from_env_with_string_extras(
    feishu_emulator: FeishuEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    rate_limits = quote(json.dumps({"revoke": 10, "search": "50/60", "edit": None}))
    uri = f"{feishu_emulator.airflow_conn_uri()}/?timeout=5&max_attempts=2&user_id_type=people_corehr_id"
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_URI", f"{uri}&rate_limits={rate_limits}")
    hook = FeishuHook(feishu_conn_id="feishu_uri")
    settings = hook.settings
    assert (settings.base_url, settings.app_id) == (feishu_emulator.base_url, feishu_emulator.app_id)
    assert (settings.timeout, settings.max_attempts) == (5.0, 2)
    assert settings.rate_limits == {"revoke": (10, 1.0), "search": (50, 60.0), "edit": None}
    exercise(hook)


def test_connection_from_the_metadata_db(
    feishu_emulator: FeishuEmulator, airflow_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    # Outside a task, Airflow 3 reads connections from the metadata DB only in server processes (API server,
    # where "Test connection" runs; scheduler; triggerer); inside a task the supervisor fetches it for us.
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")

    conn = Connection(
        conn_id="feishu_in_db",
        conn_type="feishu",
        host=feishu_emulator.base_url,
        login=feishu_emulator.app_id,
        password=feishu_emulator.app_secret,
        extra=json.dumps({"max_attempts": "3", "rate_limits": "off"}),
    )
    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == conn.conn_id).delete()
        session.add(conn)
    try:
        hook = FeishuHook(feishu_conn_id="feishu_in_db")
        assert hook.settings.max_attempts == 3
        exercise(hook)
    finally:
        with create_session() as session:
            session.query(Connection).filter(Connection.conn_id == "feishu_in_db").delete()


def test_many_calls_from_one_hook_use_one_token(feishu_connection: FeishuEmulator) -> None:
    hook = FeishuHook()
    for _ in range(30):
        hook.edit_offboarding(APPROVED, DATE)
    assert feishu_connection.request_count("token") == 1


def test_test_connection_only_fetches_a_token(feishu_connection: FeishuEmulator) -> None:
    hook = FeishuHook()
    hook.get_conn().fetch_token()  # a cached token must not make test_connection skip the real check
    ok, message = hook.test_connection()
    assert ok and feishu_connection.base_url in message
    assert [r.endpoint for r in feishu_connection.requests] == ["token", "token"]


def test_test_connection_reports_code_and_log_id_on_a_wrong_secret(
    feishu_emulator: FeishuEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = {"conn_type": "feishu", "login": feishu_emulator.app_id, "host": feishu_emulator.base_url}
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_GOOD", json.dumps({**good, "password": feishu_emulator.app_secret}))
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_WRONG", json.dumps({**good, "password": "wrong-secret"}))
    assert FeishuHook("feishu_good").test_connection()[0]
    ok, message = FeishuHook("feishu_wrong").test_connection()
    last = feishu_emulator.requests[-1]
    assert not ok and f"code {last.code}" in message and f"log_id {last.log_id}" in message
    assert "wrong-secret" not in message
    assert [r.endpoint for r in feishu_emulator.requests] == ["token", "token"]


def test_test_connection_never_raises(feishu_emulator: FeishuEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    ok, message = FeishuHook("feishu_not_defined").test_connection()
    assert not ok and "feishu_not_defined" in message
    insecure = {"conn_type": "feishu", "login": "cli_x", "password": "p", "host": "http://example.com"}
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_HTTP", json.dumps(insecure))
    ok, message = FeishuHook("feishu_http").test_connection()
    assert not ok and message.startswith("Connection field host: plain http://") and "feishu_http" not in message
    feishu_emulator.inject_fault("token", "http_503", count=10)
    monkeypatch.setenv(
        "AIRFLOW_CONN_FEISHU_DOWN",
        json.dumps(
            {
                "conn_type": "feishu",
                "login": feishu_emulator.app_id,
                "password": feishu_emulator.app_secret,
                "host": feishu_emulator.base_url,
                "extra": {"max_attempts": 2, "backoff_base": 0},
            }
        ),
    )
    ok, message = FeishuHook("feishu_down").test_connection()
    assert not ok and "HTTP 503" in message and "2 attempt(s)" in message


def test_bad_connection_raises_a_typed_error_from_the_methods(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_NOAPP", json.dumps({"conn_type": "feishu", "password": "p"}))
    with pytest.raises(FeishuInvalidInputError, match="'feishu_noapp', field login"):
        FeishuHook("feishu_noapp").revoke_offboarding(APPROVED)


def test_app_secret_and_tokens_are_registered_with_the_secret_masker(feishu_connection: FeishuEmulator) -> None:
    from airflow.providers.common.compat.sdk import redact

    hook = FeishuHook()
    hook.edit_offboarding(APPROVED, DATE)
    first = hook.get_conn().fetch_token()
    feishu_connection.invalidate_tokens()
    hook.edit_offboarding(APPROVED, DATE)  # refresh: a second token
    second = hook.get_conn().fetch_token()
    assert first != second
    text = str(redact(f"secret={feishu_connection.app_secret} first={first} second={second}"))
    assert feishu_connection.app_secret not in text and first not in text and second not in text
