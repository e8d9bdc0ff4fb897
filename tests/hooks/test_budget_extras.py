"""The budget extras of a connection (``rate_limit_scope``, ``rate_limit_share``, ``rate_limit_store``): parsed into
the client settings (which limiter those pick is ``tests/client/test_budget.py``'s), and refused with the field
named when wrong."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.hooks.connection import settings_from_connection

if TYPE_CHECKING:
    from pathlib import Path


def test_host_scope_share_and_store_come_from_the_connection(tmp_path: Path) -> None:
    """Connection -> settings only; which limiter those settings pick is ``tests/client/test_budget.py``'s."""
    from airflow.models.connection import Connection

    extra = {"rate_limit_scope": "host", "rate_limit_share": "0.25", "rate_limit_store": str(tmp_path / "s.db")}
    conn = Connection(conn_id="f", conn_type="feishu", host="http://127.0.0.1:1", login="a", password="s")
    conn.set_extra(json.dumps(extra))
    settings = settings_from_connection(conn)
    assert (settings.rate_limit_scope, settings.rate_limit_share, settings.rate_limit_store) == (
        "host",
        0.25,
        extra["rate_limit_store"],
    )
    plain = Connection(conn_id="f", conn_type="feishu", host="http://127.0.0.1:1", login="a", password="s")
    default = settings_from_connection(plain)
    assert (default.rate_limit_scope, default.rate_limit_share, default.rate_limit_store) == ("process", 1.0, None)


@pytest.mark.parametrize(
    ("extra", "rule"),
    [
        ({"rate_limit_scope": "cluster"}, "rate_limit_scope: must be one of process, host"),
        ({"rate_limit_share": 0}, "rate_limit_share: must be > 0"),
        ({"rate_limit_share": "1.5"}, "rate_limit_share: must be at most 1"),
        ({"rate_limit_share": "half"}, "rate_limit_share: must be a number"),
        ({"rate_limit_store": 5}, "rate_limit_store: must be a file path"),
    ],
)
def test_bad_budget_extras_name_the_field(extra: dict[str, Any], rule: str) -> None:
    from airflow.models.connection import Connection

    conn = Connection(conn_id="f", conn_type="feishu", host="http://127.0.0.1:1", login="a", password="s")
    conn.set_extra(json.dumps(extra))
    with pytest.raises(FeishuInvalidInputError, match=f"Connection 'f', field {rule}"):
        settings_from_connection(conn)
