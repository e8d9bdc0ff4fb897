"""The emulator's clock: a monotonic clock for tokens and rate limits, and the tenant's calendar.

Two readings of one clock:

* :meth:`Clock.now` (monotonic seconds plus every :meth:`Clock.advance`) ages tokens and closes rate-limit
  windows; it runs at real speed.
* :meth:`Clock.wall` is the tenant's calendar (seconds since the epoch): it starts at ``start`` (default: the
  real time), runs ``speed`` times faster than real time (0 stops it), moves with :meth:`Clock.advance` and
  :meth:`Clock.set`. Statuses move on it (see :mod:`.lifecycle`), and record times are written on it, in the
  tenant's time zone (``+08:00`` by default, as Feishu shows times for a tenant in China).

The speed applies to the calendar only: a calendar running a day per second must not expire every token 12
times a second. :meth:`advance` and :meth:`set` move both readings (time passes for tokens too).
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from airflow_provider_feishu_corehr.testing.errors import EmulatorError

DEFAULT_TIMEZONE = "+08:00"
TEXT_FORMAT = "%Y-%m-%d %H:%M:%S"
_OFFSET = re.compile(r"(?:UTC)?([+-])(\d{1,2})(?::?(\d{2}))?")


def parse_timezone(text: str) -> tzinfo:
    """``+08:00`` / ``UTC+8`` / ``-05:30`` (fixed offsets) or an IANA name such as ``Asia/Shanghai``."""
    if not isinstance(text, str) or not text:
        raise EmulatorError(f"tenant time zone must be like '+08:00' or 'Asia/Shanghai', got {text!r}")
    match = _OFFSET.fullmatch(text.strip())
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or minutes > 59:
            raise EmulatorError(f"tenant time zone offset {text!r} is out of range (-14:00 to +14:00)")
        offset = timedelta(hours=hours, minutes=minutes)
        return timezone(-offset if sign == "-" else offset)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise EmulatorError(
            f"tenant time zone {text!r} is unknown; use an offset like '+08:00' or an IANA name"
        ) from None


def check_seconds(name: str, value: object, *, optional: bool = False) -> float | None:
    """``value`` as float seconds >= 0 (None passes when ``optional``); raises naming ``name``."""
    if optional and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise EmulatorError(f"{name} must be a number of seconds >= 0, got {value!r}")
    return float(value)


def _number(name: str, value: object, *, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise EmulatorError(f"{name} must be a number >= {minimum:g}, got {value!r}")
    return float(value)


class Clock:
    """Monotonic seconds (tokens, rate limits) and the tenant calendar (statuses, record times).

    :param start: tenant time at start: ``YYYY-MM-DD HH:MM:SS`` / ``YYYY-MM-DD`` (in ``tz``) or epoch seconds;
        None = the real time.
    :param speed: calendar seconds per real second (0 = the calendar stands still between advances).
    :param tz: the tenant's time zone (``+08:00``, ``UTC-5``, ``Europe/Berlin``, ...).
    """

    def __init__(self, start: str | float | None = None, speed: float = 1.0, tz: str = DEFAULT_TIMEZONE) -> None:
        self.tz_name = tz
        self.tz = parse_timezone(tz)
        self._days: dict[str, float] = {}  # end_of_day cache
        self._lock = threading.Lock()
        self._initial = (None if start is None else self.epoch_of(start), _number("clock speed", speed))
        self.reset()

    def reset(self) -> None:
        """Back to the start: no offset, the initial speed, the calendar at ``start`` (or the real time)."""
        start, speed = self._initial
        with self._lock:
            self._offset = 0.0
            self._anchor_mono = time.monotonic()
            self._anchor_wall = time.time() if start is None else start
            self._speed = speed

    def now(self) -> float:
        return time.monotonic() + self._offset

    def wall(self) -> float:
        """The tenant calendar, seconds since the epoch."""
        with self._lock:
            return self._anchor_wall + (time.monotonic() - self._anchor_mono) * self._speed

    @property
    def speed(self) -> float:
        return self._speed

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (>= 0): tokens age, rate-limit windows pass, the calendar moves."""
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise EmulatorError(f"clock advance must be a number of seconds >= 0, got {seconds!r}")
        with self._lock:
            self._offset += float(seconds)
            self._anchor_wall += float(seconds)

    def set(self, when: str | float) -> None:
        """Move the calendar forward to ``when`` (tenant text or epoch seconds); the clock never goes back."""
        delta = self.epoch_of(when) - self.wall()
        if delta < 0:
            raise EmulatorError(
                f"the clock only moves forward: {when!r} is before the tenant time {self.text()} "
                "(POST /_emulator/reset goes back to the start)"
            )
        self.advance(delta)

    def set_speed(self, speed: float) -> None:
        """Calendar seconds per real second from now on (0 stops the calendar)."""
        factor = _number("clock speed", speed)
        with self._lock:
            now = time.monotonic()
            self._anchor_wall += (now - self._anchor_mono) * self._speed
            self._anchor_mono, self._speed = now, factor

    # -- tenant time as text -----------------------------------------------------------------------------------
    def text(self, epoch: float | None = None) -> str:
        """``YYYY-MM-DD HH:MM:SS`` in the tenant's zone (default: the calendar now)."""
        moment = self.wall() if epoch is None else epoch
        return datetime.fromtimestamp(moment, UTC).astimezone(self.tz).strftime(TEXT_FORMAT)

    def epoch_of(self, when: str | float) -> float:
        """Epoch seconds of a tenant ``YYYY-MM-DD HH:MM:SS`` / ``YYYY-MM-DD``, or of epoch seconds given as is."""
        if isinstance(when, int | float) and not isinstance(when, bool):
            return float(when)
        if isinstance(when, str):
            for fmt in (TEXT_FORMAT, "%Y-%m-%d"):
                try:
                    return datetime.strptime(when, fmt).replace(tzinfo=self.tz).timestamp()
                except ValueError:
                    continue
        raise EmulatorError(f"a tenant time must be 'YYYY-MM-DD HH:MM:SS', 'YYYY-MM-DD' or epoch seconds, got {when!r}")

    def end_of_day(self, date_text: str) -> float | None:
        """Epoch seconds of midnight at the end of ``YYYY-MM-DD`` in the tenant's zone (None if not a date)."""
        if date_text not in self._days:
            try:
                day = datetime.strptime(date_text, "%Y-%m-%d")
            except (TypeError, ValueError):
                return None
            self._days[date_text] = (day + timedelta(days=1)).replace(tzinfo=self.tz).timestamp()
        return self._days[date_text]

    def describe(self) -> dict[str, object]:
        return {"tenant_time": self.text(), "timezone": self.tz_name, "epoch": self.wall(), "speed": self.speed}
