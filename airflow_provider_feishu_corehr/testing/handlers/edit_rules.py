"""The edit endpoint's checks on a record and its update, in the order the emulator applies them.

1. record state: ``no_edit_permission`` 1160610, ``employee_missing`` or status ``Offboarded`` 1160631 (the
   page's "employee is not exist or has offboarded": an offboarding that took effect is no longer editable),
   pending modification / withdrawal approval 1161001 / 1161002, status not editable 1160623 (editable:
   ``Approved``, ``NoNeedApproval``: the page says the approval must have passed);
2. each field: documented not-editable name or schema ``editable: false`` 1160623; a name the schema does not
   know 1160102 (``update_data`` is illegal; the page's own example ``name`` gets it); then the value check of
   its type (see :mod:`..values`);
3. field groups, when the update touches them: block list 1160710 (``add_block_list`` true needs a
   ``block_reason``; block fields need ``add_block_list`` true), non-compete 1160700 (enforcing needs a start and
   end date; start not after end);
4. employment: ``has_approving_transform`` 1160200, ``company_missing`` 1160304, ``contract_issue`` 1160203 /
   1160204 / 1160205, ``department_disabled`` 1160300;
5. when ``offboarding_date`` changes: before onboarding 1160601, probation 1160602, contract start 1160607,
   last transform 1160603; after contract end 1160608.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_feishu_corehr.testing.api_pages import NOT_EDITABLE
from airflow_provider_feishu_corehr.testing.records import CONTRACT_ISSUES, Record
from airflow_provider_feishu_corehr.testing.values import check_value

if TYPE_CHECKING:
    from collections.abc import Collection

    from airflow_provider_feishu_corehr.testing.schema import FieldSpec

EDITABLE_STATUSES = frozenset({"Approved", "NoNeedApproval"})
OFFBOARDED = 1160631  # "employee is not exist or has offboarded"
NOT_ALLOWED = 1160623
UNKNOWN_FIELD = 1160102  # "parameter is illegal: check offboarding_id and update_data" (see docs/emulator.md)
_BLOCK = ("add_block_list", "block_reason", "block_reason_explanation")
_NONCOMPETE = (
    "enforce_noncompete_agreement",
    "noncompete_agreement_company",
    "noncompete_agreement_start_date",
    "noncompete_agreement_end_date",
)


def record_state(record: Record) -> int | None:
    if record.no_edit_permission:
        return 1160610
    if record.employee_missing or record.status == "Offboarded":
        return OFFBOARDED
    if record.pending_approval == "modification":
        return 1161001
    if record.pending_approval == "withdrawal":
        return 1161002
    return None if record.status in EDITABLE_STATUSES else NOT_ALLOWED


def field_values(updates: dict[str, str], schema: dict[str, FieldSpec], people: Collection[str]) -> int | None:
    for name, value in updates.items():
        spec = schema.get(name)
        if name in NOT_EDITABLE or (spec is not None and not spec.editable):
            return NOT_ALLOWED
        if spec is None:
            return UNKNOWN_FIELD
        code = check_value(spec, value, people)
        if code is not None:
            return code
    return None


def field_groups(record: Record, updates: dict[str, str]) -> int | None:
    merged = {**record.values, **updates}
    if any(name in updates for name in _BLOCK):
        blocked = merged.get("add_block_list") == "true"
        if blocked and not merged.get("block_reason"):
            return 1160710
        if not blocked and any(updates.get(name) for name in _BLOCK[1:]):
            return 1160710
    if any(name in updates for name in _NONCOMPETE):
        start = merged.get("noncompete_agreement_start_date")
        end = merged.get("noncompete_agreement_end_date")
        if start and end and start > end:
            return 1160700
        if merged.get("enforce_noncompete_agreement") == "true" and not (start and end):
            return 1160700
    return None


def employment(record: Record, updates: dict[str, str]) -> int | None:
    if record.has_approving_transform:
        return 1160200
    if record.company_missing:
        return 1160304
    if record.contract_issue is not None:
        return CONTRACT_ISSUES[record.contract_issue]
    if record.department_disabled:
        return 1160300
    new_date = updates.get("offboarding_date")
    if not new_date:
        return None
    earlier_than = (
        (record.onboarding_date, 1160601),
        (record.probation_start_date, 1160602),
        (record.contract_start_date, 1160607),
        (record.last_transform_date, 1160603),
    )
    for boundary, code in earlier_than:
        if boundary and new_date < boundary:
            return code
    if record.contract_end_date and new_date > record.contract_end_date:
        return 1160608
    return None


def check(record: Record, updates: dict[str, str], schema: dict[str, FieldSpec], people: Collection[str]) -> int | None:
    """The first edit code that applies, or None when the edit is accepted."""
    return (
        record_state(record)
        or field_values(updates, schema, people)
        or field_groups(record, updates)
        or employment(record, updates)
    )
