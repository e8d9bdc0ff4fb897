"""What the emulator serves, transcribed from the Feishu API pages, independent of the client's own tables.

The emulator must not answer from ``client/codes.py`` or ``client/fields.py``: a wrong entry there would then
pass every test, because the server would repeat it. ``tests/testing/test_tables_match_client.py`` compares
these tables with the client's and names every difference.

Pages (each lists its error codes with HTTP status and message, its rate limit and its path):

* revoke https://open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/corehr-v2/offboarding/revoke
* edit https://open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/corehr-v2/offboarding/edit
* search https://open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/reference/corehr-v1/offboarding/search
* token https://open.feishu.cn/document/ukTMukTMukTM/ukDNz4SO0MjL5QzM/auth-v3/auth/tenant_access_token_internal
* common codes https://open.feishu.cn/document/server-docs/api-call-guide/generic-error-code
* rate limits https://open.feishu.cn/document/server-docs/api-call-guide/frequency-control

Messages are kept verbatim, spelling included (``withrawn``, ``is not exist``, ``parametert``). For the token
errors the pages give a description, not the runtime text; the runtime texts below are the ones Feishu sends.
"""

from __future__ import annotations

from enum import StrEnum


class Endpoint(StrEnum):
    """The four endpoints the emulator serves: name, HTTP path and documented rate limit."""

    TOKEN = "token"
    REVOKE = "revoke"
    EDIT = "edit"
    SEARCH = "search"

    @property
    def path(self) -> str:
        return PATHS[self.value]

    @property
    def default_rate_limit(self) -> tuple[int, float] | None:
        return RATE_LIMITS[self.value]


PATHS = {
    "token": "/open-apis/auth/v3/tenant_access_token/internal",
    "revoke": "/open-apis/corehr/v2/offboardings/revoke",
    "edit": "/open-apis/corehr/v2/offboardings/edit",
    "search": "/open-apis/corehr/v1/offboardings/search",
}
# Per app: revoke and edit "20 per second", search "100 per minute"; the token page states no limit.
RATE_LIMITS: dict[str, tuple[int, float] | None] = {
    "token": None,
    "revoke": (20, 1.0),
    "edit": (20, 1.0),
    "search": (100, 60.0),
}

RATE_LIMITED = 99991400
NEED_TOKEN = 99991661
INVALID_TOKEN = 99991663

# (HTTP status, msg) per code.
Message = tuple[int, str]

COMMON: dict[int, Message] = {
    10003: (400, "invalid parameter"),
    10013: (400, "get tenant access token fail"),
    10014: (400, "app secret invalid"),
    10015: (400, "wrong app secret"),
    99991400: (429, "request trigger frequency limit"),
    99991401: (400, "ip %s is denied by app setting"),
    99991661: (400, "Missing access token for authorization. Please make a request with token attached."),
    99991662: (400, "app not in use"),
    99991663: (400, "Invalid access token for authorization. Please make a request with token attached."),
    99991664: (400, "invalid app token"),
    99991665: (400, "invalid tenant code"),
    99991671: (400, "Invalid token: must start with t-/u-"),
    99991672: (400, "Access denied. One of the following scopes is required"),
    99991677: (400, "token expire"),
}

REVOKE: dict[int, Message] = {
    1160101: (400, "unknown error"),
    1160102: (400, "parameter is illegal"),
    1160103: (400, "general internal server error code"),
    1160201: (400, "offboarding is not exist"),
    1160202: (400, "offboarding has been withdrawn"),
    1160203: (400, "the department has been disable when withdrawn"),
    1160204: (400, "can not been withrawn in the same time"),
    1160205: (400, "The current offboarding record is under modification approval; it cannot be withdrawn."),
    1160206: (400, "The current offboarding record is under withdrawal approval; it cannot be withdrawn."),
}

EDIT: dict[int, Message] = {
    1160102: (400, "parameter is illegal"),
    1160103: (400, "general internal server error code"),
    1160200: (400, "has approving transform"),
    1160203: (400, "no current contract"),
    1160204: (400, "has future contract"),
    1160205: (400, "contract has actual end date"),
    1160300: (400, "the department has been disable on the date of offboarding"),
    1160304: (400, "company id not found"),
    1160601: (400, "offboarding is earlier than onboarding"),
    1160602: (400, "offboarding is earlier than probation"),
    1160603: (400, "offboarding is earlier than transform"),
    1160604: (400, "reason explanation length exceed maximum"),
    1160607: (400, "offboarding is earlier than contract start date"),
    1160608: (400, "offboarding is later than contract end date"),
    1160610: (400, "has no permission to edit this offboarding"),
    1160617: (400, "hyperlink field format is illegal"),
    1160618: (400, "text field exceeds maximum limit"),
    1160619: (400, "enum value of the enum field is invalid"),
    1160623: (400, "not allowed to edit this offboarding"),
    1160624: (400, "operator does not exist"),
    1160625: (400, "offboarding does not exist"),
    1160630: (400, "invalid number value"),
    1160631: (400, "employee is not exist or has offboarded"),
    1160636: (400, "custom employment does not exist"),
    1160637: (400, "not support edit attachment"),
    1160638: (400, "invalid date time value"),
    1160639: (400, "invalid bool value"),
    1160700: (400, "non compete agreement field value is illegal"),
    1160710: (400, "invalid block list"),
    1161000: (400, "unknown error"),
    1161001: (400, "The current offboarding record is under modification approval; it cannot be edited."),
    1161002: (400, "The current offboarding record is under withdrawal approval; it cannot be edited."),
}

SEARCH: dict[int, Message] = {
    1160102: (400, "Param is invalid"),
    1160103: (400, "No permission on param"),
    1160104: (400, "Missing query parametert"),
    1160999: (400, "general internal server error code"),
}

BY_ENDPOINT: dict[str, dict[int, Message]] = {"token": {}, "revoke": REVOKE, "edit": EDIT, "search": SEARCH}

# The edit page's list of api names that can never be edited (1160623).
NOT_EDITABLE = frozenset(
    {
        "wk_id",
        "wk_tenant_id",
        "employment",
        "process_id",
        "flow_id",
        "node_id",
        "initiator_id",
        "status",
        "checklist_status",
        "checklist_process_id",
        "type",
        "hrbp_ids",
        "hrbp_list",
        "probation_id",
        "wk_created_at",
        "wk_created_by",
        "wk_updated_at",
        "wk_updated_by",
        "wk_deleted_at",
        "wk_is_deleted",
        "noncompete_agreement_id",
        "social_insurance_end_date",
        "provident_fund_end_date",
        "sign_type",
    }
)

# Search's status enum and the four user id types.
STATUSES = ("Approving", "Approved", "Offboarded", "Rejected", "Withdrawn", "NoNeedApproval")
USER_ID_TYPES = ("open_id", "union_id", "user_id", "people_corehr_id")

# Edit page: update_data holds at most 10,000 entries; text 255 (single line) / 6,000 (multi-line) characters.
MAX_UPDATE_ENTRIES = 10_000
MAX_SINGLE_LINE = 255
MAX_MULTI_LINE = 6_000


def lookup(endpoint: str, code: int) -> Message | None:
    """``(HTTP status, msg)`` documented for ``code`` on ``endpoint`` (its page first, then the common codes)."""
    return BY_ENDPOINT[endpoint].get(code) or COMMON.get(code)
