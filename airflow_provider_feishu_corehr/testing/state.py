"""The emulator's records (thread-safe): add, look up, change status, update, list."""

from __future__ import annotations

import copy
import threading
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.testing.api_pages import STATUSES as OFFBOARDING_STATUSES
from airflow_provider_feishu_corehr.testing.errors import EmulatorError, SeedError, UnknownOffboardingError
from airflow_provider_feishu_corehr.testing.records import Record, parse_record, search_item

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider_feishu_corehr.testing.schema import FieldSpec


class Store:
    """Records in insertion order plus the extra known people (operators, person-field targets).

    Handlers hold :attr:`lock` while they read and change a record, so each request is atomic.
    """

    def __init__(self, schema: dict[str, FieldSpec], records: list[Record], employments: set[str]) -> None:
        self.schema = schema
        self.lock = threading.RLock()
        self._records: dict[str, Record] = {}
        self._extra_people = set(employments)
        for record in records:
            self._insert(record)

    def _insert(self, record: Record) -> None:
        if record.offboarding_id in self._records:
            raise SeedError(f"offboarding_id {record.offboarding_id!r} is used twice")
        self._records[record.offboarding_id] = record

    def add(self, raw: Mapping[str, Any]) -> str:
        """Add a record from its flat form; returns its offboarding id."""
        record = parse_record(dict(raw), self.schema, "new offboarding")
        with self.lock:
            self._insert(record)
        return record.offboarding_id

    def get(self, offboarding_id: str) -> Record | None:
        """The live record (callers hold :attr:`lock` while using it)."""
        return self._records.get(offboarding_id)

    def require(self, offboarding_id: str) -> Record:
        record = self._records.get(offboarding_id)
        if record is None:
            raise UnknownOffboardingError(f"no offboarding with id {offboarding_id!r} in the emulator")
        return record

    def set_status(self, offboarding_id: str, status: str) -> None:
        """Set the status (an approval finished, the offboarding date passed, ...); ends any pending approval."""
        if status not in OFFBOARDING_STATUSES:
            raise EmulatorError(f"status {status!r} is not one of {', '.join(OFFBOARDING_STATUSES)}")
        with self.lock:
            record = self.require(offboarding_id)
            record.status = status
            record.pending_approval = None

    def update(self, offboarding_id: str, changes: Mapping[str, Any]) -> None:
        """Change keys of a record (flags, facts, field values); the result is validated like seed data."""
        if "offboarding_id" in changes and changes["offboarding_id"] != offboarding_id:
            raise EmulatorError("offboarding_id cannot be changed")
        with self.lock:
            current = self.require(offboarding_id)
            merged = {**current.to_seed(), **changes}
            self._records[offboarding_id] = parse_record(merged, self.schema, f"update of {offboarding_id}")

    def seed_form(self, offboarding_id: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.require(offboarding_id).to_seed())

    def item(self, offboarding_id: str, user_id_type: str = "people_corehr_id") -> dict[str, Any]:
        with self.lock:
            return search_item(self.require(offboarding_id), self.schema, user_id_type)

    def items(self, user_id_type: str = "people_corehr_id") -> list[dict[str, Any]]:
        with self.lock:
            return [search_item(r, self.schema, user_id_type) for r in self._records.values()]

    def records(self) -> list[Record]:
        """Snapshot of the live records (callers must not change them without the lock)."""
        with self.lock:
            return list(self._records.values())

    def people(self) -> set[str]:
        """Every employment id the emulator knows: record employees, HRBPs, initiators and the seed's list."""
        with self.lock:
            known = set(self._extra_people)
            for record in self._records.values():
                known |= record.people()
            return known
