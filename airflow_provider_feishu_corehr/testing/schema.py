"""The offboarding field schema: field api names, their types, enum options and editability.

Field types: ``text`` (single line, 255), ``long_text`` (multi-line, 6000), ``hyperlink``, ``bool``, ``number``,
``enum``, ``multi_enum``, ``date`` (``YYYY-MM-DD``), ``datetime`` (``YYYY-MM-DD HH:mm:ss``), ``month``
(``YYYY-MM``, read-only system fields), ``attachment`` (never editable through the API: 1160637) and ``person``
(an employment id). Declarations may also use the custom-field type names of the search page: ``time``
(= ``datetime``) and ``lookup`` (= ``person``).

Names ending in ``__c`` are custom fields (reported under ``custom_fields`` by search); tenants declare their
own with :func:`check_custom_fields` (CLI ``--custom-field`` / ``--custom-fields FILE``, or a seed's
``schema``). The editable system names are an inference (the edit page names none; its example ``name`` is a
placeholder; ``docs/decisions.md``). The documented not-editable names (:data:`~.api_pages.NOT_EDITABLE`) answer
1160623; the four of them that search shows (:data:`SEARCH_READ_ONLY`) are in the schema as read-only fields so
seeds can give them values. A name the schema does not know answers 1160102 (see ``docs/emulator.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_feishu_corehr.testing.api_pages import NOT_EDITABLE
from airflow_provider_feishu_corehr.testing.errors import SeedError

TYPES = (
    "text",
    "long_text",
    "hyperlink",
    "bool",
    "number",
    "enum",
    "multi_enum",
    "date",
    "datetime",
    "attachment",
    "person",
    "month",
)
ALIASES = {"time": "datetime", "lookup": "person"}
# Not-editable names that search reports under offboarding_info: allowed in the schema, read-only.
SEARCH_READ_ONLY = frozenset(
    {"noncompete_agreement_id", "social_insurance_end_date", "provident_fund_end_date", "sign_type"}
)
DEFAULT_MAX_LENGTH = {"text": 255, "long_text": 6000, "hyperlink": 255}
# Search ``custom_fields[].type`` numbers (1 text, 2 bool, 3 number, 4 enum, 5 lookup, 8 time, 9 attachment).
CUSTOM_TYPE_NUMBERS = {
    "text": 1,
    "long_text": 1,
    "hyperlink": 1,
    "bool": 2,
    "number": 3,
    "enum": 4,
    "multi_enum": 4,
    "person": 5,
    "date": 8,
    "datetime": 8,
    "attachment": 9,
    "month": 8,
}
_REASONS = [
    "reason_personal",
    "reason_career_development",
    "reason_compensation",
    "reason_family",
    "reason_health",
    "reason_relocation",
    "reason_dismissal",
    "reason_contract_expired",
]

DEFAULT_SCHEMA: dict[str, dict[str, Any]] = {
    "offboarding_date": {"type": "date", "label": "Offboarding date"},
    "expected_offboarding_date": {"type": "date", "label": "Expected offboarding date"},
    "last_attendance_date": {"type": "date", "label": "Last attendance date"},
    "apply_initiating_time": {"type": "datetime", "label": "Application time"},
    "apply_finish_time": {"type": "datetime", "label": "Approval time"},
    "reason": {"type": "enum", "options": _REASONS, "label": "Offboarding reason"},
    "employee_reason": {"type": "enum", "options": _REASONS, "label": "Offboarding reason (employee)"},
    "reason_explanation": {"type": "long_text", "label": "Reason explanation"},
    "employee_reason_explanation": {"type": "long_text", "label": "Reason explanation (employee)"},
    "add_block_list": {"type": "bool", "label": "Add to block list"},
    "block_reason": {
        "type": "enum",
        "options": ["block_reason_misconduct", "block_reason_fraud", "block_reason_other"],
        "label": "Block reason",
    },
    "block_reason_explanation": {"type": "long_text", "label": "Block reason explanation"},
    "retain_account": {"type": "bool", "label": "Retain account"},
    "is_transfer_with_workforce": {"type": "bool", "label": "Transfer with workforce"},
    "enforce_noncompete_agreement": {"type": "bool", "label": "Enforce non-compete agreement"},
    "noncompete_agreement_company": {"type": "text", "label": "Non-compete company"},
    "noncompete_agreement_start_date": {"type": "date", "label": "Non-compete start date"},
    "noncompete_agreement_end_date": {"type": "date", "label": "Non-compete end date"},
    "handover_note__c": {"type": "text", "label": "Handover note"},
    "exit_interview_summary__c": {"type": "long_text", "label": "Exit interview summary"},
    "exit_interview_done__c": {"type": "bool", "label": "Exit interview done"},
    "severance_months__c": {"type": "number", "label": "Severance (months)"},
    "exit_channel__c": {
        "type": "enum",
        "options": ["channel_hr", "channel_manager", "channel_self"],
        "label": "Exit channel",
    },
    "exit_tags__c": {
        "type": "multi_enum",
        "options": ["tag_rehire_ok", "tag_alumni", "tag_knowledge_transfer"],
        "label": "Exit tags",
    },
    "exit_interview_time__c": {"type": "datetime", "label": "Exit interview time"},
    "badge_return_date__c": {"type": "date", "label": "Badge return date"},
    "handover_contact__c": {"type": "person", "label": "Handover contact"},
    "asset_return_form__c": {"type": "hyperlink", "label": "Asset return form"},
    "resignation_letter__c": {"type": "attachment", "label": "Resignation letter"},
    "noncompete_agreement_id": {"type": "text", "editable": False, "label": "Non-compete agreement id"},
    "social_insurance_end_date": {"type": "month", "editable": False, "label": "Social insurance end month"},
    "provident_fund_end_date": {"type": "month", "editable": False, "label": "Housing fund end month"},
    "sign_type": {
        "type": "enum",
        "options": ["sign_type_electronic", "sign_type_paper"],
        "editable": False,
        "label": "Signing type",
    },
    "signature_file": {"type": "attachment", "label": "Signature file"},
}


@dataclass(frozen=True)
class FieldSpec:
    """One field of the offboarding object."""

    name: str
    type: str
    options: tuple[str, ...] = ()
    editable: bool = True
    max_length: int | None = None
    label: str | None = None

    @property
    def custom(self) -> bool:
        return self.name.endswith("__c")


def parse_field(name: str, raw: Any) -> FieldSpec:
    where = f"schema field {name!r}"
    if not isinstance(raw, Mapping):
        raise SeedError(f"{where} must be an object like {{'type': 'text'}}, got {type(raw).__name__}")
    unknown = sorted(set(raw) - {"type", "options", "editable", "max_length", "label"})
    if unknown:
        raise SeedError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: type, options, editable, ...")
    kind = raw.get("type")
    kind = ALIASES.get(kind, kind) if isinstance(kind, str) else kind
    if kind not in TYPES:
        raise SeedError(f"{where}: type {kind!r} is unknown; use one of {', '.join((*TYPES, *ALIASES))}")
    options = raw.get("options", [])
    if kind in ("enum", "multi_enum"):
        if not isinstance(options, list) or not options or not all(isinstance(o, str) and o for o in options):
            raise SeedError(f"{where}: a {kind} field needs 'options', a non-empty list of option api names")
    elif "options" in raw:
        raise SeedError(f"{where}: 'options' only applies to enum and multi_enum fields")
    editable = raw.get("editable", True)
    if not isinstance(editable, bool):
        raise SeedError(f"{where}: 'editable' must be true or false")
    max_length = raw.get("max_length", DEFAULT_MAX_LENGTH.get(kind))
    if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1):
        raise SeedError(f"{where}: 'max_length' must be a whole number >= 1")
    label = raw.get("label")
    if label is not None and not isinstance(label, str):
        raise SeedError(f"{where}: 'label' must be a string")
    if name in NOT_EDITABLE and (editable or name not in SEARCH_READ_ONLY):
        raise SeedError(f"{where}: {name!r} is a documented not-editable system field and cannot be in the schema")
    return FieldSpec(name, kind, tuple(options), editable, max_length, label)


def build_schema(extra: Any = None) -> dict[str, FieldSpec]:
    """The default schema, with the fields of ``extra`` (a seed's ``schema``) added or replaced."""
    if extra is not None and not isinstance(extra, Mapping):
        raise SeedError(f"seed 'schema' must be an object of field name -> field spec, got {type(extra).__name__}")
    merged = {**DEFAULT_SCHEMA, **(extra or {})}
    for name in merged:
        if not isinstance(name, str) or not name:
            raise SeedError(f"schema field names must be non-empty strings, got {name!r}")
    return {name: parse_field(name, raw) for name, raw in merged.items()}


def check_custom_fields(fields: Any) -> dict[str, Any] | None:
    """Tenant custom fields, name -> spec (``{"type": ..., "options": [...]}`` or just the type name), checked;
    returns them as schema entries. Names must end in ``__c`` (Feishu's custom api names do)."""
    if fields is None:
        return None
    if not isinstance(fields, Mapping):
        raise SeedError(f"custom_fields must be an object of field name -> spec, got {type(fields).__name__}")
    declared: dict[str, Any] = {}
    for name, spec in fields.items():
        if not isinstance(name, str) or not name.endswith("__c") or len(name) <= 3:
            raise SeedError(f"custom field {name!r}: a custom field api name ends in '__c', e.g. 'badge_id__c'")
        raw = {"type": spec} if isinstance(spec, str) else spec
        parse_field(name, raw)
        declared[name] = raw
    return declared
