"""The events the emulator emits, with the documented bodies (``docs/api-facts.md``, "Events").

* ``corehr.offboarding.status_updated_v2`` for every status change: the clock's, a revoke's and the control
  API's (the status event page: approval started or ended, offboarding took effect, status went back);
* ``corehr.offboarding.updated_v2`` after every successful edit and revoke through the API (both pages name
  it as the event their success produces).

Each event is emitted once per app of the emulator (every app is subscribed), in the 2.0 envelope:
``schema``, ``header`` (``event_id`` 32 hex digits, unique per event and app; ``event_type``; ``create_time``,
milliseconds as a string, of the tenant calendar at the change; ``token``, the app's verification token;
``app_id``; ``tenant_key``) and ``event``. Events are emitted under the store's lock, in the order of the changes;
:class:`EventLog` keeps them (``GET /_emulator/events``) and hands each to its listeners (the long connection).

Where the pages are silent the emulator chooses (see ``docs/decisions.md``): ``tenant_id`` is the tenant key;
``operator`` is the request's ``operator_id`` as sent (empty for the clock and the control API); a revoke's
``updated_fields`` is ``["status"]`` when the record became ``Withdrawn`` and empty when a withdrawal approval
started; ``checklist_status`` integers follow the search's order (``AntiBegin`` 1 ... ``Withdrawn`` 5), 0 when
the record has none.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import uuid
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.testing import ids

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from airflow_provider_feishu_corehr.testing.records import Record

STATUS_UPDATED = "corehr.offboarding.status_updated_v2"
UPDATED = "corehr.offboarding.updated_v2"
STATUS_NUMBERS = {"Approving": 1, "Approved": 2, "Offboarded": 3, "Rejected": 4, "Withdrawn": 5, "NoNeedApproval": 6}
CHECKLIST_NUMBERS = {"AntiBegin": 1, "Approving": 2, "Finished": 3, "Rejected": 4, "Withdrawn": 5}
DEFAULT_TENANT_KEY = "736588c9260f175d"
DEFAULT_VERIFICATION_TOKEN = "emulator-verification-token"


def target_user_id(employment_id: str) -> dict[str, str]:
    """The person's ids as the event pages list them (``union_id``, ``user_id``, ``open_id``).

    :param employment_id: the People employment id.
    """
    return {kind: ids.as_type(employment_id, kind) for kind in ("union_id", "user_id", "open_id")}


def status_body(record: Record) -> dict[str, Any]:
    """The body of ``corehr.offboarding.status_updated_v2`` for the record's current status.

    :param record: the record after the change.
    """
    return {
        "employment_id": record.employment_id,
        "target_user_id": target_user_id(record.employment_id),
        "offboarding_id": record.offboarding_id,
        "process_id": record.process_id,
        "status": STATUS_NUMBERS[record.status],
    }


def updated_body(record: Record, tenant_id: str, operator: str, fields: list[str], moment_ms: int) -> dict[str, Any]:
    """The body of ``corehr.offboarding.updated_v2``.

    :param record: the record after the change.
    :param tenant_id: the tenant's id (the emulator's tenant key).
    :param operator: the request's ``operator_id`` ("" when none was sent).
    :param fields: the names of the fields that changed.
    :param moment_ms: tenant calendar milliseconds of the change.
    """
    return {
        "tenant_id": tenant_id,
        "offboarding_info_id": record.offboarding_id,
        "process_id": record.process_id,
        "checklist_process_id": record.checklist_process_id or "",
        "employment_id": record.employment_id,
        "operator": operator,
        "status": STATUS_NUMBERS[record.status],
        "checklist_status": CHECKLIST_NUMBERS.get(record.checklist_status or "", 0),
        "updated_time": str(moment_ms),
        "updated_fields": list(fields),
        "target_user_id": target_user_id(record.employment_id),
    }


class EventLog:
    """Every event emitted since start or reset, in order; thread-safe.

    :param apps: app id -> app secret (each app gets its own copy of each event).
    :param tenant_key: the tenant's key (``header.tenant_key``, and ``tenant_id`` in ``updated_v2``).
    :param verification_token: the apps' verification token (``header.token``).
    """

    def __init__(self, apps: Mapping[str, str], tenant_key: str, verification_token: str) -> None:
        self.apps = list(apps)
        self.tenant_key = tenant_key
        self.verification_token = verification_token
        self._lock = threading.Lock()
        self._events: list[dict[str, Any]] = []
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._muted = 0

    def listen(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Call ``listener(event)`` for each event emitted from now on (in the emitting thread).

        :param listener: receives the full envelope.
        """
        self._listeners.append(listener)

    @contextlib.contextmanager
    def muted(self) -> Iterator[None]:
        """Emit nothing inside (a write that is undone, e.g. the ``drop_write`` fault); callers hold the store's
        lock, which every emitter holds too."""
        self._muted += 1
        try:
            yield
        finally:
            self._muted -= 1

    def status_changed(self, record: Record, moment: float) -> None:
        """Emit ``status_updated_v2`` for the record's new status.

        :param record: the record after the change.
        :param moment: tenant calendar seconds of the change.
        """
        self._emit(STATUS_UPDATED, status_body(record), moment)

    def updated(self, record: Record, operator: str | None, fields: list[str], moment: float) -> None:
        """Emit ``updated_v2`` after a successful edit or revoke.

        :param record: the record after the change.
        :param operator: the request's ``operator_id`` (None: not sent).
        :param fields: the names of the changed fields.
        :param moment: tenant calendar seconds of the change.
        """
        moment_ms = int(moment * 1000)
        self._emit(UPDATED, updated_body(record, self.tenant_key, operator or "", fields, moment_ms), moment)

    def _emit(self, event_type: str, body: dict[str, Any], moment: float) -> None:
        if self._muted:
            return
        for app_id in self.apps:
            event = {
                "schema": "2.0",
                "header": {
                    "event_id": uuid.uuid4().hex,
                    "event_type": event_type,
                    "create_time": str(int(moment * 1000)),
                    "token": self.verification_token,
                    "app_id": app_id,
                    "tenant_key": self.tenant_key,
                },
                "event": copy.deepcopy(body),
            }
            with self._lock:
                self._events.append(event)
            for listener in self._listeners:
                listener(event)

    def all(self) -> list[dict[str, Any]]:
        """Copies of the emitted events, oldest first."""
        with self._lock:
            return copy.deepcopy(self._events)

    def clear(self) -> None:
        """Forget the emitted events (reset)."""
        with self._lock:
            self._events.clear()
