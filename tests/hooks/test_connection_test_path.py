"""Testing a connection the way Airflow's UI and REST API do: a copy under a random, temporary conn id.

The API endpoint (Airflow 3.3 and 2.11 alike) builds ``Connection(**form)`` with ``conn_id=get_random_string()``,
exports it as ``AIRFLOW_CONN_<ID>`` and calls ``Connection.test_connection()``, which builds the hook and calls
``FeishuHook.test_connection()``. A validation error must name the field, never that random id.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator


def _test_like_the_api(**fields: Any) -> tuple[bool, str, str]:
    """``(status, message, conn_id)`` of an Airflow-side connection test of ``fields``."""
    from airflow.models.connection import Connection
    from airflow.utils.strings import get_random_string

    conn_id = get_random_string()
    env = f"AIRFLOW_CONN_{conn_id.upper()}"
    conn = Connection(conn_id=conn_id, conn_type="feishu", **fields)
    os.environ[env] = conn.get_uri()
    try:
        status, message = conn.test_connection()
    finally:
        os.environ.pop(env, None)
    return status, message, conn_id


# Airflow 3.3's own Connection.test_connection() warns about its ProvidersManager use; not ours.
pytestmark = pytest.mark.filterwarnings("ignore:ProvidersManager.hooks is deprecated")


@pytest.mark.parametrize(
    ("fields", "field", "rule"),
    [
        ({"login": "cli_x", "password": "s", "host": "http://example.com"}, "host", "plain http:// is refused"),
        ({"login": "", "password": "s", "host": "https://open.feishu.cn"}, "login", "App ID is missing"),
        ({"login": "cli_x", "password": "s", "extra": '{"timeout": "soon"}'}, "timeout", "must be a number"),
        ({"login": "cli_x", "password": "s", "extra": '{"colour": "red"}'}, "extra.colour", "unknown extra"),
    ],
    ids=["insecure-host", "no-app-id", "bad-timeout", "unknown-extra"],
)
def test_a_bad_field_is_named_not_the_temporary_conn_id(fields: dict[str, Any], field: str, rule: str) -> None:
    status, message, conn_id = _test_like_the_api(**fields)
    assert status is False
    assert message.startswith(f"Connection field {field}: {rule}"), message
    assert conn_id not in message and conn_id.upper() not in message


def test_a_good_connection_passes_the_same_path(feishu_emulator: FeishuEmulator) -> None:
    status, message, _ = _test_like_the_api(
        login=feishu_emulator.app_id, password=feishu_emulator.app_secret, host=feishu_emulator.base_url
    )
    assert status is True, message
    assert [r.endpoint for r in feishu_emulator.requests] == ["token"]
