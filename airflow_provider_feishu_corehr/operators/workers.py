"""Running the records of one task: bounded concurrency, every record's result, and a clean stop.

:func:`run_records` sends each record in a worker thread (also a single record: the main thread only waits, so
it can always react to an interruption) and returns one result per record, in input order. Whatever
happens, every record gets a result: a ``BaseException`` in a worker (``SystemExit``) is that record's result
and stops the batch; one raised in the main thread while it waits (``KeyboardInterrupt``,
``AirflowTaskTimeout``) closes the gate and is handed back to be re-raised after the report was pushed.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.operators import gate as _gate
from airflow_provider_feishu_corehr.operators.gate import RequestNotStarted
from airflow_provider_feishu_corehr.operators.outcomes import InFlight

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from airflow_provider_feishu_corehr.operators.gate import Gate
    from airflow_provider_feishu_corehr.operators.records import Record

Result = dict[str, Any] | BaseException
POLL = 0.2
"""Seconds between two looks of the waiting main thread at the gate and the progress clock."""


def run_records(
    records: Sequence[Record],
    work: Callable[[Record], dict[str, Any]],
    *,
    max_workers: int,
    gate: Gate,
    on_result: Callable[[Result], None] | None = None,
    on_poll: Callable[[], None] | None = None,
) -> tuple[list[Result], BaseException | None]:
    """Run ``work`` on every record, at most ``max_workers`` at a time, until done or the gate closes.

    After the gate closed, records not started are ``not_sent`` (:class:`RequestNotStarted`); records still running
    :data:`~.gate.IN_FLIGHT_GRACE` seconds later are :class:`InFlight` when a write of theirs may have reached
    Feishu, else ``not_sent``. Their threads are left behind; they cannot start another request.

    :param records: the records.
    :param work: sends one record; its exception is that record's result.
    :param max_workers: concurrent records (>= 1).
    :param gate: the batch's gate.
    :param on_result: called in the main thread with each result as it arrives (progress).
    :param on_poll: called in the main thread about every :data:`POLL` seconds (progress).
    :return: per record, the work's return value or the exception that is its outcome; and an exception raised in
        the main thread while it waited, to re-raise after reporting.
    """
    if not records:
        return [], None

    futures: list[Future[Result]] = [Future() for _ in records]
    todo: queue.SimpleQueue[tuple[Future[Result], Record]] = queue.SimpleQueue()
    for entry in zip(futures, records, strict=True):
        todo.put(entry)

    def worker() -> None:  # takes the records in order until none is left
        while True:
            try:
                future, record = todo.get_nowait()
            except queue.Empty:
                return
            if not future.set_running_or_notify_cancel():
                continue
            gate.begin(record.index)
            try:
                future.set_result(work(record))
            except BaseException as exc:  # every record gets a result, whatever it raised
                if not isinstance(exc, Exception):
                    gate.close(f"{type(exc).__name__} in a worker thread")
                future.set_result(exc)

    # Daemon threads: one left blocked in a request after the grace does not keep the task process alive (a
    # ThreadPoolExecutor would be joined at interpreter exit).
    for n in range(min(max_workers, len(records))):
        threading.Thread(target=worker, name=f"feishu-record-{n}", daemon=True).start()
    raised: BaseException | None = None
    pending = set(futures)
    deadline: float | None = None
    while pending:
        try:
            if gate.closed and deadline is None:
                deadline = time.monotonic() + _gate.IN_FLIGHT_GRACE
                for future in pending:
                    future.cancel()
            timeout = POLL if deadline is None else min(POLL, max(deadline - time.monotonic(), 0.0))
            done, pending = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
            for future in done:
                if on_result is not None and not future.cancelled():
                    on_result(future.result())
            if on_poll is not None:
                on_poll()
            if deadline is not None and time.monotonic() >= deadline:
                break
        except BaseException as exc:  # KeyboardInterrupt, AirflowTaskTimeout, ... in the main thread
            if raised is None:
                raised = exc
            gate.close(f"{type(exc).__name__} in the task")
    return [_result(f, r.index, gate) for f, r in zip(futures, records, strict=True)], raised


def _result(future: Future[Result], index: int, gate: Gate) -> Result:
    if future.cancelled():
        return RequestNotStarted(gate.reason)
    if not future.done():
        if gate.attempted(index):
            return InFlight(f"the task was interrupted ({gate.reason}) while the request was in flight")
        return RequestNotStarted(gate.reason)
    return future.result()
