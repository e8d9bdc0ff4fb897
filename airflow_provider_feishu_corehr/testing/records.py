"""One offboarding record: what search shows, plus the employment facts and scenario flags that make the
revoke and edit endpoints answer their documented error codes.

A record is written flat (seed files, :meth:`FeishuEmulator.add_offboarding`): the keys below, plus any schema
field name with its value (``offboarding_date``, ``reason``, ``severance_months__c``, ...).

Employment facts (dates ``YYYY-MM-DD``; checked when an edit changes ``offboarding_date``):
``onboarding_date`` (1160601), ``probation_start_date`` (1160602), ``contract_start_date`` (1160607),
``last_transform_date`` (1160603), ``contract_end_date`` (1160608).

Checklist (search's ``offboarding_checklist``): ``checklist_status``, ``checklist_start_time``,
``checklist_finish_time`` (``YYYY-MM-DD HH:MM:SS``) and ``checklist_process_id``; read-only through the API.

``scenario`` is a free-text note (the default seed says what each record is for).

Scenario flags: ``department_disabled`` (revoke 1160203, edit 1160300), ``concurrent_revokes`` (the next N
revokes collide: 1160204), ``pending_approval`` ``"modification"`` / ``"withdrawal"`` (revoke 1160205/1160206,
edit 1161001/1161002), ``revoke_needs_approval`` (revoke starts a withdrawal approval instead of withdrawing),
``contract_issue`` ``"no_current_contract"`` / ``"future_contract"`` / ``"actual_end_date"`` (edit
1160203/1160204/1160205), ``has_approving_transform`` (1160200), ``company_missing`` (1160304),
``no_edit_permission`` (1160610), ``employee_missing`` (1160631).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from typing import Any

from airflow_provider_feishu_corehr.testing import ids, values
from airflow_provider_feishu_corehr.testing.api_pages import STATUSES as OFFBOARDING_STATUSES
from airflow_provider_feishu_corehr.testing.errors import SeedError
from airflow_provider_feishu_corehr.testing.schema import CUSTOM_TYPE_NUMBERS, FieldSpec

INITIATING_TYPES = ("offboarding_initiated_by_self", "offboarding_initiated_by_others", "offboarding_directly")
CHECKLIST_STATUSES = ("AntiBegin", "Approving", "Finished", "Rejected", "Withdrawn")
CONTRACT_ISSUES = {"no_current_contract": 1160203, "future_contract": 1160204, "actual_end_date": 1160205}
PENDING_APPROVALS = ("modification", "withdrawal")
FACT_DATES = ("onboarding_date", "probation_start_date", "contract_start_date", "last_transform_date")
FLAGS = (
    "department_disabled",
    "revoke_needs_approval",
    "has_approving_transform",
    "company_missing",
    "no_edit_permission",
    "employee_missing",
)
_CHINA = 8 * 3600  # record times are Beijing time (UTC+8), as Feishu shows them


@dataclass
class Record:
    offboarding_id: str
    employment_id: str
    status: str = "Approved"
    initiating_type: str = "offboarding_initiated_by_others"
    apply_initiator_id: str | None = None
    process_id: str = ""
    checklist_status: str | None = "AntiBegin"
    checklist_start_time: str | None = None
    checklist_finish_time: str | None = None
    checklist_process_id: str | None = None
    hrbp_ids: list[str] = field(default_factory=list)
    scenario: str | None = None
    onboarding_date: str | None = None
    probation_start_date: str | None = None
    contract_start_date: str | None = None
    last_transform_date: str | None = None
    contract_end_date: str | None = None
    contract_issue: str | None = None
    pending_approval: str | None = None
    concurrent_revokes: int = 0
    department_disabled: bool = False
    revoke_needs_approval: bool = False
    has_approving_transform: bool = False
    company_missing: bool = False
    no_edit_permission: bool = False
    employee_missing: bool = False
    values: dict[str, str] = field(default_factory=dict)

    def to_seed(self) -> dict[str, Any]:
        """The flat form this record can be re-created from."""
        flat = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "values"}
        flat["hrbp_ids"] = list(self.hrbp_ids)
        return {**flat, **self.values}

    def people(self) -> set[str]:
        return {self.employment_id, *self.hrbp_ids, *([self.apply_initiator_id] if self.apply_initiator_id else [])}


KEYS = frozenset(f.name for f in fields(Record)) - {"values"}
# Keys whose explicit None is kept (the others fall back to their default).
_NULLABLE = frozenset({"apply_initiator_id", "checklist_status", "contract_issue", "pending_approval", "scenario"})
CHECKLIST_KEYS = ("checklist_status", "checklist_start_time", "checklist_finish_time", "checklist_process_id")


def now_text() -> str:
    return time.strftime(values.DATETIME_FORMAT, time.gmtime(time.time() + _CHINA))


def _check(where: str, ok: bool, message: str) -> None:
    if not ok:
        raise SeedError(f"{where}: {message}")


def parse_record(raw: Any, schema: dict[str, FieldSpec], where: str, now: str | None = None) -> Record:
    """Build a record from its flat form; raises :class:`SeedError` naming ``where`` and the bad key.

    ``now`` (tenant time text) is the default ``apply_initiating_time``; None = the real time in Beijing.
    """
    _check(where, isinstance(raw, dict), f"a record must be an object, got {type(raw).__name__}")
    oid = raw.get("offboarding_id") or ids.new_numeric_id("7")
    where = f"{where} (offboarding_id {oid!r})"
    unknown = sorted(k for k in raw if k not in KEYS and k not in schema)
    _check(where, not unknown, f"unknown key(s) {', '.join(map(repr, unknown))}: not a record key or schema field")
    _check(where, isinstance(raw.get("scenario", ""), str | None), "scenario must be text (a note)")
    for key in ("checklist_start_time", "checklist_finish_time"):
        value = raw.get(key)
        ok = value is None or (isinstance(value, str) and values.parse_datetime(value) is not None)
        _check(where, ok, f"{key} must be 'YYYY-MM-DD HH:MM:SS'")
    for key in ("offboarding_id", "employment_id", "process_id", "apply_initiator_id", "checklist_process_id"):
        value = raw.get(key)
        _check(where, value is None or (isinstance(value, str) and value.strip() != ""), f"{key} must be an id")
    _check(where, isinstance(raw.get("employment_id"), str), "employment_id is required")
    checks = {
        "status": (OFFBOARDING_STATUSES, "Approved"),
        "initiating_type": (INITIATING_TYPES, "offboarding_initiated_by_others"),
        "checklist_status": ((*CHECKLIST_STATUSES, None), "AntiBegin"),
        "contract_issue": ((*CONTRACT_ISSUES, None), None),
        "pending_approval": ((*PENDING_APPROVALS, None), None),
    }
    for key, (allowed, _default) in checks.items():
        value = raw.get(key, _default)
        _check(where, value in allowed, f"{key} {value!r} is not one of {', '.join(map(repr, allowed))}")
    for key in (*FACT_DATES, "contract_end_date"):
        value = raw.get(key)
        _check(where, value is None or values.parse_date(str(value)) is not None, f"{key} must be YYYY-MM-DD")
    for key in FLAGS:
        _check(where, isinstance(raw.get(key, False), bool), f"{key} must be true or false")
    revokes = raw.get("concurrent_revokes", 0)
    ok = isinstance(revokes, int) and not isinstance(revokes, bool) and revokes >= 0
    _check(where, ok, "concurrent_revokes must be a whole number >= 0")
    hrbps = raw.get("hrbp_ids", [])
    _check(where, isinstance(hrbps, list) and all(isinstance(h, str) and h for h in hrbps), "hrbp_ids: id list")
    field_values: dict[str, str] = {"apply_initiating_time": now or now_text()}
    for name, value in raw.items():
        if name in schema and value is not None:
            field_values[name] = _field_value(schema[name], value, where)
    core = {k: v for k, v in raw.items() if k in KEYS and (v is not None or k in _NULLABLE)}
    core["hrbp_ids"] = list(hrbps)
    core["offboarding_id"] = oid
    core.setdefault("process_id", ids.new_numeric_id("7"))
    return Record(**core, values=field_values)


def _field_value(spec: FieldSpec, value: Any, where: str) -> str:
    try:
        text = values.to_wire(spec, value)
    except TypeError as exc:
        raise SeedError(f"{where}: field {spec.name!r}: {exc}") from None
    if spec.type not in ("person", "attachment"):
        code = values.check_value(spec, text, ())
        _check(where, code is None, f"field {spec.name!r} ({spec.type}) has an invalid value {text!r}")
    return text


def search_item(record: Record, schema: dict[str, FieldSpec], user_id_type: str) -> dict[str, Any]:
    """The record shaped like one ``items[]`` entry of ``/corehr/v1/offboardings/search``."""

    def person(employment_id: str) -> str:
        return ids.as_type(employment_id, user_id_type)

    vals = record.values
    info: dict[str, Any] = {
        "employment_id": person(record.employment_id),
        "hrbp_id": list(map(person, record.hrbp_ids)),
    }
    custom: list[dict[str, Any]] = []
    for name, value in vals.items():
        spec = schema.get(name)
        if spec is None or name in ("apply_initiating_time", "apply_finish_time"):
            continue
        if spec.custom:
            label = spec.label or name
            custom.append(
                {
                    "custom_api_name": name,
                    "name": {"zh_cn": label, "en_us": label},
                    "type": CUSTOM_TYPE_NUMBERS[spec.type],
                    "value": values.to_custom_value(spec, value),
                }
            )
        else:
            info[name] = values.to_search_value(spec, value)
    info["custom_fields"] = custom
    application = {
        "apply_initiator_id": person(record.apply_initiator_id) if record.apply_initiator_id else None,
        "apply_initiating_time": vals.get("apply_initiating_time"),
        "apply_finish_time": vals.get("apply_finish_time"),
        "process_id": record.process_id,
    }
    return {
        "offboarding_id": record.offboarding_id,
        "status": record.status,
        "initiating_type": record.initiating_type,
        "application_info": {k: v for k, v in application.items() if v is not None},
        "offboarding_info": {k: v for k, v in info.items() if v is not None},
        "offboarding_checklist": {k: getattr(record, k) for k in CHECKLIST_KEYS if getattr(record, k) is not None},
    }
