"""Request building and response parsing of the four endpoints, shared by the sync and the async client.

Nothing here does I/O. Builders validate their arguments (raising :class:`FeishuInvalidInputError` before anything
is sent) and return an :class:`ApiRequest`; parsers turn an accepted :class:`~.policy.Reply` into the small typed
results of :mod:`.models`. Keeping both in one module is what stops the two transports from drifting apart.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from airflow_provider_feishu_corehr.client.codes import Endpoint
from airflow_provider_feishu_corehr.client.errors import (
    FeishuBusinessError,
    FeishuEditFieldsError,
    FeishuInvalidInputError,
    FeishuTransientError,
)
from airflow_provider_feishu_corehr.client.models import EditResult, FieldValue, OffboardingRecord, RevokeResult
from airflow_provider_feishu_corehr.client.paging import SearchPager
from airflow_provider_feishu_corehr.client.request import ApiRequest
from airflow_provider_feishu_corehr.client.validation import (
    check_ids,
    check_statuses,
    check_user_id_type,
    optional_id,
    optional_offboarding_id,
    require_id,
    require_offboarding_id,
)

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.client.models import ClientSettings
    from airflow_provider_feishu_corehr.client.policy import Reply

ALREADY_WITHDRAWN = 1160202
MAX_PAGE_SIZE = 100
MAX_STATUSES = 10
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# -- token --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenGrant:
    """A tenant access token and its remaining lifetime.

    :param token: the token (a secret: never log it).
    :param expire: seconds until it expires, as the server said.
    """

    token: str = field(repr=False)
    expire: float

    def __repr__(self) -> str:
        return f"TokenGrant(token=***, expire={self.expire})"


def token_request(settings: ClientSettings) -> ApiRequest:
    """Build the ``tenant_access_token/internal`` request.

    :param settings: client settings (App ID and App Secret are sent in the body).
    """
    return ApiRequest(
        Endpoint.TOKEN,
        payload={"app_id": settings.app_id, "app_secret": settings.app_secret},
        authorized=False,
        complete=lambda body: token_grant_of(body) is not None,
    )


def token_grant_of(body: Mapping[str, Any]) -> TokenGrant | None:
    """The grant in a token reply, or ``None`` when it has no token or no positive numeric ``expire``.

    :param body: the decoded envelope of the token endpoint.
    """
    token = body.get("tenant_access_token")
    expire = body.get("expire")
    if not isinstance(token, str) or not token or not isinstance(expire, int | float) or isinstance(expire, bool):
        return None
    if not 0 < expire < float("inf"):
        return None
    return TokenGrant(token=token, expire=float(expire))


def parse_token(reply: Reply) -> TokenGrant:
    """Read the token and its lifetime from a successful token reply (the retry table made sure it has both).

    :param reply: accepted reply of the token endpoint.
    """
    grant = token_grant_of(reply.body)
    if grant is None:
        raise FeishuTransientError(
            "token response has no tenant_access_token or no expire",
            code=reply.code,
            log_id=reply.log_id,
            http_status=reply.http_status,
            endpoint=Endpoint.TOKEN.value,
        )
    return grant


# -- revoke -------------------------------------------------------------------------------------------------


def _user_id_type(settings: ClientSettings, user_id_type: str | None) -> str:
    return check_user_id_type(settings.user_id_type if user_id_type is None else user_id_type)


def revoke_request(
    settings: ClientSettings, offboarding_id: str, *, operator_id: str | None, user_id_type: str | None
) -> ApiRequest:
    """Build a revoke request; code 1160202 (already withdrawn) is accepted as an answer.

    :param settings: client settings (default ``user_id_type``).
    :param offboarding_id: the offboarding to revoke.
    :param operator_id: operator's employment id; ``None`` or ``""`` = system operator.
    :param user_id_type: id type of ``operator_id``; ``None`` = ``settings.user_id_type``.
    """
    payload = {"offboarding_id": require_offboarding_id("offboarding_id", offboarding_id)}
    return _write(Endpoint.REVOKE, settings, payload, operator_id, user_id_type, frozenset({ALREADY_WITHDRAWN}))


def _write(
    endpoint: Endpoint,
    settings: ClientSettings,
    payload: dict[str, Any],
    operator_id: str | None,
    user_id_type: str | None,
    accept: frozenset[int] = frozenset(),
) -> ApiRequest:
    """A write request of ``payload`` with its operator and ``user_id_type`` checked and added."""
    operator = optional_id("operator_id", operator_id)
    if operator is not None:
        payload["operator_id"] = operator
    params = {"user_id_type": _user_id_type(settings, user_id_type)}
    return ApiRequest(endpoint, params=params, payload=payload, accept=accept)


def parse_revoke(request: ApiRequest, reply: Reply) -> RevokeResult:
    """Turn a revoke reply into a :class:`RevokeResult` (``after_ambiguous_attempt`` as the attempt loop marked it).

    :param request: the request that was sent.
    :param reply: its accepted reply (code 0 or 1160202).
    """
    return RevokeResult(
        offboarding_id=request.payload["offboarding_id"],
        already_withdrawn=reply.code == ALREADY_WITHDRAWN,
        log_id=reply.log_id,
        after_ambiguous_attempt=reply.after_ambiguous_attempt,
    )


# -- edit ---------------------------------------------------------------------------------------------------


def edit_request(
    settings: ClientSettings,
    offboarding_id: str,
    update_data: Sequence[FieldValue],
    *,
    operator_id: str | None,
    user_id_type: str | None,
) -> ApiRequest:
    """Build an edit request from ``update_data`` already in wire form (:mod:`.fields` converts and checks values).

    :param settings: client settings (default ``user_id_type``).
    :param offboarding_id: the offboarding to edit.
    :param update_data: the fields to change (non-empty).
    :param operator_id: operator's employment id; ``None`` or ``""`` = system operator.
    :param user_id_type: id type of ``operator_id`` and of person fields; ``None`` = ``settings.user_id_type``.
    """
    oid = require_offboarding_id("offboarding_id", offboarding_id)
    hint = "use client.fields.normalize_update_data to convert {field_name: value}"
    if isinstance(update_data, str | bytes | Mapping) or not isinstance(update_data, Sequence):
        raise FeishuInvalidInputError(
            f"update_data must be a sequence of FieldValue, got {type(update_data).__name__}; {hint}"
        )
    if not update_data:
        raise FeishuInvalidInputError("update_data must not be empty (the API requires at least one field)")
    entries = []
    for index, item in enumerate(update_data):
        if not isinstance(item, FieldValue):
            raise FeishuInvalidInputError(
                f"update_data[{index}] must be a FieldValue, got {type(item).__name__}; {hint}"
            )
        require_id(f"update_data[{index}].field_name", item.field_name)
        if not isinstance(item.value, str):
            raise FeishuInvalidInputError(
                f"update_data[{index}].value must be a string, got {type(item.value).__name__}"
            )
        entries.append(item.to_json())
    return _write(Endpoint.EDIT, settings, {"offboarding_id": oid, "update_data": entries}, operator_id, user_id_type)


# Edit codes about a field or a value (edit page): the answer names no field, so the error names those sent.
EDIT_FIELD_CODES = frozenset(
    {1160102, 1160604, 1160617, 1160618, 1160619, 1160623, 1160630, 1160636, 1160637, 1160638, 1160639}
)


def edit_refused(request: ApiRequest, error: FeishuBusinessError) -> FeishuBusinessError:
    """The error an edit refusal raises: for a code of :data:`EDIT_FIELD_CODES`, a :class:`FeishuEditFieldsError`
    naming the offboarding and the field names the request carried (never a value); else ``error`` itself.

    Both transports call it where an edit's attempt loop raised a business error, so the rule has one home.

    :param request: the edit request that was sent.
    :param error: the business error of its answer.
    """
    if request.endpoint is not Endpoint.EDIT or error.code not in EDIT_FIELD_CODES:
        return error
    entries = request.payload.get("update_data") or ()
    names = tuple(str(e.get("field_name")) for e in entries if isinstance(e, Mapping))
    return FeishuEditFieldsError(error, offboarding_id=str(request.payload.get("offboarding_id")), field_names=names)


def parse_edit(request: ApiRequest, reply: Reply) -> EditResult:
    """Turn an edit reply into an :class:`EditResult` with the fields Feishu echoed.

    The documented answer echoes the edited fields (``{"code": 0, "data": {"data": [...]}}``). A code 0 without
    that list is an unreadable answer: the edit may have been applied, and it is not sent again (the edit defence),
    so it ends like any ambiguous edit, a :class:`FeishuTransientError` with ``outcome_unknown=True``
    (``docs/transport.md``, "An answer without its data").

    :param request: the request that was sent.
    :param reply: its accepted reply.
    :raises FeishuTransientError: the answer has no ``data.data`` list.
    """
    echoed = reply.data.get("data")
    if not isinstance(echoed, list):
        raise FeishuTransientError(
            "the edit was answered code 0 without the echoed fields (no data.data list): it may have been applied; "
            "it is not sent again (outcome unknown)",
            code=reply.code,
            log_id=reply.log_id,
            http_status=reply.http_status,
            endpoint=Endpoint.EDIT.value,
            advice="Read the record back before sending it again: Feishu may have applied it.",
            outcome_unknown=True,
        )
    fields: list[FieldValue] = []
    for item in echoed:
        if isinstance(item, Mapping) and isinstance(item.get("field_name"), str):
            value = item.get("value")
            fields.append(FieldValue(item["field_name"], value if isinstance(value, str) else json.dumps(value)))
    return EditResult(offboarding_id=request.payload["offboarding_id"], fields=tuple(fields), log_id=reply.log_id)


# -- search -------------------------------------------------------------------------------------------------


def _date(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        raise FeishuInvalidInputError(f"{name} must be a date (YYYY-MM-DD), not a datetime")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and _DATE.match(value.strip()):
        text = value.strip()
        try:
            dt.date.fromisoformat(text)
        except ValueError:
            pass
        else:
            return text
    raise FeishuInvalidInputError(f"{name} must be a date or a YYYY-MM-DD string, got {value!r}")


def _timestamp(name: str, value: Any) -> str | None:
    """Seconds since the epoch as Feishu's ``*_time_start``/``_end`` filters take them (a decimal string)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise FeishuInvalidInputError(f"{name} must be a timezone-aware datetime or whole seconds since the epoch")
        return str(int(value.timestamp()))
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    raise FeishuInvalidInputError(
        f"{name} must be a timezone-aware datetime or whole seconds since the epoch (int >= 0), got {value!r}"
    )


def _range(
    body: dict[str, Any],
    filters: Mapping[str, Any],
    prefix: str,
    parse: Callable[[str, Any], str | None] = _date,
    order: Callable[[str], Any] = str,
) -> None:
    first, last = (parse(f"{prefix}_{side}", filters.get(f"{prefix}_{side}")) for side in ("start", "end"))
    if (first is None) != (last is None):
        given, missing = (f"{prefix}_start", f"{prefix}_end") if first else (f"{prefix}_end", f"{prefix}_start")
        raise FeishuInvalidInputError(f"{given} needs {missing} too: Feishu takes date ranges only in pairs")
    if first is not None and last is not None:
        if order(first) > order(last):
            raise FeishuInvalidInputError(f"{prefix}_start {first} is after {prefix}_end {last}")
        body[f"{prefix}_start"] = first
        body[f"{prefix}_end"] = last


class SearchFilters(TypedDict, total=False):
    """The filters of a search, all optional; the clients' and the hook's ``search_offboardings`` take them too.

    :param employment_ids: employment ids (one string counts as one id); ``None`` = all employments.
    :param statuses: offboarding statuses, OR-ed (at most 10); ``None`` or empty = all.
    :param offboarding_date_start: start of the offboarding-date range (``date`` or ``YYYY-MM-DD``; pair with the
        end, as every range).
    :param offboarding_date_end: end of the offboarding-date range.
    :param expected_offboarding_date_start: start of the expected-offboarding-date range.
    :param expected_offboarding_date_end: end of the expected-offboarding-date range.
    :param user_id_type: id type of ``employment_ids`` and of ids in the records; ``None`` = the settings'.
    :param page_size: records per page, 1-100 (default 100).
    :param apply_initiating_time_start: start of the application-time range (aware datetime or epoch seconds).
    :param apply_initiating_time_end: end of the application-time range.
    """

    employment_ids: Iterable[str] | str | None
    statuses: Iterable[str] | str | None
    offboarding_date_start: dt.date | str | None
    offboarding_date_end: dt.date | str | None
    expected_offboarding_date_start: dt.date | str | None
    expected_offboarding_date_end: dt.date | str | None
    user_id_type: str | None
    page_size: int
    apply_initiating_time_start: dt.datetime | int | None
    apply_initiating_time_end: dt.datetime | int | None


def search_pager(settings: ClientSettings, **filters: Unpack[SearchFilters]) -> SearchPager:
    """Validate search filters and return the pager of the search.

    :param settings: client settings (``user_id_type`` is always sent: search's own default would be ``open_id``).
    :param filters: the :class:`SearchFilters`.
    """
    given: Mapping[str, Any] = filters
    payload: dict[str, Any] = {}
    if given.get("employment_ids") is not None:
        ids = check_ids("employment_ids", given["employment_ids"])
        if not ids:
            raise FeishuInvalidInputError("employment_ids must not be empty; pass None to search every employment")
        payload["employment_ids"] = list(ids)
    if given.get("statuses") is not None:
        checked = check_statuses("statuses", given["statuses"])
        if len(checked) > MAX_STATUSES:
            raise FeishuInvalidInputError(f"statuses takes at most {MAX_STATUSES} values, got {len(checked)}")
        if checked:
            payload["statuses"] = list(checked)
    _range(payload, given, "offboarding_date")
    _range(payload, given, "expected_offboarding_date")
    _range(payload, given, "apply_initiating_time", _timestamp, int)
    page_size = given.get("page_size", MAX_PAGE_SIZE)
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise FeishuInvalidInputError(f"page_size must be an integer from 1 to {MAX_PAGE_SIZE}, got {page_size!r}")
    params = {"page_size": str(page_size), "user_id_type": _user_id_type(settings, given.get("user_id_type"))}
    return SearchPager(params=params, payload=payload, max_pages=settings.max_pages)


def _id_order(offboarding_id: str) -> int:
    return int(offboarding_id) if offboarding_id.isdigit() else -1


def pick_offboarding(records: Iterable[OffboardingRecord], offboarding_id: str | None) -> OffboardingRecord | None:
    """Choose the record :meth:`get_offboarding` returns.

    With ``offboarding_id``: that record, or ``None``. Without: the most recent one (latest
    ``apply_initiating_time``; ties broken by the larger numeric offboarding id), or ``None`` when there is none.

    :param records: the employment's offboardings.
    :param offboarding_id: a specific offboarding id, or ``None``.
    """
    if offboarding_id is not None:
        return next((r for r in records if r.offboarding_id == offboarding_id), None)
    return max(records, key=lambda r: (r.apply_initiating_time or "", _id_order(r.offboarding_id)), default=None)


def get_offboarding_pager(
    settings: ClientSettings, employment_id: str, *, offboarding_id: str | None, user_id_type: str | None
) -> tuple[SearchPager, str | None]:
    """Validate the arguments of ``get_offboarding`` and return the pager of its search and the wanted id.

    :param settings: client settings.
    :param employment_id: the employment whose offboarding is wanted.
    :param offboarding_id: a specific offboarding id, or ``None`` for the most recent one.
    :param user_id_type: id type of ``employment_id``; ``None`` = settings.
    """
    eid = require_id("employment_id", employment_id)
    oid = optional_offboarding_id("offboarding_id", offboarding_id)
    return search_pager(settings, employment_ids=[eid], user_id_type=user_id_type), oid
