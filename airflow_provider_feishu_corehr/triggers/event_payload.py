"""What an offboarding event carries: the small JSON payload of one record, and reading records back in a task.

The triggerer stores each event as an asset event whose ``extra`` is ``{"from_trigger": true, "payload": ...}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from airflow_provider_feishu_corehr.client.models import OffboardingRecord
    from airflow_provider_feishu_corehr.triggers.event_poll import Snapshot


def _small(value: Any) -> Any:
    """A JSON-safe, small form of a search value: enums become their ``enum_name``; objects are dropped."""
    if isinstance(value, str | bool | int | float) or value is None:
        return value
    if isinstance(value, dict):
        return value.get("enum_name") if isinstance(value.get("enum_name"), str) else None
    if isinstance(value, list):
        return [v for v in map(_small, value) if v is not None and not isinstance(v, list)]
    return None


def field_value(raw: Mapping[str, Any], name: str) -> Any:
    """Value of an offboarding-info key or of a custom field (by api name) in a search item, or ``None``.

    :param raw: the search item.
    :param name: the key or custom field api name.
    """
    info = raw.get("offboarding_info")
    if not isinstance(info, dict):
        return None
    if name in info and name != "custom_fields":
        return _small(info[name])
    for custom in info.get("custom_fields") or ():
        if isinstance(custom, dict) and custom.get("custom_api_name") == name:
            return _small(custom.get("value"))
    return None


def event_payload(record: OffboardingRecord, snapshot: Snapshot, extra_fields: Collection[str]) -> dict[str, Any]:
    """The JSON payload of the event of one record.

    :param record: the record that reached a watched status.
    :param snapshot: the poll it was seen in.
    :param extra_fields: extra values to copy from the record.
    """
    return {
        **record.summary(),
        "apply_initiating_time": record.apply_initiating_time,
        "user_id_type": snapshot.user_id_type,
        "observed_at": snapshot.taken_at,
        "fields": {name: field_value(record.raw, name) for name in extra_fields},
    }


def records_from_asset_events(triggering_asset_events: Mapping[Any, Any]) -> list[dict[str, Any]]:
    """The offboarding records of a run's triggering asset events (``context["triggering_asset_events"]``).

    Keeps events this watcher created (``extra["from_trigger"]`` with a payload holding an ``offboarding_id``),
    in event order; one run can carry several (the scheduler folds the events queued since the last run into
    one run). A transition seen twice (two triggerers overlapping in a hand-over) is returned once.

    :param triggering_asset_events: asset -> its events, as Airflow hands them to the task.
    """
    records: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for events in triggering_asset_events.values():
        for event in events:
            extra = getattr(event, "extra", None) or {}
            payload = extra.get("payload") if extra.get("from_trigger") else None
            if not isinstance(payload, dict) or not isinstance(payload.get("offboarding_id"), str):
                continue
            identity = (payload["offboarding_id"], str(payload.get("status")))
            if identity not in seen:
                seen.add(identity)
                records.append(payload)
    return records
