"""Request building and response parsing shared by both clients (``client/api.py``), without a socket."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from airflow_provider_feishu_corehr.client import api
from airflow_provider_feishu_corehr.client.codes import Endpoint
from airflow_provider_feishu_corehr.client.errors import (
    FeishuBusinessError,
    FeishuInvalidInputError,
    FeishuTransientError,
)
from airflow_provider_feishu_corehr.client.models import ClientSettings, FieldValue, OffboardingRecord
from airflow_provider_feishu_corehr.client.policy import Reply

SETTINGS = ClientSettings("https://open.feishu.cn", "cli_a", "secret", user_id_type="people_corehr_id")


def reply(body: dict[str, Any], log_id: str | None = "LOG") -> Reply:
    return Reply(code=body.get("code", 0), msg="", body=body, log_id=log_id, http_status=200)


def test_token_request_sends_app_id_and_secret_without_authorization() -> None:
    request = api.token_request(SETTINGS)
    assert not request.authorized
    assert json.loads(request.body()) == {"app_id": "cli_a", "app_secret": "secret"}
    assert "Authorization" not in request.headers(None)
    assert "secret" not in repr(request)


def test_parse_token_requires_token_and_expire() -> None:
    grant = api.parse_token(reply({"code": 0, "tenant_access_token": "t-1", "expire": 7200}))
    assert (grant.token, grant.expire) == ("t-1", 7200.0)
    request = api.token_request(SETTINGS)
    assert request.complete is not None
    for malformed in (
        {"code": 0},
        {"code": 0, "expire": 7200},
        {"code": 0, "tenant_access_token": "", "expire": 7200},
        {"code": 0, "tenant_access_token": "t-1", "expire": "7200"},
        {"code": 0, "tenant_access_token": "t-1", "expire": True},
        {"code": 0, "tenant_access_token": "t-1", "expire": 0},
    ):
        # The retry table treats such an answer as a hiccup (retried), never as a permanent auth error.
        assert not request.complete(malformed)
        with pytest.raises(FeishuTransientError):
            api.parse_token(reply(malformed))
    assert request.complete({"code": 0, "tenant_access_token": "t-1", "expire": 7200})


def test_revoke_request_always_sends_user_id_type_and_accepts_already_withdrawn() -> None:
    request = api.revoke_request(SETTINGS, "7095671727698478604", operator_id=None, user_id_type=None)
    assert request.url(SETTINGS.base_url) == (
        "https://open.feishu.cn/open-apis/corehr/v2/offboardings/revoke?user_id_type=people_corehr_id"
    )
    assert json.loads(request.body()) == {"offboarding_id": "7095671727698478604"}
    assert request.headers("t-abc")["Authorization"] == "Bearer t-abc"
    assert request.accept == frozenset({api.ALREADY_WITHDRAWN})
    withdrawn = api.parse_revoke(request, reply({"code": api.ALREADY_WITHDRAWN}))
    assert withdrawn.already_withdrawn and withdrawn.log_id == "LOG"
    assert not api.parse_revoke(request, reply({"code": 0})).already_withdrawn


def test_revoke_with_operator_and_explicit_user_id_type() -> None:
    request = api.revoke_request(SETTINGS, "1", operator_id="ou_9", user_id_type="open_id")
    assert request.params == {"user_id_type": "open_id"}
    assert json.loads(request.body()) == {"offboarding_id": "1", "operator_id": "ou_9"}


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"offboarding_id": ""}, "offboarding_id must not be empty"),
        ({"offboarding_id": 123}, "offboarding_id must be a string"),
        ({"offboarding_id": "1", "operator_id": " "}, "operator_id must not be empty"),
        ({"offboarding_id": "1", "user_id_type": "email"}, "user_id_type must be one of"),
    ],
)
def test_revoke_request_refuses_bad_input(kwargs: dict[str, Any], fragment: str) -> None:
    kwargs.setdefault("operator_id", None)
    kwargs.setdefault("user_id_type", None)
    with pytest.raises(FeishuInvalidInputError, match=fragment):
        api.revoke_request(SETTINGS, **kwargs)


def test_edit_request_and_echo() -> None:
    data = [FieldValue("offboarding_date", "2026-12-31"), FieldValue("custom_1__c", '["a","b"]')]
    request = api.edit_request(SETTINGS, "42", data, operator_id="6982509313466189341", user_id_type=None)
    assert request.endpoint is Endpoint.EDIT and request.params == {"user_id_type": "people_corehr_id"}
    assert json.loads(request.body()) == {
        "offboarding_id": "42",
        "update_data": [
            {"field_name": "offboarding_date", "value": "2026-12-31"},
            {"field_name": "custom_1__c", "value": '["a","b"]'},
        ],
        "operator_id": "6982509313466189341",
    }
    result = api.parse_edit(request, reply({"code": 0, "data": {"data": [{"field_name": "x", "value": "1"}]}}))
    assert result.fields == (FieldValue("x", "1"),) and result.offboarding_id == "42" and result.log_id == "LOG"


@pytest.mark.parametrize(
    ("update_data", "fragment"),
    [
        ([], "must not be empty"),
        ({"a": "b"}, "sequence of FieldValue"),
        ("a=b", "sequence of FieldValue"),
        ([{"field_name": "a", "value": "b"}], r"update_data\[0\] must be a FieldValue"),
        ([FieldValue("", "b")], r"update_data\[0\].field_name must not be empty"),
        ([FieldValue("a", 1)], r"update_data\[0\].value must be a string"),  # type: ignore[arg-type]
    ],
)
def test_edit_request_refuses_bad_update_data(update_data: Any, fragment: str) -> None:
    with pytest.raises(FeishuInvalidInputError, match=fragment):
        api.edit_request(SETTINGS, "1", update_data, operator_id=None, user_id_type=None)


def test_search_pager_sends_filters_page_size_and_user_id_type_and_follows_pages() -> None:
    pager = api.search_pager(
        SETTINGS,
        employment_ids="6982509313466189341",
        statuses=["Approved", "Offboarded"],
        offboarding_date_start=dt.date(2026, 1, 1),
        offboarding_date_end="2026-12-31",
        page_size=2,
    )
    first = pager.next_request()
    assert first is not None
    assert first.params == {"page_size": "2", "user_id_type": "people_corehr_id"}
    assert json.loads(first.body()) == {
        "employment_ids": ["6982509313466189341"],
        "statuses": ["Approved", "Offboarded"],
        "offboarding_date_start": "2026-01-01",
        "offboarding_date_end": "2026-12-31",
    }
    item = {
        "offboarding_id": "7",
        "status": "Approved",
        "offboarding_info": {"employment_id": "e1", "offboarding_date": "2026-03-01"},
        "application_info": {"apply_initiating_time": "2026-01-02 03:04:05"},
        "offboarding_checklist": {"checklist_status": "Finished"},
    }
    records = pager.feed(reply({"code": 0, "data": {"items": [item], "has_more": True, "page_token": "p2"}}))
    assert records[0].summary() == {
        "offboarding_id": "7",
        "employment_id": "e1",
        "status": "Approved",
        "offboarding_date": "2026-03-01",
        "expected_offboarding_date": None,
        "checklist_status": "Finished",
    }
    second = pager.next_request()
    assert second is not None and second.params["page_token"] == "p2"
    assert pager.feed(reply({"code": 0, "data": {"items": [], "has_more": False, "page_token": ""}})) == []
    assert pager.next_request() is None


def test_search_pager_stops_on_a_repeated_page_token() -> None:
    pager = api.search_pager(SETTINGS)
    page = reply({"code": 0, "data": {"items": [], "has_more": True, "page_token": "same"}})
    pager.feed(page)
    with pytest.raises(FeishuBusinessError, match="page_token"):
        pager.feed(page)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"employment_ids": []}, "employment_ids must not be empty"),
        ({"employment_ids": ["1", " "]}, r"employment_ids\[1\] must not be empty"),
        ({"statuses": ["Approved", "Done"]}, "unknown status 'Done'"),
        ({"statuses": ["Approved"] * 11}, "at most 10"),
        ({"offboarding_date_start": "2026-01-01"}, "offboarding_date_start needs offboarding_date_end"),
        ({"expected_offboarding_date_end": "2026-01-01"}, "needs expected_offboarding_date_start"),
        ({"offboarding_date_start": "2026-02-01", "offboarding_date_end": "2026-01-01"}, "is after"),
        ({"offboarding_date_start": "2026-02-30", "offboarding_date_end": "2026-03-01"}, "YYYY-MM-DD"),
        ({"offboarding_date_start": dt.datetime(2026, 1, 1), "offboarding_date_end": "2026-03-01"}, "not a datetime"),
        ({"page_size": 0}, "page_size must be an integer from 1 to 100"),
        ({"page_size": 101}, "page_size"),
        ({"user_id_type": "mail"}, "user_id_type"),
    ],
)
def test_search_pager_refuses_bad_filters(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(FeishuInvalidInputError, match=fragment):
        api.search_pager(SETTINGS, **kwargs)


def record(oid: str, initiated: str | None) -> OffboardingRecord:
    return OffboardingRecord(oid, "e", "Approved", None, None, None, initiated)


def test_pick_offboarding_returns_the_most_recent_or_the_named_one() -> None:
    records = [record("10", "2026-01-01 00:00:00"), record("12", "2026-03-01 00:00:00"), record("11", None)]
    assert api.pick_offboarding(records, None) == records[1]
    assert api.pick_offboarding(records, "11") == records[2]
    assert api.pick_offboarding(records, "99") is None
    assert api.pick_offboarding([], None) is None
    tie = [record("20", "2026-01-01 00:00:00"), record("21", "2026-01-01 00:00:00")]
    assert api.pick_offboarding(tie, None) == tie[1]


def test_search_pager_refuses_has_more_without_a_token_and_counts_empty_pages() -> None:
    from airflow_provider_feishu_corehr.client.errors import FeishuPagingError
    from airflow_provider_feishu_corehr.client.paging import MAX_EMPTY_PAGES

    pager = api.search_pager(SETTINGS)
    with pytest.raises(FeishuPagingError, match="has_more but sent no page_token"):
        pager.feed(reply({"code": 0, "data": {"items": [], "has_more": True}}))
    pager = api.search_pager(SETTINGS)
    for n in range(MAX_EMPTY_PAGES):
        assert pager.feed(reply({"code": 0, "data": {"items": [], "has_more": True, "page_token": f"t{n}"}})) == []
    with pytest.raises(FeishuPagingError, match="empty pages in a row"):
        pager.feed(reply({"code": 0, "data": {"items": [], "has_more": True, "page_token": "fresh"}}))
    assert pager.next_request() is None  # a stopped pager asks for nothing more
