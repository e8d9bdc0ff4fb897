"""The emulator's records (thread-safe): add, look up, change status, update, list, move with time, reset.

Every status change is noted in :attr:`Store.transitions` with its cause (``clock``, ``revoke``, ``control``)
and the tenant time, so a demo or a test can tell what the clock did from what a request did, and emits the
status event (:mod:`.events`).
"""

from __future__ import annotations

import contextlib
import copy
import threading
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.testing import lifecycle
from airflow_provider_feishu_corehr.testing.api_pages import STATUSES as OFFBOARDING_STATUSES
from airflow_provider_feishu_corehr.testing.clock import Clock
from airflow_provider_feishu_corehr.testing.errors import EmulatorError, SeedError, UnknownOffboardingError
from airflow_provider_feishu_corehr.testing.records import Record, parse_record, search_item

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from airflow_provider_feishu_corehr.testing.events import EventLog
    from airflow_provider_feishu_corehr.testing.schema import FieldSpec


class Store:
    """Records in insertion order plus the extra known people (operators, person-field targets).

    Handlers hold :attr:`lock` while they read and change a record, so each request is atomic; a write that
    takes processing time marks its record busy (:meth:`claim` / :meth:`release`) instead of holding the lock.

    :param approval_delay: calendar seconds after which ``Approving`` becomes ``Approved`` (None: never).
    :param events: where events are emitted (None: nowhere).
    """

    def __init__(
        self,
        schema: dict[str, FieldSpec],
        records: list[Record],
        employments: set[str],
        *,
        clock: Clock | None = None,
        approval_delay: float | None = None,
        events: EventLog | None = None,
    ) -> None:
        self.clock = clock or Clock()
        self.events = events
        self.approval_delay = approval_delay
        self.lock = threading.RLock()
        self.released = threading.Condition(self.lock)
        self.load(schema, records, employments)

    def load(self, schema: dict[str, FieldSpec], records: list[Record], employments: set[str]) -> None:
        """Replace everything (start and reset): records, people, busy marks, transitions."""
        with self.lock:
            self.schema = schema
            self._records: dict[str, Record] = {}
            self._extra_people = set(employments)
            self._approving_since: dict[str, float] = {}
            self._busy: set[str] = set()
            self.transitions: list[dict[str, Any]] = []
            self._version, self._ticked_version, self._next_due = 1, 0, 0.0
            for record in records:
                self._insert(record)
            self.released.notify_all()

    def _insert(self, record: Record) -> None:
        if record.offboarding_id in self._records:
            raise SeedError(f"offboarding_id {record.offboarding_id!r} is used twice")
        self._records[record.offboarding_id] = record
        self.touch()
        if record.status == "Approving":
            self._approving_since[record.offboarding_id] = self.clock.wall()

    def add(self, raw: Mapping[str, Any]) -> str:
        """Add a record from its flat form; returns its offboarding id."""
        record = parse_record(dict(raw), self.schema, "new offboarding", now=self.clock.text())
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

    # -- status ------------------------------------------------------------------------------------------------
    def move(self, record: Record, status: str, cause: str, at: float | None = None) -> None:
        """Change a record's status and note it (callers hold :attr:`lock`)."""
        moment = self.clock.wall() if at is None else at
        self.transitions.append(
            {
                "offboarding_id": record.offboarding_id,
                "from": record.status,
                "to": status,
                "cause": cause,
                "tenant_time": self.clock.text(moment),
            }
        )
        record.status = status
        self.touch()
        if status == "Approving":
            self._approving_since[record.offboarding_id] = moment
        if self.events is not None:
            self.events.status_changed(record, moment)

    @contextlib.contextmanager
    def muted(self) -> Iterator[None]:
        """Emit no event inside (a write that is undone: the ``drop_write`` fault); callers hold :attr:`lock`."""
        if self.events is None:
            yield
            return
        with self.events.muted():
            yield

    def updated(self, record: Record, operator: str | None, fields: list[str]) -> None:
        """Emit the offboarding-updated event after a successful edit or revoke (callers hold :attr:`lock`).

        :param record: the record after the change.
        :param operator: the request's ``operator_id`` (None: not sent).
        :param fields: the names of the changed fields.
        """
        if self.events is not None:
            self.events.updated(record, operator, fields, self.clock.wall())

    def set_status(self, offboarding_id: str, status: str) -> None:
        """Set the status (an approval finished, the offboarding date passed, ...); ends any pending approval."""
        if status not in OFFBOARDING_STATUSES:
            raise EmulatorError(f"status {status!r} is not one of {', '.join(OFFBOARDING_STATUSES)}")
        with self.lock:
            record = self.require(offboarding_id)
            self.move(record, status, "control")
            record.pending_approval = None

    def touch(self) -> None:
        """Note that records changed (callers hold :attr:`lock`): the next :meth:`tick` looks at every record."""
        self._version += 1

    def tick(self) -> None:
        """Apply the lifecycle up to the calendar's now (see :mod:`.lifecycle`).

        Cheap when nothing is due: unless a record changed, only the next due moment is compared with now.
        """
        now = self.clock.wall()
        with self.lock:
            if self._version == self._ticked_version and now < self._next_due:
                return
            next_due = float("inf")
            for record in self._records.values():
                since = self._approving_since.get(record.offboarding_id)
                approved = lifecycle.approval_due(record, since, self.approval_delay, now)
                if approved is not None:
                    self.move(record, "Approved", "clock", approved)
                    record.values.setdefault("apply_finish_time", self.clock.text(approved))
                effective = lifecycle.offboarding_due(record, self.clock, now)
                if effective is not None:
                    self.move(record, "Offboarded", "clock", effective)
                next_due = min(next_due, lifecycle.next_moment(record, since, self.approval_delay, self.clock))
            self._next_due, self._ticked_version = next_due, self._version

    # -- writes that take time ---------------------------------------------------------------------------------
    def busy(self, offboarding_id: str) -> bool:
        return offboarding_id in self._busy

    def busy_ids(self) -> list[str]:
        """Records a write is processing right now."""
        with self.lock:
            return sorted(self._busy)

    def claim(self, offboarding_id: str) -> None:
        """Mark a record as being written (callers hold :attr:`lock`)."""
        self._busy.add(offboarding_id)

    def release(self, offboarding_id: str) -> None:
        with self.lock:
            self._busy.discard(offboarding_id)
            self.released.notify_all()

    # -- other changes and views -------------------------------------------------------------------------------
    def update(self, offboarding_id: str, changes: Mapping[str, Any]) -> None:
        """Change keys of a record (flags, facts, field values); the result is validated like seed data."""
        if "offboarding_id" in changes and changes["offboarding_id"] != offboarding_id:
            raise EmulatorError("offboarding_id cannot be changed")
        with self.lock:
            current = self.require(offboarding_id)
            merged = {**current.to_seed(), **changes}
            updated = parse_record(merged, self.schema, f"update of {offboarding_id}", now=self.clock.text())
            if updated.status != current.status:
                self.move(current, updated.status, "control")
            self._records[offboarding_id] = updated
            self.touch()

    def seed_form(self, offboarding_id: str) -> dict[str, Any]:
        self.tick()
        with self.lock:
            return copy.deepcopy(self.require(offboarding_id).to_seed())

    def item(self, offboarding_id: str, user_id_type: str = "people_corehr_id") -> dict[str, Any]:
        self.tick()
        with self.lock:
            return search_item(self.require(offboarding_id), self.schema, user_id_type)

    def items(self, user_id_type: str = "people_corehr_id") -> list[dict[str, Any]]:
        self.tick()
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
