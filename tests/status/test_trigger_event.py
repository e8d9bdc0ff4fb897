"""The event the status trigger sends and the sensor reads back: error events keep the typed error; no network."""

from __future__ import annotations

import json

import pytest

from airflow_provider_feishu_corehr.client.errors import (
    FeishuAuthError,
    FeishuDeadlineError,
    FeishuError,
    FeishuInvalidInputError,
    FeishuPagingError,
    FeishuRateLimitError,
    FeishuRedirectError,
    FeishuResponseTooLargeError,
    FeishuTLSError,
    FeishuTransientError,
)
from airflow_provider_feishu_corehr.hooks.connection import FeishuConnectionFieldError
from airflow_provider_feishu_corehr.status.trigger_event import error_event, error_from_event


@pytest.mark.parametrize(
    "error",
    [
        FeishuAuthError("app secret invalid", code=10014, log_id="lg-1", http_status=400, endpoint="token"),
        FeishuTransientError("HTTP 503", http_status=503, endpoint="search", attempts=5, elapsed=3.5),
        FeishuRateLimitError("request trigger frequency limit", code=99991400, http_status=429, endpoint="search"),
        FeishuInvalidInputError("connection 'x' is not defined"),
        FeishuDeadlineError("the caller's deadline came before an answer", endpoint="search", attempts=2),
        FeishuResponseTooLargeError("body over max_response_bytes", http_status=200, endpoint="search"),
        FeishuRedirectError("HTTP 302 redirect to https://elsewhere", http_status=302, endpoint="search"),
        FeishuTLSError("the server's TLS certificate is not trusted", endpoint="token"),
        FeishuPagingError("paging made no progress", endpoint="search"),
    ],
)
def test_error_event_round_trip_keeps_type_fields_and_text(error: FeishuError) -> None:
    payload = error_event(error, 2)
    json.dumps(payload)
    assert payload["status"] == "error"
    assert payload["permanent"] is error.permanent
    assert payload["consecutive_failures"] == 2
    rebuilt = error_from_event(payload)
    assert type(rebuilt) is type(error)
    assert str(rebuilt) == str(error) == payload["message"]
    assert (rebuilt.code, rebuilt.log_id, rebuilt.http_status) == (error.code, error.log_id, error.http_status)


def test_error_event_of_a_type_outside_the_client_keeps_its_nearest_client_type() -> None:
    error = FeishuConnectionFieldError("Connection 'x', field host: has no host name", field="host", rule="r")
    rebuilt = error_from_event(error_event(error, 0))
    assert type(rebuilt) is FeishuInvalidInputError
    assert str(rebuilt) == str(error)
