"""How a run of looks goes on: when the next look comes (log text), when failed looks end the wait, and when looks
slip behind the poll interval; the checks of the two arguments that pace it.

Framework-free; shared by the sensor (poke and reschedule modes) and the trigger (deferrable mode), so the three
modes log and give up the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.client.errors import FeishuError


def next_look_text(seconds: float) -> str:
    """``"next look in 60 s (about 12:01:00 UTC)"``: when the next look is due, for the INFO lines of long waits.

    :param seconds: seconds from now until the next look.
    """
    at = datetime.now(UTC) + timedelta(seconds=seconds)
    return f"next look in {seconds:.3g} s (about {at:%H:%M:%S} UTC)"


class FailureCounter:
    """The one rule for failed looks, shared by the sensor (poke mode) and the trigger.

    A permanent error ends the wait at once; transient errors end it after ``limit`` in a row; a good look resets
    the count. Every failed look is logged here, ids and the typed error's text only.

    :param limit: transient errors in a row after which the wait gives up (at least 1).
    """

    def __init__(self, limit: int) -> None:
        self.limit = check_max_consecutive_failures(limit)
        self.count = 0

    def success(self) -> None:
        """A look succeeded: the next transient error is the first in a row again."""
        self.count = 0

    def failure(self, exc: FeishuError, log: Any, watched: str, next_look_in: float | None = None) -> bool:
        """Count one failed look and log it; return ``True`` when the wait must end now (the caller raises).

        :param exc: the typed error of the look (the client already retried it).
        :param log: the logger of the task or trigger.
        :param watched: what is watched, for the log line.
        :param next_look_in: seconds until the next look, for the log line.
        """
        if exc.permanent:
            log.error("Looking up %s failed permanently: %s", watched, exc)
            return True
        self.count += 1
        if self.count >= self.limit:
            log.error("Giving up on %s after %d transient errors in a row; last: %s", watched, self.count, exc)
            return True
        when = f"; {next_look_text(next_look_in)}" if next_look_in is not None else ""
        log.warning(
            "Transient error %d of at most %d in a row looking up %s: %s%s",
            self.count,
            self.limit,
            watched,
            exc,
            when,
        )
        return False


SLIP_MIN_SECONDS = 1.0
"""A look is "far behind" when it comes more than one poll interval, and at least this long, after it was due."""


class SlipWatch:
    """Says once, in the task or trigger log, that looks slip far behind the poll interval, and once when they
    catch up again (a look more than one interval late, and at least :data:`SLIP_MIN_SECONDS`).

    :param interval: the poll interval in seconds.
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.behind = False

    def observe(self, lateness: float, log: Any, watched: str) -> None:
        """Record how late one look came after it was due, logging when the state changes.

        :param lateness: seconds between when the look was due and when its answer came.
        :param log: the logger of the task or trigger.
        :param watched: what is watched, for the log line.
        """
        far = lateness > max(self.interval, SLIP_MIN_SECONDS)
        if far and not self.behind:
            log.warning(
                "Looks at %s slip behind the poll interval of %.3g s: this one came %.1f s after it was due. "
                "The app's search budget (100 searches per minute for the whole app) is shared by every sensor; "
                "see the 'Running at scale' section of the provider's README.",
                watched,
                self.interval,
                lateness,
            )
        elif self.behind and lateness <= self.interval:
            log.info("Looks at %s are back within the poll interval of %.3g s.", watched, self.interval)
        self.behind = far if far or lateness <= self.interval else self.behind


def check_poll_interval(value: Any) -> float:
    """Return the trigger's poll interval as float if it is a positive number, else raise naming the rule."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise FeishuInvalidInputError(
            f"poll interval (poke_interval) must be a positive number of seconds in deferrable mode; got {value!r}"
        )
    return float(value)


def check_max_consecutive_failures(value: Any) -> int:
    """Return ``value`` if it is an int of at least 1, else raise naming the field."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FeishuInvalidInputError(f"max_consecutive_failures must be an integer of at least 1; got {value!r}")
    return value
