"""The one stop Airflow does not signal: SIGINT in the task process.

A supervisor that gets SIGINT (a worker's Ctrl-C) forwards it to the task process, where Airflow has reset it to
``SIG_DFL`` and installs nothing: the process would die at once, possibly mid-write, with no record reported and
no ``on_kill``. SIGTERM is Airflow's (its handler calls ``on_kill``) and is left alone.

So while a batch runs in the main thread, :func:`stop_on_sigint` routes SIGINT to the batch's stop (``on_kill``)
and restores the previous handler afterwards. This is the package's only process-wide signal handler; it uses
the standard library's public ``signal`` API, and ``tests/test_upgrade_safety.py`` keeps it the only one.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import FrameType


@contextmanager
def stop_on_sigint(stop: Callable[[str], None]) -> Iterator[None]:
    """While the block runs in the main thread, SIGINT calls ``stop("SIGINT")`` instead of killing the process.

    An ignored SIGINT stays ignored; outside the main thread (signals cannot be handled there) nothing changes.

    :param stop: closes the batch's gate, given the reason.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stop("SIGINT")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
