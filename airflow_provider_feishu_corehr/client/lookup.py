"""The current offboarding of many employments: one search per up to 100 employment ids (pure functions; the clients
run the searches in ``lookup_offboardings``, the sensor's poller and the operators share the batches)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_feishu_corehr.client.api import pick_offboarding
from airflow_provider_feishu_corehr.client.validation import check_ids

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from airflow_provider_feishu_corehr.client.models import OffboardingRecord

MAX_IDS_PER_SEARCH = 100
"""Employment ids sent in one search request (the search's ``employment_ids`` filter)."""


def employment_batches(employment_ids: Sequence[str], size: int = MAX_IDS_PER_SEARCH) -> list[list[str]]:
    """Distinct ids, first occurrence order, in chunks of at most ``size``.

    :param employment_ids: the ids to look up (duplicates are looked up once).
    :param size: ids per search, 1-100.
    """
    if not 1 <= size <= MAX_IDS_PER_SEARCH:
        raise ValueError(f"size must be from 1 to {MAX_IDS_PER_SEARCH}, got {size}")
    distinct = list(dict.fromkeys(employment_ids))
    return [distinct[i : i + size] for i in range(0, len(distinct), size)]


def batches(employment_ids: Sequence[str]) -> list[list[str]]:
    """The ids of ``lookup_offboardings``, checked (one string counts as one id), in :func:`employment_batches`.

    :param employment_ids: the ids to look up.
    """
    return employment_batches(check_ids("employment_ids", employment_ids))


def latest_by_employment(records: Iterable[OffboardingRecord]) -> dict[str, OffboardingRecord]:
    """The most recent offboarding of each employment among ``records`` (the rule of ``get_offboarding``).

    :param records: search results, any order, several employments mixed.
    """
    grouped: dict[str, list[OffboardingRecord]] = {}
    for record in records:
        if record.employment_id:
            grouped.setdefault(record.employment_id, []).append(record)
    latest: dict[str, OffboardingRecord] = {}
    for employment_id, group in grouped.items():
        picked = pick_offboarding(group, None)
        if picked is not None:
            latest[employment_id] = picked
    return latest
