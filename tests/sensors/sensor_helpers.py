"""Helpers of the sensor tests: change the emulator's state after N searches; run a deferrable sensor."""

from __future__ import annotations

import asyncio
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from airflow_lanes import import_string, serde_round_trip, trigger_timeout_resume_kwargs

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from airflow_provider_feishu_corehr.sensors.offboarding import OffboardingStatusSensor
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

#: An employment id that has no offboarding in the emulator's default seed.
NEW_EMPLOYMENT = "7300000000000000001"


@contextmanager
def after_searches(emu: FeishuEmulator, count: int, action: Callable[[], Any]) -> Iterator[threading.Event]:
    """Run ``action`` in a background thread once the emulator has received ``count`` search requests.

    Count-based, not time-based: the sensor's looks drive the change. The yielded event is set when the action
    ran; an exception of the action is raised at the end of the ``with`` block.
    """
    done = threading.Event()
    stop = threading.Event()
    errors: list[BaseException] = []

    def watch() -> None:
        while not stop.is_set():
            if emu.request_count("search") >= count:
                try:
                    action()
                except BaseException as exc:  # reported to the test below
                    errors.append(exc)
                done.set()
                return
            stop.wait(0.005)

    thread = threading.Thread(target=watch, name="after-searches", daemon=True)
    thread.start()
    try:
        yield done
    finally:
        stop.set()
        thread.join(5)
    if errors:
        raise errors[0]


def run_deferrable(sensor: OffboardingStatusSensor, *, enforce_timeout: bool = True) -> Any:
    """Run a deferrable sensor the way Airflow does: execute, defer, trigger in a fresh event loop, resume.

    The trigger is rebuilt from its serde-encoded ``serialize()`` output (as the triggerer does). The deferral
    ``timeout`` is enforced around the trigger; when it passes, the task is resumed with the scheduler's
    ``__fail__`` / trigger-timeout signal, as Airflow's scheduler does (``dag.test()`` runs triggers inline
    without any timeout, so that path cannot be shown there).
    """
    from airflow.providers.common.compat.sdk import TaskDeferred

    context: Any = {}
    try:
        return sensor.execute(context)
    except TaskDeferred as deferred:
        classpath, kwargs = deferred.trigger.serialize()
        trigger = import_string(classpath)(**serde_round_trip(kwargs))
        timeout = deferred.timeout.total_seconds() if deferred.timeout and enforce_timeout else None

        async def first_event() -> Any:
            return await asyncio.wait_for(anext(trigger.run(), None), timeout)

        try:
            event = asyncio.run(first_event())
        except TimeoutError:
            return sensor.resume_execution("__fail__", trigger_timeout_resume_kwargs(), context)
        return sensor.resume_execution(deferred.method_name, {"event": event.payload}, context)


def trigger_events(trigger: Any) -> list[Any]:
    """Run a trigger to its end in a fresh event loop and return every event it yielded."""

    async def collect() -> list[Any]:
        return [event async for event in trigger.run()]

    return asyncio.run(collect())
