"""The budget extras of a connection (``rate_limit_scope``, ``rate_limit_share``, ``rate_limit_store``): parsed into
the client settings that pick the host schedule, and refused with the field named when wrong."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_feishu_corehr.client.base import limiter_for
from airflow_provider_feishu_corehr.client.budget import HostRateLimiter
from airflow_provider_feishu_corehr.client.codes import Endpoint
from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.models import ClientSettings
from airflow_provider_feishu_corehr.client.ratelimit import HEADROOM, RateLimiter
from airflow_provider_feishu_corehr.hooks.connection import settings_from_connection

if TYPE_CHECKING:
    from pathlib import Path


def test_host_scope_and_share_come_from_the_connection(tmp_path: Path) -> None:
    from airflow.models.connection import Connection

    extra = {"rate_limit_scope": "host", "rate_limit_share": "0.25", "rate_limit_store": str(tmp_path / "s.db")}
    conn = Connection(conn_id="f", conn_type="feishu", host="http://127.0.0.1:1", login="a", password="s")
    conn.set_extra(json.dumps(extra))
    settings = settings_from_connection(conn)
    assert (settings.rate_limit_scope, settings.rate_limit_share) == ("host", 0.25)
    limiter = limiter_for(settings, Endpoint.EDIT)
    assert isinstance(limiter, HostRateLimiter)
    assert limiter.interval == pytest.approx(1 / (20 * HEADROOM * 0.25))
    assert str(limiter.path) == extra["rate_limit_store"]
    default = limiter_for(ClientSettings(base_url="http://127.0.0.1:1", app_id="a", app_secret="s"), Endpoint.EDIT)
    assert type(default) is RateLimiter  # process scope unless the connection says host


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
