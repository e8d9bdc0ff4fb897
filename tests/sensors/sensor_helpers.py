"""Helpers of the sensor tests: run a sensor in a mode, a deferrable one the way Airflow does (the helpers shared with
the trigger tests are in ``tests/status_fixtures.py``)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from airflow_lanes import import_string, serde_round_trip, trigger_timeout_resume_kwargs

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.sensors.offboarding import OffboardingStatusSensor

__all__ = ["run_deferrable", "run_in_mode", "sensor_in_mode"]


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


def sensor_in_mode(mode: str, **kwargs: Any) -> OffboardingStatusSensor:
    """A sensor for ``mode`` (``poke`` or ``deferrable``): Approved as target, 0.1 s interval, 20 s timeout."""
    from airflow_provider_feishu_corehr.sensors.offboarding import OffboardingStatusSensor

    args: dict[str, Any] = {
        "task_id": "wait_for_offboarding",
        "target_statuses": ["Approved"],
        "poke_interval": 0.1,
        "timeout": 20,
        "deferrable": mode == "deferrable",
        "max_consecutive_failures": 3,
    }
    args.update(kwargs)
    return OffboardingStatusSensor(**args)


def run_in_mode(mode: str, sensor: OffboardingStatusSensor) -> Any:
    """Run the sensor: Airflow's poke loop, or execute, defer, trigger and resume (:func:`run_deferrable`)."""
    return run_deferrable(sensor) if mode == "deferrable" else sensor.execute({})  # type: ignore[arg-type]
