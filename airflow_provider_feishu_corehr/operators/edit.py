"""Editing offboardings: :class:`EditOffboardingOperator` and the edit :class:`Edit` it runs.

An edit whose outcome is unknown is settled after the batch by reading it back (:mod:`.edit_settle`); a retried try
reads the current values first, so it never sends again what an earlier try applied (``docs/operators.md``,
"Settling unknown edits" and "Retried tries").
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_feishu_corehr._arguments import invalid_argument, is_static
from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.fields import normalize_update_data
from airflow_provider_feishu_corehr.client.validation import optional_id, require_offboarding_id
from airflow_provider_feishu_corehr.operators.batch import OffboardingOperator
from airflow_provider_feishu_corehr.operators.outcomes import FAILED, NOT_SENT, UNKNOWN
from airflow_provider_feishu_corehr.operators.records import Record, entry_records, id_records, is_one_id

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_feishu_corehr.client.models import FieldValue
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook
    from airflow_provider_feishu_corehr.operators.edit_settle import EditSettler
    from airflow_provider_feishu_corehr.operators.review import EditReview

EDITED = "edited"
ENTRY_KEYS = ("offboarding_id", "update_data", "operator_id", "employment_id")


class Edit:
    """The edit as a batch :class:`~.batch.Operation`: send, report, read back.

    :param verify: read the written records back after the batch (:func:`~.review.verify_edits`).
    :param log: the task's logger.
    :param write_unread: records without ``employment_id`` in a review the user asked for: ``False`` refuses them
        before any request, ``True`` writes them whole; ``None`` when the user asked for no read (a retried try).
    :param asked_by: the argument that asked for the read (``only_changed``, ``plan_only``, ``plan``).
    """

    kind = "edit"
    action = "Edit"
    outcomes: tuple[str, ...] = (EDITED, "unchanged", "conflict", FAILED, UNKNOWN, NOT_SENT)
    unknown_advice = (
        "Feishu may have applied this edit; reading it back did not settle it (seen: what the fields hold). Read "
        "the offboarding's fields back (hook.search_offboardings) before sending it again: re-sending is only safe "
        "if nobody wrote a newer value since."
    )

    def __init__(self, *, verify: bool, log: Any, write_unread: bool | None = None, asked_by: str = "") -> None:
        from airflow_provider_feishu_corehr.operators.review import verify_edits  # not at DAG parse

        self.verify = verify_edits if verify else None
        self.log = log
        self.write_unread = write_unread
        self.asked_by = asked_by
        self.reviewed: EditReview | None = None

    def review(
        self, hook: FeishuHook, user_id_type: str | None, planned: dict[int, dict[str, Any]] | None
    ) -> EditReview:
        """The batch's review (:class:`~.review.EditReview`), kept: its before-values settle unknown edits.

        :param hook: the operator's hook.
        :param user_id_type: id type of the employment ids.
        :param planned: the plan's records by index when applying a plan.
        """
        from airflow_provider_feishu_corehr.operators.review import EditReview

        self.reviewed = EditReview(
            hook, user_id_type, planned, write_unread=self.write_unread, asked_by=self.asked_by or "only_changed"
        )
        return self.reviewed

    def settler(self, hook: FeishuHook, log: Any, user_id_type: str | None) -> EditSettler:
        """The batch's :class:`~.edit_settle.EditSettler`, given what the review read before the send.

        :param hook: the operator's hook.
        :param log: the task's logger.
        :param user_id_type: id type of the employment ids.
        """
        from airflow_provider_feishu_corehr.operators.edit_settle import EditSettler

        before = self.reviewed.before_values() if self.reviewed is not None else None
        return EditSettler(hook, log, user_id_type, before=before, send=self.send)

    def record_keys(self, record: Record) -> dict[str, Any]:
        """An edit record's own XCom keys: the fields sent and echoed, what a review read, settling, the read-back.

        :param record: the record.
        """
        keys = ("fields", "status", "changes", "conflict", "settled_by", "seen", "verify", "verification")
        return {"field_names": record.field_names, **dict.fromkeys(keys)}

    def send(self, hook: FeishuHook, record: Record, user_id_type: str | None) -> dict[str, Any]:
        """Edit one offboarding.

        :param hook: the operator's hook.
        :param record: the record.
        :param user_id_type: id type of its operator id and person fields.
        """
        assert record.offboarding_id is not None
        result = hook.edit_offboarding(
            record.offboarding_id, record.update, operator_id=record.operator_id, user_id_type=user_id_type
        )
        echoed, sent = [f.field_name for f in result.fields], record.field_names
        self.log.debug("Edited offboarding %s: fields %s (log id %s)", record.offboarding_id, sent, result.log_id)
        if sorted(echoed) != sorted(sent):
            self.log.warning("Offboarding %s: Feishu echoed fields %s, sent %s", record.offboarding_id, echoed, sent)
        return {"outcome": EDITED, "fields": [f.to_json() for f in result.fields], "log_id": result.log_id}


class EditOffboardingOperator(OffboardingOperator):
    """Edit fields of Feishu People offboardings: one record, the same change on many, or a list of changes.

    Calls ``POST /open-apis/corehr/v2/offboardings/edit`` through :class:`FeishuHook`. Python values are converted
    to the API's strings (bool -> ``"true"``/``"false"``, numbers -> decimal text, ``date`` -> ``YYYY-MM-DD``,
    ``datetime`` -> ``YYYY-MM-DD HH:mm:ss``, list of option names -> JSON array text; see
    :mod:`airflow_provider_feishu_corehr.client.fields`). Give either ``offboarding_id`` with ``update_data``, or
    ``offboardings``. For dynamic task mapping over records use
    ``.partial(...).expand_kwargs([{"offboarding_id": ..., "update_data": {...}}, ...])``.

    :param offboarding_id: the offboarding to edit, or a list of ids that all get the same ``update_data``
        (also JSON array text or an upstream ``XComArg``). (templated)
    :param update_data: the fields to set: a mapping ``{field_name: value}``, the API's list
        ``[{"field_name": ..., "value": ...}]``, or JSON text of either. At most 10,000 fields; names unique and
        editable; text at most 6,000 characters; ``None`` values are refused. (templated)
    :param offboardings: instead of the two above, a list of records
        ``{"offboarding_id": str, "update_data": ..., "operator_id"?, "employment_id"?}`` (also JSON array text or
        an upstream ``XComArg``); each record is checked on its own and a bad one fails alone. (templated)
    :param employment_id: the employment of a single ``offboarding_id``, to read its current values. (templated)
    :param timezone: IANA zone name (or ``tzinfo``) that timezone-aware datetime values are converted to before
        formatting; the API takes wall-clock time. Without it, aware datetimes (e.g. every pendulum ``DateTime``)
        are refused; naive ones are always sent as written.
    :param only_changed: read the current values first (one search per 100 employment ids) and send only fields
        that differ or cannot be read; a record with nothing to send gets outcome ``unchanged``.
    :param verify: read back the records with outcome ``edited`` or ``unknown``: per field ``verified`` /
        ``mismatch`` / ``unknown``; a mismatch fails the task after the XCom was pushed.
    :param write_unread: with ``only_changed``, ``plan_only`` or ``plan``, write the records that cannot be read
        first (no ``employment_id``) with every field of theirs; their changes say ``no_employment_id`` and one log
        line counts them. Without it (the default) such records fail the task before any request, with an error
        naming them: the read-first you asked for would silently not happen for them.
    :param kwargs: the shared arguments of :class:`~.batch.OffboardingOperator`: ``feishu_conn_id``,
        ``operator_id`` (the default for records without their own), ``user_id_type``, ``max_workers``,
        ``plan_only``, ``plan`` (exactly its fields; a record whose current value moved since is not written:
        outcome ``conflict``), and ``BaseOperator``'s.

    Returns (XCom ``return_value``, also pushed when the task fails) the envelope of ``docs/xcom.md`` whatever the
    input, one record per input position with outcome ``edited``, ``unchanged``, ``conflict``, ``failed``,
    ``unknown`` or ``not_sent`` (and the read-back with ``verify``); with ``plan_only=True`` a plan document
    instead (``docs/plan-apply.md``).
    """

    template_fields: Sequence[str] = (
        "offboarding_id",
        "update_data",
        "offboardings",
        "employment_id",
        "plan",
        "operator_id",
        "user_id_type",
        "feishu_conn_id",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "offboarding_id": "json",
        "update_data": "json",
        "offboardings": "json",
        "plan": "json",
    }

    def __init__(
        self,
        *,
        offboarding_id: str | Sequence[str] | None = None,
        update_data: Any = None,
        offboardings: Any = None,
        employment_id: str | None = None,
        timezone: str | dt.tzinfo | None = None,
        only_changed: bool = False,
        verify: bool = False,
        write_unread: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.write_unread = write_unread
        self.offboarding_id = offboarding_id
        self.update_data = update_data
        self.offboardings = offboardings
        self.employment_id = employment_id
        self.timezone = timezone
        self.only_changed = only_changed
        self.verify = verify
        with invalid_argument():
            self._check_arguments()
            static = self.check_static_records(Edit.kind, self._records)
            if not static and self.plan is None and self.offboardings is None and is_static(self.update_data):
                self._fields(self.update_data, "update_data")

    def _check_arguments(self) -> None:
        records_given = (self.offboarding_id, self.update_data, self.offboardings, self.employment_id)
        self.check_arguments(records_given, flags=("only_changed", "verify", "write_unread"))
        self._tz()
        if self.plan is not None:
            return
        if self.employment_id is not None and (self.offboardings is not None or not is_one_id(self.offboarding_id)):
            raise FeishuInvalidInputError(
                "employment_id goes with a single offboarding_id; records of offboardings carry their own employment_id"
            )
        if self.offboardings is not None:
            if self.offboarding_id is not None or self.update_data is not None:
                raise FeishuInvalidInputError("give either offboardings, or offboarding_id with update_data, not both")
            return
        if self.offboarding_id is None:
            raise FeishuInvalidInputError("offboarding_id (with update_data) or offboardings is required")
        if self.update_data is None:
            raise FeishuInvalidInputError("update_data is required with offboarding_id")

    def _tz(self) -> dt.tzinfo | None:
        value = self.timezone
        if value is None or isinstance(value, dt.tzinfo):
            return value
        if isinstance(value, str) and value.strip():
            try:
                return zoneinfo.ZoneInfo(value.strip())
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                pass
        raise FeishuInvalidInputError(
            f"timezone must be an IANA time zone name such as 'Asia/Shanghai' or a tzinfo; got {value!r}"
        )

    def _fields(self, update_data: Any, label: str) -> list[FieldValue]:
        return normalize_update_data(update_data, record=label, timezone=self._tz())

    def _records(self) -> list[Record]:
        operator_id = optional_id("operator_id", self.operator_id)
        if self.offboardings is not None:
            return entry_records(self.offboardings, keys=ENTRY_KEYS, operator_id=operator_id, fields=self._fields)
        if is_one_id(self.offboarding_id):
            label = f"offboarding {require_offboarding_id('offboarding_id', self.offboarding_id)}"
            employment_id = optional_id("employment_id", self.employment_id)
        else:
            label, employment_id = "update_data (shared by every offboarding_id)", None
        update = self._fields(self.update_data, label)
        return id_records(self.offboarding_id, operator_id=operator_id, update=update, employment_id=employment_id)

    def execute(self, context: Context) -> dict[str, Any]:
        """Edit the records (or make or apply a plan); see the class docstring for what is returned.

        :param context: the task's context.
        """
        with invalid_argument():
            self._check_arguments()
        asked_by = "plan" if self.plan is not None else "plan_only" if self.plan_only else "only_changed"
        asked = self.only_changed or self.plan_only or self.plan is not None
        operation = Edit(
            verify=self.verify, log=self.log, write_unread=self.write_unread if asked else None, asked_by=asked_by
        )
        try_number = getattr(context.get("ti"), "try_number", None)
        retried = isinstance(try_number, int) and try_number > 1
        if retried and not self.only_changed and self.plan is None and not self.plan_only:
            self.log.info(
                "Edit: try %d reads the current values first (mode only_changed) and sends only fields that differ: "
                "an earlier try may have applied some records, and Airflow keeps no XCom across tries",
                try_number,
            )
        return self.run_batch(context, operation, self._records, read_first=self.only_changed or retried)
