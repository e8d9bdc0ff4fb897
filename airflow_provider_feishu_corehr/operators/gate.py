"""The gate every request of an operator's task passes: stopping a batch cleanly.

When the task is interrupted (``on_kill``, which Airflow calls on SIGTERM; SIGINT through :mod:`.sigint`; an
execution timeout; a ``BaseException`` in a worker thread) the :class:`Gate` closes: no record and no request
starts, not even a retry, and a thread waiting for a rate-limiter slot or a backoff gives up at once. Requests on
the wire get :data:`IN_FLIGHT_GRACE` seconds; then the task reports every record. How Airflow delivers each
interruption, and why the grace fits before its SIGKILL: ``docs/operators.md``, "Interruption".
"""

from __future__ import annotations

import threading

IN_FLIGHT_GRACE = 3.0
"""Seconds requests already sent get to finish after the gate closed (the supervisor's SIGKILL comes 5 s after
SIGTERM)."""

WRITE_ENDPOINTS = frozenset({"revoke", "edit"})


class RequestNotStarted(Exception):
    """Raised inside a worker instead of starting a request (or waiting for one) once the gate is closed."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"not sent: the task was interrupted ({reason})")
        self.reason = reason


class Gate:
    """Open while the batch may send; closed once, with the reason, when the task is interrupted.

    It also keeps, per record, how many write attempts may have reached Feishu (a request counts from the moment
    it leaves the rate limiter), so an interrupted record can be told apart: ``unknown`` or ``not_sent``.
    """

    def __init__(self) -> None:
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._reason: str | None = None
        self._local = threading.local()
        self._attempts: dict[int, int] = {}
        self.pacing_wait = 0.0
        self.rate_limit_refusals = 0

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    @property
    def reason(self) -> str:
        return self._reason or "interrupted"

    def close(self, reason: str) -> None:
        """Stop the batch; the first reason wins.

        :param reason: why, for the report (``"SIGTERM"``, ``"on_kill"``, ...).
        """
        with self._lock:
            if self._reason is None:
                self._reason = reason
        self._closed.set()

    def check(self) -> None:
        """Raise :class:`RequestNotStarted` when closed."""
        if self._closed.is_set():
            raise RequestNotStarted(self.reason)

    def begin(self, index: int) -> None:
        """The calling thread now works on record ``index`` (its position in the task's input)."""
        self._local.index = index

    def attempted(self, index: int) -> bool:
        """Whether a write of record ``index`` may have reached Feishu."""
        with self._lock:
            return self._attempts.get(index, 0) > 0

    # The client's SendGuard (client/sync.py has the parameters): each raises RequestNotStarted once closed.

    def sleep(self, seconds: float) -> None:
        """Wait before the next attempt; wake up and raise when the gate closes."""
        if self._closed.wait(max(seconds, 0.0)):
            raise RequestNotStarted(self.reason)

    def pace(self, seconds: float) -> None:
        """Wait for a rate-limiter slot (counted for the progress line), like :meth:`sleep`."""
        with self._lock:
            self.pacing_wait += max(seconds, 0.0)
        self.sleep(seconds)

    def sending(self, endpoint: str) -> None:
        """A request goes out now: raise when closed, else count it when it writes a record (revoke, edit)."""
        self.check()
        index: int = getattr(self._local, "index", -1)
        if endpoint in WRITE_ENDPOINTS and index >= 0:
            with self._lock:
                self._attempts[index] = self._attempts.get(index, 0) + 1

    def rate_limited(self) -> None:
        """Count an attempt that Feishu's rate limit refused (the retry table's rule), for the progress line."""
        with self._lock:
            self.rate_limit_refusals += 1
