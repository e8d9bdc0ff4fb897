"""Settling edits that ended without a definite answer: :class:`EditSettler`, the edit's batch
:class:`~.batch.Settler`.

After the batch, every edit whose outcome is unknown (the client's ``outcome_unknown``, or in flight) is read back
with one batched search (one per 100 employment ids) and settled by what the fields hold now:

- every field sent holds the value sent: ``edited``, ``settled_by`` ``read_back``;
- every field still holds the value read before the send (known when the task read first: ``only_changed``, a
  plan, a retried try): the edit did not land, it is sent again (``settled_by`` ``resent`` once answered);
- any other mix: ``unknown``, or ``conflict`` when a field holds a value neither sent nor read before; the values
  seen are in the record's ``seen``.

A record without ``employment_id`` cannot be read back: its edit is sent again. Each round is one read-back and
the re-sends it calls for, at most :data:`~.batch.SETTLE_ROUNDS`. Why re-sending is safe, and the trade-off without
an employment id: ``docs/operators.md``, "Settling unknown edits".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.current import read_current, same
from airflow_provider_feishu_corehr.client.errors import FeishuError
from airflow_provider_feishu_corehr.operators.batch import SettleAgain, Unsettled
from airflow_provider_feishu_corehr.operators.changes import reading_of
from airflow_provider_feishu_corehr.operators.gate import RequestNotStarted
from airflow_provider_feishu_corehr.operators.outcomes import FAILED, UNKNOWN, InFlight

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from airflow_provider_feishu_corehr.client.current import CurrentOffboarding, Reading
    from airflow_provider_feishu_corehr.client.models import FieldValue
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook
    from airflow_provider_feishu_corehr.operators.records import Record

READ_BACK = "read_back"
RESENT = "resent"
CONFLICT = "conflict"


class EditConflictError(FeishuError):
    """Reading back an edit whose outcome was unknown found a field holding a value that is neither the one sent
    nor the one read before: another writer changed it. Not sent again (its ``seen`` rows are in XCom).

    :param msg: which record and fields (names only, never values).
    """

    def __init__(self, msg: str) -> None:
        super().__init__(
            msg,
            endpoint="edit",
            advice="another writer changed these fields while the edit was in doubt: check the offboarding, then "
            "send the edit again if it should still win",
        )


class EditSettler:
    """Settles the ambiguous edits of one batch (module docstring).

    :param hook: the operator's hook (its requests pass the batch's gate).
    :param log: the task's logger.
    :param user_id_type: id type of the employment ids (``None`` = the connection's default).
    :param before: what a review read before the send, by record index: ``{field_name: value}`` (``None`` when
        the value could not be read); ``None`` when the task did not read first.
    :param send: sends one record again, as the batch did (:meth:`.edit.Edit.send`).
    """

    def __init__(
        self,
        hook: FeishuHook,
        log: Any,
        user_id_type: str | None,
        *,
        before: Mapping[int, Mapping[str, str | None]] | None,
        send: Callable[[FeishuHook, Record, str | None], dict[str, Any]],
    ) -> None:
        self.hook = hook
        self.log = log
        self.user_id_type = user_id_type
        self.before = before or {}
        self.send = send
        self.current: dict[str, CurrentOffboarding] | None = None

    def unsettled(self, exc: BaseException) -> bool:
        """An edit that may have reached Feishu without a definite answer (in flight, or ``outcome_unknown``).

        :param exc: the record's error.
        """
        return isinstance(exc, InFlight) or (isinstance(exc, FeishuError) and exc.outcome_unknown)

    def look_up(self, records: Sequence[Record]) -> None:
        """One round's read-back: one search per 100 employment ids of ``records``.

        :param records: the records to settle this round.
        """
        ids = [r.employment_id for r in records if r.employment_id]
        self.current = {}
        if not ids:
            return
        try:
            self.current = read_current(self.hook, ids, user_id_type=self.user_id_type)
        except (FeishuError, RequestNotStarted) as err:
            self.log.warning("Reading back %d edit(s) of unknown outcome failed: %s", len(ids), err)
            self.current = None

    def settle(self, record: Record, exc: BaseException) -> dict[str, Any]:
        """The settled result; raises :class:`~.batch.SettleAgain` when it was sent again without a definite
        answer, :class:`~.batch.Unsettled` (``unknown`` or ``conflict`` with what was seen), or ``exc`` when the
        read-back failed.

        :param record: the record (its fields as sent).
        :param exc: its error so far.
        """
        if record.employment_id is None:  # nothing to read back: send it again (docs/operators.md, trade-off)
            return self._resend(record, "it has no employment_id to read it back", landed=None)
        if self.current is None:
            raise exc
        readings = [
            (f, reading_of(self.current, record.offboarding_id, record.employment_id, f.field_name))
            for f in record.update
        ]
        seen = [{"field_name": f.field_name, "value": r.value, "reason": r.reason} for f, r in readings]
        if readings and all(same(r, f.value) for f, r in readings):
            self.log.info(
                "Offboarding %s: the edit ended without a definite answer; read back, every field holds the value "
                "sent: edited",
                record.offboarding_id,
            )
            fields = [{"field_name": f.field_name, "value": f.value} for f in record.update]
            return {"outcome": "edited", "fields": fields, "log_id": None, "settled_by": READ_BACK}
        before = self.before.get(record.index, {})
        if readings and all(_held(before, f, r) for f, r in readings):
            why = "read back, every field still holds the value read before the send"
            return self._resend(record, why, landed=False)
        names = ", ".join(f.field_name for f, r in readings if not same(r, f.value))
        moved = [f.field_name for f, r in readings if _moved(before, f, r)]
        if moved:
            error: BaseException = EditConflictError(
                f"record {record.index}: offboarding {record.offboarding_id}: {', '.join(moved)} read back with a "
                "value neither sent nor read before; not sent again"
            )
            self.log.warning("Edit conflict: %s", error)
            raise Unsettled(error, CONFLICT, {"seen": seen})
        self.log.warning(
            "Offboarding %s: the edit ended without a definite answer; read back, %s hold(s) neither the value "
            "sent nor a known earlier one: unknown",
            record.offboarding_id,
            names or "no field",
        )
        raise Unsettled(exc, UNKNOWN, {"seen": seen})

    def _resend(self, record: Record, why: str, *, landed: bool | None) -> dict[str, Any]:
        """Send ``record`` again. ``landed`` is ``False`` when a read-back showed the first send did not land (a
        definite refusal then fails the record), ``None`` when nothing could be read (the record stays unknown)."""
        self.log.info(
            "Offboarding %s: the edit ended without a definite answer; %s: sending it again", record.offboarding_id, why
        )
        try:
            result = self.send(self.hook, record, self.user_id_type)
        except FeishuError as err:
            if err.outcome_unknown:
                raise SettleAgain(err) from err
            if landed is False:
                raise Unsettled(err, FAILED, {}) from err
            raise
        return {**result, "settled_by": RESENT}


def _held(before: Mapping[str, str | None], field: FieldValue, reading: Reading) -> bool:
    """Whether the field still holds the value read before the send (known and readable)."""
    value = before.get(field.field_name)
    return value is not None and bool(same(reading, value)) and not same(reading, field.value)


def _moved(before: Mapping[str, str | None], field: FieldValue, reading: Reading) -> bool:
    """Whether the field holds a known value that is neither the one sent nor the one read before."""
    value = before.get(field.field_name)
    known = value is not None and reading.value is not None
    return known and not same(reading, field.value) and not same(reading, value or "")
