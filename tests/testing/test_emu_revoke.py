"""Revoke: every documented error code that record data can cause, and the status machine."""

from __future__ import annotations

import threading

import pytest
from emu_client import Api, assert_error

from airflow_provider_feishu_corehr.client.codes import REVOKE, Treatment

# (offboarding id of the default seed, code): one row per data-caused revoke error.
REVOKE_ERRORS = [
    ("7095671727698478608", 1160202),  # Withdrawn
    ("7095671727698478603", 1160202),  # Withdrawn (older offboarding of ...341)
    ("7095671727698478607", 1160102),  # Rejected: nothing to withdraw
    ("7095671727698400000", 1160201),  # unknown id
    ("7095671727698478610", 1160203),  # department disabled
    ("7095671727698478611", 1160204),  # concurrent revoke (once)
    ("7095671727698478612", 1160205),  # under modification approval
    ("7095671727698478613", 1160206),  # under withdrawal approval
]


@pytest.mark.parametrize(("offboarding_id", "code"), REVOKE_ERRORS)
def test_revoke_error_caused_by_data(api: Api, offboarding_id: str, code: int) -> None:
    status_before = [o["status"] for o in api.emu.offboardings()]
    assert_error(api.revoke(offboarding_id), "revoke", code)
    assert [o["status"] for o in api.emu.offboardings()] == status_before


def test_table_covers_every_documented_non_system_revoke_code() -> None:
    documented = {code for code, info in REVOKE.items() if info.treatment is not Treatment.RETRY} | {1160204}
    assert {code for _, code in REVOKE_ERRORS} == documented


@pytest.mark.parametrize(
    "body",
    [{"offboarding_id": ""}, {"offboarding_id": "   "}, {"offboarding_id": 7095671727698478604}, {}, [1]],
)
def test_bad_request_is_1160102(api: Api, body: object) -> None:
    assert_error(api.call("revoke", body), "revoke", 1160102)


def test_non_json_body_and_bad_user_id_type_are_1160102(api: Api) -> None:
    headers = {"Authorization": f"Bearer {api.token()}"}
    response = api.session.post(api.url("revoke"), data=b"{oops", headers=headers, timeout=10)
    assert_error(response, "revoke", 1160102)
    body = {"offboarding_id": "7095671727698478604"}
    assert_error(api.call("revoke", body, params={"user_id_type": "email"}), "revoke", 1160102)
    assert api.emu.get_offboarding("7095671727698478604")["status"] == "Approved"


@pytest.mark.parametrize(
    ("offboarding_id", "status"),
    [
        ("7095671727698478604", "Approved"),
        ("7095671727698478605", "Approving"),
        ("7095671727698478606", "Offboarded"),
        ("7095671727698478609", "NoNeedApproval"),
    ],
)
def test_revocable_record_becomes_withdrawn(api: Api, offboarding_id: str, status: str) -> None:
    assert api.emu.get_offboarding(offboarding_id)["status"] == status
    response = api.revoke(offboarding_id, operator_id="6893014062142064135")
    assert response.status_code == 200
    assert response.json() == {"code": 0, "msg": "success", "data": {}}
    assert api.emu.get_offboarding(offboarding_id)["status"] == "Withdrawn"
    assert_error(api.revoke(offboarding_id), "revoke", 1160202)
    assert api.emu.request_count("revoke", code=0) == 1


def test_concurrent_revoke_flag_collides_once_then_the_retry_succeeds(api: Api) -> None:
    assert_error(api.revoke("7095671727698478611"), "revoke", 1160204)
    assert api.revoke("7095671727698478611").json()["code"] == 0
    assert api.emu.get_offboarding("7095671727698478611")["status"] == "Withdrawn"


def test_concurrent_revokes_can_be_set_through_the_control_api(api: Api) -> None:
    api.emu.update_offboarding("7095671727698478604", concurrent_revokes=2)
    codes = [api.revoke("7095671727698478604").json()["code"] for _ in range(3)]
    assert codes == [1160204, 1160204, 0]


def test_revoke_with_approval_starts_a_withdrawal_approval(api: Api) -> None:
    offboarding_id = "7095671727698478614"
    assert api.revoke(offboarding_id).json()["code"] == 0
    assert api.emu.get_offboarding(offboarding_id)["status"] == "Approved"
    assert api.emu.record(offboarding_id)["pending_approval"] == "withdrawal"
    assert_error(api.revoke(offboarding_id), "revoke", 1160206)
    assert_error(api.edit(offboarding_id, {"reason_explanation": "x"}), "edit", 1161002)
    api.emu.set_status(offboarding_id, "Withdrawn")  # the approval passed
    assert api.emu.record(offboarding_id)["pending_approval"] is None
    assert_error(api.revoke(offboarding_id), "revoke", 1160202)


def test_operator_id_in_another_user_id_type_is_accepted(api: Api) -> None:
    operator = api.emu.employment_id_as("6893014062142064135", "open_id")
    response = api.call(
        "revoke",
        {"offboarding_id": "7095671727698478609", "operator_id": operator},
        params={"user_id_type": "open_id"},
    )
    assert response.json()["code"] == 0


def test_parallel_revokes_of_one_record_succeed_exactly_once(api: Api) -> None:
    token = api.token()
    codes: list[int] = []
    lock = threading.Lock()

    def revoke() -> None:
        client = Api(api.emu)
        response = client.call("revoke", {"offboarding_id": "7095671727698478604"}, token=token)
        with lock:
            codes.append(response.json()["code"])

    threads = [threading.Thread(target=revoke) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [0] + [1160202] * 7
