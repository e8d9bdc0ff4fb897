"""The plan of an operator's task: the records to send (:class:`Job`), refused ones and duplicates included."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.validation import MAX_ID_LENGTH
from airflow_provider_feishu_corehr.operators._batch import as_record_list, duplicate_error, duplicates

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.client.models import FieldValue


@dataclass(frozen=True)
class Job:
    """One record to send, or a record refused before sending (``refused`` set)."""

    index: int
    offboarding_id: str | None
    operator_id: str | None = None
    update: list[FieldValue] = field(default_factory=list)
    field_names: list[str] = field(default_factory=list)
    refused: FeishuInvalidInputError | None = None
    employment_id: str | None = None


@dataclass(frozen=True)
class Plan:
    single: bool
    jobs: list[Job]
    user_id_type: str | None

    def refused_text(self) -> str:
        errors = [str(job.refused) for job in self.jobs if job.refused is not None]
        listed = "\n".join(f"  - {e}" for e in errors[:10])
        more = f"\n  - ... and {len(errors) - 10} more" if len(errors) > 10 else ""
        return f"{len(errors)} record(s) refused:\n{listed}{more}"


def is_one_id(value: Any) -> bool:
    """Whether ``offboarding_id`` names one record: a plain string (JSON array text is a batch)."""
    return isinstance(value, str) and not value.lstrip().startswith("[")


def shown_id(raw: Any) -> str | None:
    """The id of a refused record as XCom shows it: the text given, unless it is not text or absurdly long."""
    return raw if isinstance(raw, str) and len(raw) <= MAX_ID_LENGTH else None


def id_list(value: Any) -> tuple[bool, list[Any]]:
    """``(single, ids)``: a plain string is one id; a sequence (or JSON array text) is a batch."""
    if is_one_id(value):
        return True, [value]
    if value is None:
        raise FeishuInvalidInputError("offboarding_id is required")
    if not isinstance(value, str) and (isinstance(value, (Mapping, bytes)) or not isinstance(value, Sequence)):
        raise FeishuInvalidInputError(
            f"offboarding_id must be an id (str) or a list of ids, got {type(value).__name__}"
        )
    return False, as_record_list("offboarding_id", value)


def mark_duplicates(jobs: list[Job]) -> list[Job]:
    """Refuse every occurrence of an id listed more than once (order of two writes to one record is undefined)."""
    repeated = duplicates([job.offboarding_id if job.refused is None else None for job in jobs])
    if not repeated:
        return jobs
    refused = {i: duplicate_error(oid, positions, i) for oid, positions in repeated.items() for i in positions}
    return [
        Job(job.index, job.offboarding_id, field_names=job.field_names, refused=refused[job.index])
        if job.index in refused
        else job
        for job in jobs
    ]
