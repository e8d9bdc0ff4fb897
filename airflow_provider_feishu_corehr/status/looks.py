"""How a run of looks goes on: when failed looks end the wait, when looks slip behind the poll interval
(docs/scaling.md), the "next look" log text, and the checks of the two arguments that pace it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.client.errors import FeishuError


def next_look_text(seconds: float, what: str = "next look") -> str:
    """``"next look in 60 s (about 12:01:00 UTC)"``: when the next look starts, for the INFO lines of long waits.

    :param seconds: seconds from now until the next look starts (the trigger's: when its shared round starts).
    :param what: the look's name in the text.
    """
    at = datetime.now(UTC) + timedelta(seconds=seconds)
    return f"{what} in {seconds:.3g} s (about {at:%H:%M:%S} UTC)"


SLIP_MIN_SECONDS = 1.0
"""A look is "far behind" when it comes more than one poll interval, and at least this long, after it was due."""


class Looks:
    """The run of looks of one sensor poke loop or trigger, logged in its log (ids and the error's text only).

    A permanent error ends the wait at once; transient errors end it after ``limit`` in a row; a good look resets
    the count. Looks that slip far behind the interval are said once, and once when they catch up.

    :param limit: transient errors in a row after which the wait gives up (at least 1).
    :param interval: the poll interval in seconds.
    """

    def __init__(self, limit: int, interval: float) -> None:
        self.limit = check_max_consecutive_failures(limit)
        self.interval = interval
        self.count = 0
        self.behind = False

    def ended(
        self,
        error: FeishuError | None,
        lateness: float | None,
        log: Any,
        watched: str,
        next_look_in: float | None = None,
    ) -> FeishuError | None:
        """Note one look; return its error when that ends the wait now (the caller raises or sends it).

        :param error: the typed error of a failed look (the client already retried it), else ``None``.
        :param lateness: seconds between when the look was due and when its answer came (``None``: first look).
        :param log: the logger of the task or trigger.
        :param watched: what is watched, for the log lines.
        :param next_look_in: seconds until the next look starts; ``None``: one poll interval.
        """
        if lateness is not None:
            self._observe(lateness, log, watched)
        if error is None:
            self.count = 0
            return None
        if error.permanent:
            log.error("Looking up %s failed permanently: %s", watched, error)
            return error
        self.count += 1
        if self.count >= self.limit:
            log.error("Giving up on %s after %d transient errors in a row; last: %s", watched, self.count, error)
            return error
        log.warning(
            "Transient error %d of at most %d in a row looking up %s: %s; %s",
            self.count,
            self.limit,
            watched,
            error,
            next_look_text(self.interval if next_look_in is None else next_look_in),
        )
        return None

    def _observe(self, lateness: float, log: Any, watched: str) -> None:
        far = lateness > max(self.interval, SLIP_MIN_SECONDS)
        if far and not self.behind:
            log.warning(
                "Looks at %s slip behind the poll interval of %.3g s: this one came %.1f s after it was due. "
                "The app's search budget (100 searches per minute for the whole app) is shared by every sensor; "
                "see the provider's docs/scaling.md.",
                watched,
                self.interval,
                lateness,
            )
        elif self.behind and lateness <= self.interval:
            log.info("Looks at %s are back within the poll interval of %.3g s.", watched, self.interval)
        self.behind = far if far or lateness <= self.interval else self.behind


def check_poll_interval(value: Any, field: str = "poll_interval") -> float:
    """Return the poll interval as float if it is a positive number, else raise naming the field and the rule.

    :param value: the poll interval.
    :param field: the argument's name in the message.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise FeishuInvalidInputError(f"{field} must be a positive number of seconds; got {value!r}")
    return float(value)


def check_max_consecutive_failures(value: Any) -> int:
    """Return ``value`` if it is an int of at least 1, else raise naming the field.

    :param value: ``max_consecutive_failures``.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FeishuInvalidInputError(f"max_consecutive_failures must be an integer of at least 1; got {value!r}")
    return value
