"""The one place the client reaches past public API: cutting a sync attempt whose status line or headers drip.

Why: ``http.client`` reads the status line and headers inside ``requests.Session.send``, one socket read at a
time; the read timeout bounds each read, not their sum, and no documented ``requests``/``urllib3`` API bounds that
phase (``docs/transport.md``, "Limits on every call"). So one watchdog thread shuts the attempt's socket down when
its time is up. Not documented as extension points, and used only here: ``HTTPConnection.sock`` read in an
override of the public ``getresponse``, and the pool's ``ConnectionCls`` replaced from the documented
``HTTPAdapter.get_connection_with_tls_context`` (:mod:`.sync_http`). ``tests/client/test_cutoff.py`` and the drip
test of ``tests/client/test_hostile_server.py`` fail if an upgrade of ``urllib3`` moves either."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from typing import Any

_CURRENT = threading.local()


class Watch:
    """The socket one attempt reads from, so that the watchdog can cut it at the attempt's deadline."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._finished = False
        self.cut = False

    def bind(self, sock: socket.socket | None) -> None:
        """Remember the socket the answer is read from (called when the attempt starts reading its answer).

        :param sock: the connection's socket.
        """
        with self._lock:
            self._sock = sock

    def fire(self) -> None:
        """The time is up: shut the socket down (a blocked read returns at once), unless the attempt is over."""
        with self._lock:
            if self._finished or self._sock is None:
                return  # over, or still connecting / sending: the socket timeouts end those
            sock, self.cut = self._sock, True
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        """The attempt is over: a late watchdog must not touch the (pooled) connection any more."""
        with self._lock:
            self._finished = True
            self._sock = None


class Watchdog:
    """One daemon thread that fires each :class:`Watch` at its deadline (a heap; finished watches are skipped).

    Registering costs a lock and a heap push, so a bounded attempt costs about what an unbounded one did.
    """

    def __init__(self) -> None:
        self._reset()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, seconds: float) -> Watch:
        """A new :class:`Watch` that fires ``seconds`` from now unless finished first.

        :param seconds: the attempt's wall-clock limit.
        """
        watch = Watch()
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + seconds, next(self._order), watch))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="feishu-attempt-watchdog", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is watch:
                self._cond.notify()
        return watch

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._cond.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                due = []
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap)[2])
            for watch in due:
                watch.fire()


WATCHDOG = Watchdog()


@contextlib.contextmanager
def watched(seconds: float) -> Any:
    """Inside the block, this thread's attempt is cut ``seconds`` from now; yields its :class:`Watch`.

    :param seconds: the attempt's wall-clock limit.
    """
    watch = WATCHDOG.watch(seconds)
    _CURRENT.watch = watch
    try:
        yield watch
    finally:
        watch.finish()
        _CURRENT.watch = None


_classes: dict[type[Any], type[Any]] = {}


def _watched_class(base: type[Any]) -> type[Any]:
    """A subclass of the urllib3 connection class ``base`` that hands its socket to the current :class:`Watch`."""
    if base not in _classes:

        class Watched(base):  # type: ignore[misc]
            def getresponse(self, *args: Any, **kwargs: Any) -> Any:
                watch = getattr(_CURRENT, "watch", None)
                if watch is not None:
                    watch.bind(self.sock)
                return super().getresponse(*args, **kwargs)

        Watched.__name__ = Watched.__qualname__ = f"Watched{base.__name__}"
        _classes[base] = _classes[Watched] = Watched
    return _classes[base]


def watch_pool(pool: Any) -> Any:
    """Make the connections ``pool`` opens from now on report their socket to the current :class:`Watch`.

    :param pool: a ``urllib3`` connection pool, as ``HTTPAdapter.get_connection_with_tls_context`` returns it.
    :return: the same pool.
    """
    pool.ConnectionCls = _watched_class(pool.ConnectionCls)
    return pool
