"""The date window an offboarding event watcher searches, evaluated afresh at every poll.

A window is relative to "today" in the tenant's time zone: ``days_back`` days before today up to ``days_ahead``
days after it, both ends included. It applies to one or more of the v1 search's range filters (AND-ed by
Feishu): the offboarding date, the expected offboarding date (``YYYY-MM-DD``) and the application time (seconds
since the epoch; the window then runs from the first day's 00:00:00 to the last day's 23:59:59 in the tenant's
time zone). See https://open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/reference/corehr-v1/offboarding/search.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError

if TYPE_CHECKING:
    from collections.abc import Collection

WINDOW_FIELDS = ("offboarding_date", "expected_offboarding_date", "apply_initiating_time")
"""Search range filters a window can apply to."""

DEFAULT_TIMEZONE = "+08:00"
"""Feishu tenants in mainland China keep Beijing time (UTC+8)."""

MAX_DAYS = 3660
_OFFSET = re.compile(r"^(?:UTC)?([+-])(\d{2}):?(\d{2})$")


def parse_timezone(name: str) -> dt.tzinfo:
    """A fixed UTC offset (``+08:00``, ``UTC-05:00``) or an IANA name (``Asia/Shanghai``).

    :param name: the tenant's time zone.
    """
    if not isinstance(name, str) or not name.strip():
        raise FeishuInvalidInputError(
            f"tenant_timezone must be a UTC offset such as +08:00 or an IANA name, got {name!r}"
        )
    text = name.strip()
    match = _OFFSET.match(text)
    if match:
        sign, hours, minutes = match.groups()
        offset = dt.timedelta(hours=int(hours), minutes=int(minutes))
        if offset > dt.timedelta(hours=14) or int(minutes) >= 60:
            raise FeishuInvalidInputError(f"tenant_timezone {text!r} is not a valid UTC offset (at most ±14:00)")
        return dt.timezone(-offset if sign == "-" else offset)
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise FeishuInvalidInputError(
            f"tenant_timezone {text!r} is neither a UTC offset such as +08:00 nor a known IANA time zone"
        ) from None


def _days(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
        raise FeishuInvalidInputError(f"{name} must be a whole number of days from 0 to {MAX_DAYS}, got {value!r}")
    return value


def _fields(value: str | Collection[str]) -> tuple[str, ...]:
    names = (value,) if isinstance(value, str) else tuple(value)
    if not names:
        raise FeishuInvalidInputError(f"window_fields must name at least one of {', '.join(WINDOW_FIELDS)}")
    for name in names:
        if name not in WINDOW_FIELDS:
            raise FeishuInvalidInputError(f"window_fields: {name!r} is not one of {', '.join(WINDOW_FIELDS)}")
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class Window:
    """Which search range filters to set, and how many days around today (tenant time) they cover.

    Build it with :meth:`of`, which validates.

    :param fields: range filters the window applies to (each gets the same days).
    :param days_back: days before today included.
    :param days_ahead: days after today included.
    :param timezone: the tenant's time zone as given (UTC offset or IANA name).
    """

    fields: tuple[str, ...]
    days_back: int
    days_ahead: int
    timezone: str

    @classmethod
    def of(cls, fields: str | Collection[str], days_back: Any, days_ahead: Any, timezone: str) -> Window:
        """Validate and build a window.

        :param fields: one or more of :data:`WINDOW_FIELDS`.
        :param days_back: days before today included (0-3660).
        :param days_ahead: days after today included (0-3660).
        :param timezone: the tenant's time zone (UTC offset such as ``+08:00`` or an IANA name).
        """
        parse_timezone(timezone)
        return cls(
            _fields(fields), _days("window_days_back", days_back), _days("window_days_ahead", days_ahead), timezone
        )

    def dates(self, now: dt.datetime) -> tuple[dt.date, dt.date]:
        """First and last day of the window at ``now`` (an aware datetime), in the tenant's time zone.

        :param now: the poll's time.
        """
        today = now.astimezone(parse_timezone(self.timezone)).date()
        return today - dt.timedelta(days=self.days_back), today + dt.timedelta(days=self.days_ahead)

    def search_filters(self, now: dt.datetime) -> dict[str, Any]:
        """Keyword arguments of ``search_offboardings`` for the window at ``now``.

        :param now: the poll's time (aware).
        """
        first, last = self.dates(now)
        found: dict[str, Any] = {}
        for name in self.fields:
            if name == "apply_initiating_time":
                zone = parse_timezone(self.timezone)
                start = dt.datetime.combine(first, dt.time(0, 0, 0), tzinfo=zone)
                end = dt.datetime.combine(last, dt.time(23, 59, 59), tzinfo=zone)
                found[f"{name}_start"], found[f"{name}_end"] = int(start.timestamp()), int(end.timestamp())
            else:
                found[f"{name}_start"], found[f"{name}_end"] = first, last
        return found

    def describe(self, now: dt.datetime) -> str:
        """Human-readable window at ``now`` (for logs).

        :param now: the poll's time (aware).
        """
        first, last = self.dates(now)
        return f"{' and '.join(self.fields)} from {first} to {last} ({self.timezone})"
