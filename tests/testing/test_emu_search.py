"""v1 search: paging, filters, request checks, item shape and ``user_id_type``."""

from __future__ import annotations

from typing import Any

import pytest
from emu_client import Api, assert_error

ALL = 26  # records in the default seed


def collect(api: Api, body: dict[str, Any] | None = None, page_size: int = 100, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token = ""
    while True:
        query = {"page_size": page_size, **params, **({"page_token": token} if token else {})}
        data = api.search(body, **query).json()["data"]
        items.extend(data["items"])
        if not data["has_more"]:
            assert data["page_token"] == ""
            return items
        token = data["page_token"]
        assert token


def test_pages_cover_every_record_once(api: Api) -> None:
    first = api.search(page_size=7).json()["data"]
    assert len(first["items"]) == 7 and first["has_more"] is True
    items = collect(api, page_size=7)
    ids = [item["offboarding_id"] for item in items]
    assert len(ids) == ALL == len(set(ids))
    assert ids == [item["offboarding_id"] for item in api.emu.offboardings()]
    assert api.emu.request_count("search", code=0) == 1 + 4


def test_item_shape_is_documented(api: Api) -> None:
    item = api.search({"employment_ids": ["6982509313466189343"]}).json()["data"]["items"][0]
    assert item["offboarding_id"] == "7095671727698478606"
    assert item["status"] == "Offboarded"
    assert "status" not in item["application_info"]
    assert item["offboarding_info"]["employment_id"] == "6982509313466189343"
    assert "employment_id" not in item
    assert item["offboarding_info"]["offboarding_date"] == "2026-03-31"
    assert item["application_info"]["apply_initiating_time"] == "2026-02-10 14:20:00"
    assert item["offboarding_checklist"]["checklist_status"] == "Finished"
    assert item["initiating_type"] == "offboarding_initiated_by_others"


def test_default_user_id_type_is_open_id(api: Api) -> None:
    response = api.call("search", {"employment_ids": ["6982509313466189343"]}, params={"page_size": 10})
    assert response.json()["data"]["items"] == []
    open_id = api.emu.employment_id_as("6982509313466189343", "open_id")
    items = api.call("search", {"employment_ids": [open_id]}, params={"page_size": 10}).json()["data"]["items"]
    assert [i["offboarding_info"]["employment_id"] for i in items] == [open_id]
    assert items[0]["application_info"]["apply_initiator_id"] == api.emu.employment_id_as(
        "6893014062142064135", "open_id"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"statuses": ["Rejected"]}, ["7095671727698478607"]),
        ({"statuses": ["Withdrawn"]}, ["7095671727698478603", "7095671727698478608"]),
        (
            {"statuses": ["Approving", "Offboarded"]},
            ["7095671727698478605", "7095671727698478606", "7095671727698478628"],
        ),
        ({"employment_ids": ["6982509313466189341"]}, ["7095671727698478603", "7095671727698478604"]),
        (
            {"employment_ids": ["6982509313466189341"], "statuses": ["Approved"]},
            ["7095671727698478604"],
        ),
        ({"employment_ids": ["6982509313466100000"]}, []),
        (
            {"offboarding_date_start": "2026-03-01", "offboarding_date_end": "2026-07-15"},
            ["7095671727698478604", "7095671727698478605", "7095671727698478606"],
        ),
        (
            {"expected_offboarding_date_start": "2025-01-01", "expected_offboarding_date_end": "2025-12-31"},
            ["7095671727698478603"],
        ),
        (  # 2026-06-01 00:00 to 2026-06-13 00:00 Beijing time
            {"apply_initiating_time_start": "1780243200", "apply_initiating_time_end": "1781280000"},
            ["7095671727698478605", "7095671727698478607"],
        ),
        (
            {"apply_finished_time_start": "1740900000", "apply_finished_time_end": "1740999999"},
            ["7095671727698478603"],
        ),
        ({"reasons": ["reason_family"]}, []),
        ({"statuses": []}, "all"),
        ({"department_ids": ["od-1"]}, "all"),
    ],
)
def test_filters(api: Api, body: dict[str, Any], expected: list[str] | str) -> None:
    ids = [item["offboarding_id"] for item in collect(api, body, page_size=10)]
    assert ids == ([o["offboarding_id"] for o in api.emu.offboardings()] if expected == "all" else expected)


@pytest.mark.parametrize(
    ("params", "body", "code"),
    [
        ({"page_size": None}, {}, 1160104),
        ({"page_size": 0}, {}, 1160102),
        ({"page_size": 101}, {}, 1160102),
        ({"page_size": "ten"}, {}, 1160102),
        ({"page_token": "not-a-token"}, {}, 1160102),
        ({"user_id_type": "email"}, {}, 1160102),
        ({}, {"offboarding_date_start": "2026-01-01"}, 1160104),
        ({}, {"apply_initiating_time_end": "1780243200"}, 1160104),
        ({}, {"offboarding_date_start": "2026-01-01", "offboarding_date_end": "soon"}, 1160102),
        ({}, {"apply_initiating_time_start": "2026-01-01", "apply_initiating_time_end": "1780243200"}, 1160102),
        ({}, {"statuses": ["Gone"]}, 1160102),
        ({}, {"statuses": ["Approved"] * 11}, 1160102),
        ({}, {"employment_ids": "6982509313466189341"}, 1160102),
    ],
)
def test_bad_search_requests(api: Api, params: dict[str, Any], body: dict[str, Any], code: int) -> None:
    query = {"page_size": 10, "user_id_type": "people_corehr_id", **params}
    query = {k: v for k, v in query.items() if v is not None}
    assert_error(api.call("search", body, params=query), "search", code)


def test_search_sees_changes_made_by_revoke_and_control_api(api: Api) -> None:
    assert api.revoke("7095671727698478609").json()["code"] == 0
    api.emu.set_status("7095671727698478605", "Approved")
    new_id = api.emu.add_offboarding(
        employment_id="6982509313466189399", status="Approving", offboarding_date="2027-01-31"
    )
    withdrawn = [i["offboarding_id"] for i in collect(api, {"statuses": ["Withdrawn"]})]
    assert "7095671727698478609" in withdrawn
    approving = [i["offboarding_id"] for i in collect(api, {"statuses": ["Approving"]})]
    assert approving == [new_id]
    assert len(new_id) == 19 and new_id.isdigit()
