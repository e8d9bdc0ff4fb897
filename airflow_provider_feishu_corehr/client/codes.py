"""The one table of Feishu codes this package knows: documented message, advice, and how the client treats it.

Sources: the API pages listed in ``docs/api-facts.md``. Business codes are keyed by endpoint (1160203-1160205 mean
different things on revoke and edit). The emulator answers from its own copy of the pages (``testing/api_pages.py``),
so a wrong entry here fails a test instead of being served back."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Endpoint(StrEnum):
    """Logical endpoints: name, HTTP path and documented rate limit (requests, window seconds)."""

    TOKEN = "token"
    REVOKE = "revoke"
    EDIT = "edit"
    SEARCH = "search"

    @property
    def path(self) -> str:
        return _PATHS[self]

    @property
    def default_rate_limit(self) -> tuple[int, float] | None:
        return _RATE_LIMITS[self]


_PATHS = {
    Endpoint.TOKEN: "/open-apis/auth/v3/tenant_access_token/internal",
    Endpoint.REVOKE: "/open-apis/corehr/v2/offboardings/revoke",
    Endpoint.EDIT: "/open-apis/corehr/v2/offboardings/edit",
    Endpoint.SEARCH: "/open-apis/corehr/v1/offboardings/search",
}

# Documented per-app limits: revoke and edit 20/s, search 100/min; the token endpoint's limit is not documented.
_RATE_LIMITS: dict[Endpoint, tuple[int, float] | None] = {
    Endpoint.TOKEN: None,
    Endpoint.REVOKE: (20, 1.0),
    Endpoint.EDIT: (20, 1.0),
    Endpoint.SEARCH: (100, 60.0),
}

RATE_LIMITED = 99991400
NEED_TOKEN = 99991661
# Codes after which the token is dropped, a new one fetched and the request replayed once.
# 99991661 counts only when a token was actually sent (otherwise the request itself was wrong).
TOKEN_INVALID = frozenset({99991661, 99991663, 99991664, 99991665, 99991671, 99991677})


class Treatment(StrEnum):
    """How the client reacts to a code."""

    FAIL = "fail"  # permanent: raise FeishuBusinessError, no retry
    RETRY = "retry"  # documented system error: back off and retry within the budget
    AUTH = "auth"  # credential / permission problem: raise FeishuAuthError, no retry


@dataclass(frozen=True)
class CodeInfo:
    """A documented code: message as documented, advice in English, treatment, and the HTTP status Feishu uses."""

    msg: str
    advice: str
    treatment: Treatment = Treatment.FAIL
    http_status: int = 400


_SYSTEM = "Feishu reported a system problem; it is retried. If it persists, contact Feishu support with the log id."

COMMON: dict[int, CodeInfo] = {
    10003: CodeInfo("invalid parameter", "Check that the app id and app secret are set.", Treatment.AUTH),
    10013: CodeInfo("get tenant access token fail", "Check the app credentials.", Treatment.AUTH),
    10014: CodeInfo("app secret invalid", "Check the App Secret of the connection.", Treatment.AUTH),
    10015: CodeInfo("wrong app secret", "Check the App Secret of the connection.", Treatment.AUTH),
    99991400: CodeInfo(
        "request trigger frequency limit",
        "Rate limited: wait x-ogw-ratelimit-reset seconds and retry.",
        http_status=429,
    ),
    99991401: CodeInfo(
        "ip %s is denied by app setting", "Add the worker's IP to the app's allow-list.", Treatment.AUTH
    ),
    99991661: CodeInfo(
        "Missing access token for authorization. Please make a request with token attached.",
        "Send 'Authorization: Bearer <tenant_access_token>'.",
        Treatment.AUTH,
    ),
    99991662: CodeInfo("app not in use", "Enable the app in the Feishu developer console.", Treatment.AUTH),
    99991663: CodeInfo(
        "Invalid access token for authorization. Please make a request with token attached.",
        "The tenant access token is invalid; it is refreshed once automatically.",
        Treatment.AUTH,
    ),
    99991664: CodeInfo("invalid app token", "Refresh the token.", Treatment.AUTH),
    99991665: CodeInfo("invalid tenant code", "Refresh the token.", Treatment.AUTH),
    99991671: CodeInfo("Invalid token: must start with t-/u-", "Refresh the token.", Treatment.AUTH),
    99991672: CodeInfo(
        "Access denied. One of the following scopes is required",
        "Grant the app the scope named in the message, then publish a new app version.",
        Treatment.AUTH,
    ),
    99991677: CodeInfo("token expire", "Refresh the token.", Treatment.AUTH),
}

REVOKE: dict[int, CodeInfo] = {
    1160101: CodeInfo("unknown error", _SYSTEM, Treatment.RETRY),
    1160102: CodeInfo("parameter is illegal", "Check offboarding_id and resubmit."),
    1160103: CodeInfo("general internal server error code", _SYSTEM, Treatment.RETRY),
    1160201: CodeInfo(
        "offboarding is not exist", "The offboarding id does not exist; check it against search results."
    ),
    1160202: CodeInfo(
        "offboarding has been withdrawn", "The offboarding is already withdrawn; check its latest status."
    ),
    1160203: CodeInfo(
        "the department has been disable when withdrawn",
        "The employee's department is disabled; move the employee to an enabled department, then revoke.",
    ),
    1160204: CodeInfo(
        "can not been withrawn in the same time",
        "The same offboarding is being revoked concurrently; retried later.",
        Treatment.RETRY,
    ),
    1160205: CodeInfo(
        "The current offboarding record is under modification approval; it cannot be withdrawn.",
        "Wait until the modification approval of this offboarding ends.",
    ),
    1160206: CodeInfo(
        "The current offboarding record is under withdrawal approval; it cannot be withdrawn.",
        "A withdrawal approval is already running for this offboarding; wait for it.",
    ),
}

_DATE = "Check the employee's dates and the offboarding date, then resubmit."
_CONTRACT = "Check the employee's contract data, then resubmit."

EDIT: dict[int, CodeInfo] = {
    1160102: CodeInfo("parameter is illegal", "Check offboarding_id and update_data, then resubmit."),
    1160103: CodeInfo("general internal server error code", _SYSTEM, Treatment.RETRY),
    1160200: CodeInfo("has approving transform", "A job change is in approval; withdraw it, then resubmit."),
    1160203: CodeInfo("no current contract", "No valid contract on the offboarding date. " + _CONTRACT),
    1160204: CodeInfo("has future contract", "A contract takes effect in the future. " + _CONTRACT),
    1160205: CodeInfo("contract has actual end date", "The contract already has an end date. " + _CONTRACT),
    1160300: CodeInfo(
        "the department has been disable on the date of offboarding",
        "The department is disabled on the offboarding date; check the date.",
    ),
    1160304: CodeInfo("company id not found", "Check that the company exists."),
    1160601: CodeInfo("offboarding is earlier than onboarding", "The offboarding date is before onboarding."),
    1160602: CodeInfo("offboarding is earlier than probation", "The offboarding date is before probation."),
    1160603: CodeInfo("offboarding is earlier than transform", "The offboarding date is before a job change."),
    1160604: CodeInfo(
        "reason explanation length exceed maximum",
        "Reason explanation (or employee reason explanation) is over 6000 characters.",
    ),
    1160607: CodeInfo("offboarding is earlier than contract start date", _CONTRACT),
    1160608: CodeInfo("offboarding is later than contract end date", _CONTRACT),
    1160610: CodeInfo(
        "has no permission to edit this offboarding",
        "Extend the app's CoreHR data permission (employee resources) to this employee.",
    ),
    1160617: CodeInfo("hyperlink field format is illegal", "Fix the hyperlink field value."),
    1160618: CodeInfo(
        "text field exceeds maximum limit",
        "Single-line text is at most 255 characters, multi-line text at most 6000.",
    ),
    1160619: CodeInfo("enum value of the enum field is invalid", "Use an existing option api_name."),
    1160623: CodeInfo(
        "not allowed to edit this offboarding",
        "The offboarding must have passed approval and the field must be editable.",
    ),
    1160624: CodeInfo("operator does not exist", "Check operator_id."),
    1160625: CodeInfo("offboarding does not exist", "The offboarding id does not exist."),
    1160630: CodeInfo("invalid number value", "Fix the number field value."),
    1160631: CodeInfo("employee is not exist or has offboarded", "Check that the employee exists."),
    1160636: CodeInfo("custom employment does not exist", "A person field names an unknown employment id."),
    1160637: CodeInfo("not support edit attachment", "Attachment fields cannot be edited."),
    1160638: CodeInfo("invalid date time value", "Use YYYY-MM-DD or YYYY-MM-DD HH:mm:ss."),
    1160639: CodeInfo("invalid bool value", 'Use "true" or "false".'),
    1160700: CodeInfo("non compete agreement field value is illegal", "Check the non-compete agreement fields."),
    1160710: CodeInfo("invalid block list", "Check the block list fields."),
    1161000: CodeInfo("unknown error", _SYSTEM, Treatment.RETRY),
    1161001: CodeInfo(
        "The current offboarding record is under modification approval; it cannot be edited.",
        "Wait until the modification approval ends.",
    ),
    1161002: CodeInfo(
        "The current offboarding record is under withdrawal approval; it cannot be edited.",
        "Wait until the withdrawal approval ends.",
    ),
}

SEARCH: dict[int, CodeInfo] = {
    1160102: CodeInfo("Param is invalid", "Check the search filters."),
    1160103: CodeInfo("No permission on param", "The app lacks a scope for a filter (e.g. reasons).", Treatment.AUTH),
    1160104: CodeInfo("Missing query parametert", "Range filters must be sent in pairs; page_size is required."),
    1160999: CodeInfo("general internal server error code", _SYSTEM, Treatment.RETRY),
}

BY_ENDPOINT: dict[Endpoint, dict[int, CodeInfo]] = {
    Endpoint.TOKEN: {},
    Endpoint.REVOKE: REVOKE,
    Endpoint.EDIT: EDIT,
    Endpoint.SEARCH: SEARCH,
}


def lookup(endpoint: Endpoint, code: int) -> CodeInfo | None:
    """Return what is documented for ``code`` on ``endpoint`` (endpoint table first, then common codes)."""
    return BY_ENDPOINT[endpoint].get(code) or COMMON.get(code)
