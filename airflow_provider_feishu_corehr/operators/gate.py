"""The gate every request of an operator's task passes: stopping a batch cleanly.

When a task is interrupted (``on_kill``, SIGINT (:mod:`.sigint`), an execution timeout, a ``BaseException`` in a
worker thread) the :class:`Gate` closes: no record starts, no request starts (not even a retry of a record in
flight), and a thread waiting for its rate-limiter slot or a retry backoff gives up at once. Requests already on
the wire get :data:`IN_FLIGHT_GRACE` seconds; then the task reports every record and ends.

How Airflow delivers the interruption (read from the 3.3 task SDK, ``execution_time/task_runner.py`` and
``supervisor.py``, and the 2.11 ``TaskInstance``):

* SIGTERM: Airflow's own handler calls ``task.on_kill()`` (Airflow 3: and returns, so ``execute`` goes on;
  Airflow 2: then raises ``AirflowTaskTerminated`` in the main thread). ``on_kill`` closes the gate. The
  supervisor sends SIGTERM when the server says the task must stop (marked failed or cleared in the UI), after
  too many failed heartbeats and on overtime, and SIGKILL 5 s later: the grace (3 s) plus the XCom push fit.
* SIGINT: forwarded by a supervisor that itself gets it (a worker's Ctrl-C). Airflow leaves it at ``SIG_DFL`` in
  the task process (the process would die at once, mid-write, with no report) and calls nothing: the one stop
  Airflow does not signal, handled in :mod:`.sigint`. Under ``airflow tasks test`` / ``dag.test()`` it raises
  ``KeyboardInterrupt``, handled like an execution timeout.
* Execution timeout: ``AirflowTaskTimeout`` is raised in the main thread while it waits for the workers; the
  runner closes the gate, reports, and re-raises it.

The XCom push after the stop goes through the supervisor, which keeps serving the task's requests while it waits
for the process to exit, so the report reaches XCom in these paths. Only a SIGKILL (no grace) loses it.
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
