"""Event-driven, pushed: run a deprovisioning step seconds after Feishu says an offboarding became effective.

Airflow 3 only. An asset, ``feishu_offboarded_pushed``, has a watcher (:class:`OffboardingPushTrigger`) that holds the
Feishu app's **long connection** in the triggerer: Feishu pushes the offboarding status events over it, and the
watcher creates one asset event per batch of events received together (``batch_seconds``, 2 s), carrying every
offboarding that newly reached ``Offboarded`` (``extra["payload"]["records"]``; docs/events.md, "Push or poll").
Every ``RECONCILE_SECONDS`` (and once after each reconnection) one search of the last 7 days catches what no push
brought, each change once. This DAG is scheduled on the asset: each run handles every record of every one of its
triggering asset events and performs the stand-in deprovisioning step (replace it with revoking badges, archiving
the mailbox, closing accounts).

The Feishu app needs the event subscription in long-connection mode and the offboarding status event
(``corehr.offboarding.status_updated_v2``) subscribed; a custom app only (docs/events.md, "What the Feishu app
needs"). Without them, use the polling watcher (``example_feishu_on_offboarded``).

A pushed record carries the ids and the status, not the dates (``offboarding_date`` is ``None``; the records a
reconciliation found carry them). ``records_from_asset_events`` returns every record of every event of the run,
each transition once.

On Airflow 2.11 this file defines no DAG (there is no event-driven scheduling): use the deferrable
``OffboardingStatusSensor`` there, one run per employee (``example_feishu_wait_until_offboarded``).

``FEISHU_PUSH_RECONCILE_SECONDS`` (environment of the DAG processor) sets the reconciliation interval; default
1800 s.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import pendulum

from airflow_provider_feishu_corehr.triggers.offboarding_events import records_from_asset_events
from airflow_provider_feishu_corehr.triggers.offboarding_push import OffboardingPushTrigger

try:
    from airflow.sdk import AssetWatcher
except ImportError:  # Airflow 2: no AssetWatcher, no event-driven scheduling; this file defines no DAG
    HAS_EVENT_SCHEDULING = False
else:
    HAS_EVENT_SCHEDULING = True

RECONCILE_SECONDS = float(os.environ.get("FEISHU_PUSH_RECONCILE_SECONDS", "1800"))
ASSET_NAME = "feishu_offboarded_pushed"
log = logging.getLogger(__name__)


def deprovision(record: dict[str, Any]) -> dict[str, Any]:
    """Stand-in deprovisioning step for one offboarded employee: says what would be closed, for whom.

    :param record: one record of an asset event (``records_from_asset_events``).
    """
    log.info(
        "Deprovisioning employment %s (offboarding %s, %s)",
        record["employment_id"],
        record["offboarding_id"],
        record.get("source"),
    )
    return {
        "offboarding_id": record["offboarding_id"],
        "employment_id": record["employment_id"],
        "source": record.get("source"),
        "done": ["building access revoked", "mailbox archived", "accounts closed"],
    }


if HAS_EVENT_SCHEDULING:
    from airflow.sdk import Asset, dag, task

    feishu_offboarded_pushed = Asset(
        name=ASSET_NAME,
        watchers=[
            AssetWatcher(
                name="feishu_offboarded_push_watcher",
                trigger=OffboardingPushTrigger(
                    feishu_conn_id="feishu_default",
                    statuses=["Offboarded"],
                    window_fields=["offboarding_date"],
                    window_days_back=7,
                    reconcile_interval=RECONCILE_SECONDS,
                ),
            )
        ],
    )

    @dag(
        dag_id="example_feishu_offboarding_push",
        schedule=[feishu_offboarded_pushed],
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        tags=["example", "feishu", "event-driven"],
        doc_md=__doc__,
    )
    def example_feishu_offboarding_push() -> None:
        @task
        def deprovision_offboarded(**context: Any) -> list[dict[str, Any]]:
            """Deprovision every employee of every triggering asset event of this run (all events, all records)."""
            events = context["triggering_asset_events"]
            records = records_from_asset_events(events)
            log.info("%d record(s) in %d asset event(s)", len(records), sum(len(e) for e in events.values()))
            return [deprovision(record) for record in records]

        deprovision_offboarded()

    offboarding_push_dag = example_feishu_offboarding_push()
