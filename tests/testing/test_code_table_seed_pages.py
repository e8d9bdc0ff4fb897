"""The code table (``client/codes.py``) against the revoke and edit API pages, transcribed here by hand.

The emulator serves its messages from its own table (``testing/api_pages.py``, compared with the client's in
``test_tables_match_client.py``); this hand copy of the pages' (HTTP status, code, msg) rows, from
https://open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/corehr-v2/offboarding/revoke and
https://open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/corehr-v2/offboarding/edit (with the four codes the
2026 versions of the pages added), is a third, independent check.
"""

from __future__ import annotations

import pytest

from airflow_provider_feishu_corehr.client.codes import EDIT, REVOKE, Endpoint, lookup

SEED_PAGES: list[tuple[str, int, int, str]] = [
    ("revoke", 400, 1160103, "general internal server error code"),
    ("revoke", 400, 1160102, "parameter is illegal"),
    ("revoke", 400, 1160101, "unknown error"),
    ("revoke", 400, 1160201, "offboarding is not exist"),
    ("revoke", 400, 1160202, "offboarding has been withdrawn"),
    ("revoke", 400, 1160203, "the department has been disable when withdrawn"),
    ("revoke", 400, 1160204, "can not been withrawn in the same time"),
    ("edit", 400, 1160103, "general internal server error code"),
    ("edit", 400, 1160102, "parameter is illegal"),
    ("edit", 400, 1160203, "no current contract"),
    ("edit", 400, 1160204, "has future contract"),
    ("edit", 400, 1160205, "contract has actual end date"),
    ("edit", 400, 1160602, "offboarding is earlier than probation"),
    ("edit", 400, 1160603, "offboarding is earlier than transform"),
    ("edit", 400, 1160604, "reason explanation length exceed maximum"),
    ("edit", 400, 1160607, "offboarding is earlier than contract start date"),
    ("edit", 400, 1160608, "offboarding is later than contract end date"),
    ("edit", 400, 1160610, "has no permission to edit this offboarding"),
    ("edit", 400, 1160710, "invalid block list"),
    ("edit", 400, 1160200, "has approving transform"),
    ("edit", 400, 1160601, "offboarding is earlier than onboarding"),
    ("edit", 400, 1160617, "hyperlink field format is illegal"),
    ("edit", 400, 1160618, "text field exceeds maximum limit"),
    ("edit", 400, 1160619, "enum value of the enum field is invalid"),
    ("edit", 400, 1160623, "not allowed to edit this offboarding"),
    ("edit", 400, 1160624, "operator does not exist"),
    ("edit", 400, 1160625, "offboarding does not exist"),
    ("edit", 400, 1160631, "employee is not exist or has offboarded"),
    ("edit", 400, 1160636, "custom employment does not exist"),
    ("edit", 400, 1160637, "not support edit attachment"),
    ("edit", 400, 1160638, "invalid date time value"),
    ("edit", 400, 1160639, "invalid bool value"),
    ("edit", 400, 1160700, "non compete agreement field value is illegal"),
    ("edit", 400, 1160304, "company id not found"),
    ("edit", 400, 1160300, "the department has been disable on the date of offboarding"),
    ("edit", 400, 1160630, "invalid number value"),
    ("edit", 400, 1161000, "unknown error"),
    # added to the pages in 2026 (docs/api-facts.md, the revoke and edit code tables)
    ("revoke", 400, 1160205, "The current offboarding record is under modification approval; it cannot be withdrawn."),
    ("revoke", 400, 1160206, "The current offboarding record is under withdrawal approval; it cannot be withdrawn."),
    ("edit", 400, 1161001, "The current offboarding record is under modification approval; it cannot be edited."),
    ("edit", 400, 1161002, "The current offboarding record is under withdrawal approval; it cannot be edited."),
]


@pytest.mark.parametrize(("endpoint", "http_status", "code", "msg"), SEED_PAGES)
def test_code_table_has_the_pages_status_and_message(endpoint: str, http_status: int, code: int, msg: str) -> None:
    info = lookup(Endpoint(endpoint), code)
    assert info is not None
    assert (info.http_status, info.msg) == (http_status, msg)


def test_code_table_has_no_revoke_or_edit_code_the_pages_do_not_document() -> None:
    documented = {(endpoint, code) for endpoint, _, code, _ in SEED_PAGES}
    known = {("revoke", code) for code in REVOKE} | {("edit", code) for code in EDIT}
    assert known == documented
