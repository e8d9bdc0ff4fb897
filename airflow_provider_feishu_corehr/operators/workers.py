"""Running the records of one task: bounded concurrency, every record's result, and a clean stop.

:func:`run_records` sends each record in a worker thread (also a single record: the main thread only waits, so
it can always react to an interruption) and returns one :class:`Result` per record, in input order. Whatever
happens, every record gets a result: a ``BaseException`` in a worker (``SystemExit``) is that record's result
and stops the batch; one raised in the main thread while it waits (``KeyboardInterrupt``,
``AirflowTaskTimeout``) closes the gate and is handed back to be re-raised after the report was pushed.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from airflow_provider_feishu_corehr.operators import gate as _gate
from airflow_provider_feishu_corehr.operators.gate import RequestNotStarted
from airflow_provider_feishu_corehr.operators.outcomes import InFlight

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from airflow_provider_feishu_corehr.operators.gate import Gate

T = TypeVar("T")
POLL = 0.2
"""Seconds between two looks of the waiting main thread at the gate and the progress clock."""


@dataclass
class Run(Generic[T]):
    """What :func:`run_records` gives back.

    :param results: per item, the work's return value or the exception that is the item's outcome.
    :param raised: an exception raised in the main thread while waiting, to re-raise after reporting.
    """

    results: list[dict[str, Any] | BaseException]
    raised: BaseException | None


def run_records(
    items: Sequence[T],
    work: Callable[[T], dict[str, Any]],
    *,
    index_of: Callable[[T], int],
    max_workers: int,
    gate: Gate,
    on_result: Callable[[dict[str, Any] | BaseException], None] | None = None,
    on_poll: Callable[[], None] | None = None,
    grace: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Run[T]:
    """Run ``work`` on every item, at most ``max_workers`` at a time, until done or the gate closes.

    After the gate closed, items not started are ``not_sent`` (:class:`RequestNotStarted`), items still running
    ``grace`` seconds later are :class:`InFlight` when a write of theirs may have reached Feishu, else
    ``not_sent``. Their threads are left behind; they cannot start another request.

    :param items: the records.
    :param work: sends one record; its exception is that record's result.
    :param index_of: the record's index (what the gate counts attempts by).
    :param max_workers: concurrent records (>= 1).
    :param gate: the batch's gate.
    :param on_result: called in the main thread with each result as it arrives (progress).
    :param on_poll: called in the main thread about every :data:`POLL` seconds (progress).
    :param grace: seconds requests in flight get after the gate closed; default
        :data:`~.gate.IN_FLIGHT_GRACE`.
    :param clock: monotonic clock.
    """
    if not items:
        return Run([], None)

    def task(item: T) -> dict[str, Any] | BaseException:
        gate.begin(index_of(item))
        try:
            return work(item)
        except BaseException as exc:  # every record gets a result, whatever it raised
            if not isinstance(exc, Exception):
                gate.close(f"{type(exc).__name__} in a worker thread")
            return exc

    futures: list[Future[dict[str, Any] | BaseException]] = [Future() for _ in items]
    _start_workers(list(zip(futures, items, strict=True)), task, min(max_workers, len(items)))
    raised: BaseException | None = None
    pending = set(futures)
    deadline: float | None = None
    while pending:
        try:
            if gate.closed and deadline is None:
                deadline = clock() + (_gate.IN_FLIGHT_GRACE if grace is None else grace)
                for future in pending:
                    future.cancel()
            timeout = POLL if deadline is None else min(POLL, max(deadline - clock(), 0.0))
            done, pending = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
            for future in done:
                if on_result is not None and not future.cancelled():
                    on_result(future.result())
            if on_poll is not None:
                on_poll()
            if deadline is not None and clock() >= deadline:
                break
        except BaseException as exc:  # KeyboardInterrupt, AirflowTaskTimeout, ... in the main thread
            if raised is None:
                raised = exc
            gate.close(f"{type(exc).__name__} in the task")
    return Run([_result(f, index_of(item), gate) for f, item in zip(futures, items, strict=True)], raised)


def _start_workers(
    work: list[tuple[Future[dict[str, Any] | BaseException], T]],
    task: Callable[[T], dict[str, Any] | BaseException],
    count: int,
) -> None:
    """Daemon threads that take the items in order: a thread left blocked in a request after the grace does not
    keep the task process alive (a ``ThreadPoolExecutor`` would be joined at interpreter exit).

    :param work: the futures to complete, with their items, in order.
    :param task: turns an item into its result (never raises).
    :param count: how many threads.
    """
    todo: queue.SimpleQueue[tuple[Future[dict[str, Any] | BaseException], T]] = queue.SimpleQueue()
    for entry in work:
        todo.put(entry)

    def worker() -> None:
        while True:
            try:
                future, item = todo.get_nowait()
            except queue.Empty:
                return
            if future.set_running_or_notify_cancel():
                future.set_result(task(item))

    for n in range(count):
        threading.Thread(target=worker, name=f"feishu-record-{n}", daemon=True).start()


def _result(future: Future[dict[str, Any] | BaseException], index: int, gate: Gate) -> dict[str, Any] | BaseException:
    if future.cancelled():
        return RequestNotStarted(gate.reason)
    if not future.done():
        if gate.attempted(index):
            return InFlight(f"the task was interrupted ({gate.reason}) while the request was in flight")
        return RequestNotStarted(gate.reason)
    return future.result()
