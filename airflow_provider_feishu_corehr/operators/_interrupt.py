"""Stopping a batch cleanly: the gate every request of an operator passes, and the signals that close it.

When a task is interrupted (``on_kill``, SIGTERM, SIGINT, an execution timeout, a ``BaseException`` in a worker
thread) the :class:`Gate` closes: no record starts, no request starts (not even a retry of a record in flight),
and a thread waiting for its rate-limiter slot or a retry backoff gives up at once. Requests already on the wire
get :data:`IN_FLIGHT_GRACE` seconds; then the task reports every record and ends.

How Airflow delivers the interruption (read from the 3.3 task SDK, ``execution_time/task_runner.py`` and
``supervisor.py``):

* SIGTERM: the task runner's handler calls ``task.on_kill()`` and returns, so ``execute`` goes on (without a
  gate, a batch kept sending). The supervisor sends it with ``kill(SIGTERM, force=True)`` when the server says
  the task must stop (marked failed or cleared in the UI), after too many failed heartbeats and on overtime, and
  SIGKILL 5 s later: the grace (3 s) plus the XCom push fit. A supervisor that itself gets SIGTERM or SIGINT
  (worker shutdown, Ctrl-C) forwards it to the task process.
* SIGINT: ``kill()``'s default first signal (then SIGTERM, then SIGKILL, 5 s apart). In the task process SIGINT
  has the default disposition (``SIG_DFL``: the process would die at once); under ``airflow tasks test`` /
  ``dag.test()`` it raises ``KeyboardInterrupt``.
* Execution timeout: ``AirflowTaskTimeout`` is raised in the main thread while it waits for the workers; the
  engine closes the gate, reports, and re-raises it (the runner then calls ``on_kill``).

While ``execute`` runs in the main thread, :func:`handle_signals` replaces the SIGINT and SIGTERM handlers with
one that closes the gate and calls ``on_kill`` (what the runner's SIGTERM handler does), so every path ends in
the same clean stop; the previous handlers are restored afterwards.

The XCom push after the stop goes through the supervisor, which keeps serving the task's requests while it waits
for the process to exit, so the report reaches XCom in these paths (the Execution API's XCom route does not check
the task's state). Only a SIGKILL (no grace) loses it.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import FrameType

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


@contextmanager
def handle_signals(on_signal: Callable[[str], None]) -> Iterator[None]:
    """While the block runs in the main thread, SIGINT and SIGTERM call ``on_signal(name)`` instead of killing
    the process or raising, so the batch can stop cleanly. Signals the process ignores stay ignored; the
    previous handlers are restored afterwards. In another thread (signals cannot be handled there) it does
    nothing: ``on_kill`` remains the way in.

    :param on_signal: called with the signal's name (``"SIGTERM"``) in the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: FrameType | None) -> None:
        on_signal(signal.Signals(signum).name)

    for sig in (int(signal.SIGINT), int(signal.SIGTERM)):
        current = signal.getsignal(sig)
        if current == signal.SIG_IGN:
            continue
        previous[sig] = current
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)
