"""Event-driven: run a deprovisioning step for every employee whose offboarding becomes effective in Feishu.

Airflow 3 only. An asset, ``feishu_offboarded``, has a watcher (:class:`OffboardingStatusEventTrigger`) that
searches Feishu every ``POLL_SECONDS`` for offboardings whose offboarding date is in the last 7 days (Beijing
time) and creates one asset event per poll carrying every offboarding that newly reached ``Offboarded`` in it
(``extra["payload"]["records"]``, up to 1,000; docs/events.md). This DAG is scheduled on the asset: each run
handles every record of every one of its triggering asset events and performs the stand-in deprovisioning step
(replace it with revoking badges, archiving the mailbox, closing accounts).

One run may carry several events (polls whose events were queued while the scheduler was busy), each with several
records: ``records_from_asset_events`` returns them all, each transition once.

On Airflow 2.11 this file defines no DAG (there is no event-driven scheduling): use the deferrable
``OffboardingStatusSensor`` there, one run per employee (``example_feishu_wait_until_offboarded``).

``FEISHU_OFFBOARDED_POLL_SECONDS`` (environment of the DAG processor) sets the poll interval; default 300 s.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import pendulum

from airflow_provider_feishu_corehr.triggers.offboarding_events import (
    OffboardingStatusEventTrigger,
    records_from_asset_events,
)

try:
    from airflow.sdk import AssetWatcher
except ImportError:  # Airflow 2: no AssetWatcher, no event-driven scheduling; this file defines no DAG
    HAS_EVENT_SCHEDULING = False
else:
    HAS_EVENT_SCHEDULING = True

POLL_SECONDS = float(os.environ.get("FEISHU_OFFBOARDED_POLL_SECONDS", "300"))
ASSET_NAME = "feishu_offboarded"
log = logging.getLogger(__name__)


def deprovision(record: dict[str, Any]) -> dict[str, Any]:
    """Stand-in deprovisioning step for one offboarded employee: says what would be closed, for whom."""
    log.info("Deprovisioning employment %s (offboarding %s)", record["employment_id"], record["offboarding_id"])
    return {
        "offboarding_id": record["offboarding_id"],
        "employment_id": record["employment_id"],
        "offboarding_date": record["offboarding_date"],
        "done": ["building access revoked", "mailbox archived", "accounts closed"],
    }


if HAS_EVENT_SCHEDULING:
    from airflow.sdk import Asset, dag, task

    feishu_offboarded = Asset(
        name=ASSET_NAME,
        watchers=[
            AssetWatcher(
                name="feishu_offboarded_watcher",
                trigger=OffboardingStatusEventTrigger(
                    feishu_conn_id="feishu_default",
                    statuses=["Offboarded"],
                    window_fields=["offboarding_date"],
                    window_days_back=7,
                    poll_interval=POLL_SECONDS,
                ),
            )
        ],
    )

    @dag(
        dag_id="example_feishu_on_offboarded",
        schedule=[feishu_offboarded],
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        tags=["example", "feishu", "event-driven"],
        doc_md=__doc__,
    )
    def example_feishu_on_offboarded() -> None:
        @task
        def deprovision_offboarded(**context: Any) -> list[dict[str, Any]]:
            """Deprovision every employee of every triggering asset event of this run (all events, all records)."""
            events = context["triggering_asset_events"]
            records = records_from_asset_events(events)
            log.info("%d record(s) in %d asset event(s)", len(records), sum(len(e) for e in events.values()))
            return [deprovision(record) for record in records]

        deprovision_offboarded()

    on_offboarded_dag = example_feishu_on_offboarded()
