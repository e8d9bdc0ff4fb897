"""Progress lines of a long batch in the task log, and the summary table at its end (``docs/operators.md``,
"Progress and summary"). The clock is injectable so tests drive it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

INTERVAL = 10.0
SHARE = 0.10
CLOCK: Callable[[], float] = time.monotonic
"""The clock of :class:`Progress` when none is given (tests replace it to drive progress lines)."""
_ADVICE_WIDTH = 100


class Progress:
    """Counts finished records and logs progress lines.

    :param action: ``"Edit"`` or ``"Revoke"``.
    :param total: records to send.
    :param log: the task's logger.
    :param limit: the endpoint's rate limit in requests per second, ``None`` when off.
    :param waits: returns ``(attempts refused by Feishu's rate limit, seconds waited for the client's limiter)``
        so far.
    :param clock: monotonic clock in seconds; default :data:`CLOCK`.
    """

    def __init__(
        self,
        action: str,
        total: int,
        *,
        log: Any,
        limit: float | None,
        waits: Callable[[], tuple[int, float]] = lambda: (0, 0.0),
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.action = action
        self.total = total
        self.log = log
        self.limit = limit
        self.waits = waits
        self.clock = clock or CLOCK
        self.started = self.clock()
        self.done = 0
        self.failures = 0
        self._last_time = self.started
        self._last_done = 0

    def record(self, ok: bool) -> None:
        """One record finished.

        :param ok: False when it did not succeed.
        """
        self.done += 1
        if not ok:
            self.failures += 1
        self.poll()

    def poll(self) -> None:
        """Log a progress line when both the interval and the share have passed since the last one."""
        now = self.clock()
        if self.done >= self.total or now - self._last_time < INTERVAL:
            return
        if self.done - self._last_done < max(1, SHARE * self.total):
            return
        self._last_time, self._last_done = now, self.done
        self.log.info("%s progress: %s", self.action, self.line(now))

    def line(self, now: float) -> str:
        """The text of a progress line at clock time ``now``.

        :param now: the clock's reading.
        """
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        against = f" ({rate / self.limit:.0%} of the limit {self.limit:g}/s)" if self.limit else " (no rate limit)"
        eta = (self.total - self.done) / rate if rate > 0 else None
        refused, paced = self.waits()
        return (
            f"{self.done}/{self.total} ({self.done / self.total:.0%}) in {elapsed:.0f} s, {rate:.1f}/s{against}, "
            f"ETA {_duration(eta)}; failures so far {self.failures}; rate-limit waits: {refused} refused by Feishu, "
            f"{paced:.1f} s paced by the client"
        )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def summary_table(action: str, records: Sequence[dict[str, Any]], outcomes: Sequence[str], elapsed: float) -> str:
    """The compact end-of-batch table: outcome counts, then failures by kind and code with counts and advice.

    :param action: ``"Edit"`` or ``"Revoke"``.
    :param records: the XCom records.
    :param outcomes: every outcome name, in display order.
    :param elapsed: seconds the batch took.
    """
    counts = dict.fromkeys(outcomes, 0)
    groups: dict[tuple[str, str, str], list[Any]] = {}
    for record in records:
        counts[record["outcome"]] = counts.get(record["outcome"], 0) + 1
        error = record.get("error")
        if error:
            code = "-" if error["code"] is None else str(error["code"])
            key = (record["outcome"], error["kind"], code)
            groups.setdefault(key, [0, error.get("advice")])[0] += 1
    lines = [f"{action} summary: {len(records)} record(s) in {elapsed:.1f} s", f"  {'outcome':<18}{'count':>7}"]
    lines += [f"  {name:<18}{count:>7}" for name, count in counts.items()]
    if groups:
        lines.append(f"  {'not succeeded':<18}{'kind':<15}{'code':<10}{'count':>7}  advice")
        for (outcome, kind, code), (count, advice) in sorted(groups.items(), key=lambda kv: -kv[1][0]):
            text = (advice or "-").replace("\n", " ")
            if len(text) > _ADVICE_WIDTH:
                text = text[: _ADVICE_WIDTH - 3] + "..."
            lines.append(f"  {outcome:<18}{kind:<15}{code:<10}{count:>7}  {text}")
    return "\n".join(lines)
