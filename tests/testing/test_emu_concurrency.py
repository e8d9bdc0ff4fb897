"""Overlapping writes to one record with a processing time: revoke answers 1160204, an edit waits its turn."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest
from emu_client import Api, assert_error

if TYPE_CHECKING:
    import requests

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

APPROVED = "7095671727698478604"
SLOW = pytest.mark.feishu_emulator(processing_time=1.5)


def together(api: Api, count: int, send: object) -> list[requests.Response]:
    """``count`` requests released at the same moment, each on its own connection."""
    api.token()
    gate = threading.Barrier(count)

    def one(_: int) -> requests.Response:
        own = Api(api.emu)
        own._token = api.token()
        gate.wait(timeout=10)
        return send(own)  # type: ignore[operator, no-any-return]

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def wait_until_busy(emu: FeishuEmulator, offboarding_id: str) -> None:
    deadline = time.monotonic() + 10
    while offboarding_id not in emu.state()["busy"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert offboarding_id in emu.state()["busy"]


@SLOW
def test_eight_simultaneous_revokes_give_one_success_and_seven_1160204(api: Api) -> None:
    responses = together(api, 8, lambda own: own.revoke(APPROVED))
    codes = sorted(r.json()["code"] for r in responses)
    assert codes == [0] + [1160204] * 7
    for response in responses:
        if response.json()["code"]:
            assert_error(response, "revoke", 1160204)
    assert api.emu.get_offboarding(APPROVED)["status"] == "Withdrawn"
    assert api.emu.state()["busy"] == []


def test_without_processing_time_revokes_are_served_one_after_the_other(api: Api) -> None:
    codes = sorted(r.json()["code"] for r in together(api, 8, lambda own: own.revoke(APPROVED)))
    assert codes == [0] + [1160202] * 7


@SLOW
def test_an_edit_during_a_revoke_waits_then_sees_the_withdrawn_record(api: Api) -> None:
    before = api.emu.record(APPROVED).get("handover_note__c")
    with ThreadPoolExecutor(1) as pool:
        revoking = pool.submit(api.revoke, APPROVED)
        wait_until_busy(api.emu, APPROVED)
        other = Api(api.emu)
        assert_error(other.edit(APPROVED, {"handover_note__c": "late"}), "edit", 1160623)
        assert revoking.result(timeout=30).json()["code"] == 0
    assert api.emu.record(APPROVED).get("handover_note__c") == before != "late"


@SLOW
def test_a_revoke_during_an_edit_answers_1160204_and_the_edit_is_applied(api: Api) -> None:
    with ThreadPoolExecutor(1) as pool:
        editing = pool.submit(api.edit, APPROVED, {"handover_note__c": "first"})
        wait_until_busy(api.emu, APPROVED)
        assert_error(Api(api.emu).revoke(APPROVED), "revoke", 1160204)
        assert editing.result(timeout=30).json()["code"] == 0
    record = api.emu.record(APPROVED)
    assert (record["status"], record["handover_note__c"]) == ("Approved", "first")


@pytest.mark.feishu_emulator(processing_time=0.5)
def test_overlapping_edits_are_both_applied_one_after_the_other(api: Api) -> None:
    responses = together(api, 2, lambda own: own.edit(APPROVED, {"handover_note__c": f"by {id(own)}"}))
    assert [r.json()["code"] for r in responses] == [0, 0]
    values = {r.json()["data"]["data"][0]["value"] for r in responses}
    assert api.emu.record(APPROVED)["handover_note__c"] in values
    assert api.emu.request_count("edit", code=0) == 2
