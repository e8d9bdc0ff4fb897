"""The gate every request of an operator's task passes: stopping a batch cleanly.

When the task is interrupted (``on_kill``, which Airflow calls on SIGTERM; SIGINT through :mod:`.sigint`; an
execution timeout; a ``BaseException`` in a worker thread) the :class:`Gate` closes: no record and no request
starts, not even a retry, and a thread waiting for a rate-limiter slot or a backoff gives up at once. Requests on
the wire get :data:`IN_FLIGHT_GRACE` seconds; then the task reports every record. How Airflow delivers each
interruption, and why the grace fits before its SIGKILL: ``docs/operators.md``, "Interruption".
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

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
        self.rate_limited = 0

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
        """The calling thread now works on record ``index``.

        :param index: the record's position in the task's input.
        """
        self._local.index = index
        self._local.in_send = False

    def attempted(self, index: int) -> bool:
        """Whether a write of record ``index`` may have reached Feishu.

        :param index: the record's position in the task's input.
        """
        with self._lock:
            return self._attempts.get(index, 0) > 0

    def sleep(self, seconds: float) -> None:
        """The client's sleep (rate-limiter slots and retry backoff): wakes up and raises when the gate closes.

        :param seconds: how long to wait.
        """
        if getattr(self._local, "in_send", False) and seconds > 0:
            with self._lock:
                self.pacing_wait += seconds
        if self._closed.wait(max(seconds, 0.0)):
            raise RequestNotStarted(self.reason)

    def sending(self, endpoint: str) -> Callable[[bool], None]:
        """Call before a request: raises when closed, counts a write; returns ``done(reached)`` to call after.

        :param endpoint: the request's endpoint name (``revoke`` and ``edit`` are writes).
        """
        self.check()
        index: int = getattr(self._local, "index", -1)
        write = endpoint in WRITE_ENDPOINTS and index >= 0
        if write:
            with self._lock:
                self._attempts[index] = self._attempts.get(index, 0) + 1
        self._local.in_send = True

        def done(reached: bool) -> None:
            self._local.in_send = False
            if write and not reached:
                with self._lock:
                    self._attempts[index] -= 1

        return done

    def saw_rate_limit(self) -> None:
        """Count one rate-limited answer (HTTP 429) for the progress line."""
        with self._lock:
            self.rate_limited += 1
