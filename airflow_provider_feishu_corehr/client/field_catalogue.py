"""The offboarding fields Feishu documents: api name, type, label and whether the edit endpoint takes them.

Sources (``docs/api-facts.md``, "Offboarding fields"): the search page's ``offboarding_info`` and
``application_info`` objects give the names and types of the fields an offboarding holds; the edit page gives the
value form of each type, its list of fields that can never be edited, and that attachments cannot be edited
(1160637). The edit page names no editable system field one by one; every field of the search page that is not on
its not-editable list and is not an attachment is taken as editable (the choice is in ``docs/decisions.md``).
Custom fields are the tenant's own: their api names end in ``__c`` and their type is not known here.

This module is a table, with the lookups :mod:`.fields` checks ``update_data`` with; it imports nothing.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import StrEnum

CUSTOM_SUFFIX = "__c"


class FieldType(StrEnum):
    """The edit page's value forms (every value is sent as a string)."""

    TEXT = "text"  # single-line text, as is
    LONG_TEXT = "long_text"  # multi-line text, as is
    DATE = "date"  # YYYY-MM-DD
    DATETIME = "datetime"  # YYYY-MM-DD HH:mm:ss
    MONTH = "month"  # YYYY-MM (the two read-only end months of the search page)
    BOOLEAN = "boolean"  # "true" / "false"
    NUMBER = "number"  # decimal text
    ENUM = "enum"  # one option api name
    MULTI_OPTION = "multi_option"  # a JSON array text of option api names
    PERSON = "person"  # an employment id
    ATTACHMENT = "attachment"  # a file: never editable through the API (1160637)


@dataclass(frozen=True)
class DocumentedField:
    """One field of the offboarding object as the pages document it.

    :param name: the api name (``update_data[].field_name``).
    :param type: its value form; ``None`` for names the edit page lists as not editable without a type.
    :param label: a short English label for people (the search page's description).
    :param editable: whether the edit endpoint takes it.
    :param why_not: for a field that is not editable, the rule (shown in the refusal).
    """

    name: str
    type: FieldType | None
    label: str
    editable: bool = True
    why_not: str = ""


_NOT_EDITABLE_RULE = "the edit page lists it as a field that can never be edited, Feishu error 1160623"
_ATTACHMENT_RULE = "an attachment; the edit endpoint edits no attachments, Feishu error 1160637"

_T = FieldType
# The search page's offboarding_info (and application_info times), in the page's order.
_SEARCH_FIELDS: tuple[DocumentedField, ...] = (
    DocumentedField("expected_offboarding_date", _T.DATE, "Expected offboarding date"),
    DocumentedField("offboarding_date", _T.DATE, "Offboarding date"),
    DocumentedField("reason", _T.ENUM, "Offboarding reason"),
    DocumentedField("reason_explanation", _T.LONG_TEXT, "Reason explanation"),
    DocumentedField("employee_reason", _T.ENUM, "Offboarding reason (employee)"),
    DocumentedField("employee_reason_explanation", _T.LONG_TEXT, "Reason explanation (employee)"),
    DocumentedField("add_block_list", _T.BOOLEAN, "Add to block list"),
    DocumentedField("block_reason", _T.ENUM, "Block reason"),
    DocumentedField("block_reason_explanation", _T.LONG_TEXT, "Block reason explanation"),
    DocumentedField("retain_account", _T.BOOLEAN, "Retain account"),
    DocumentedField("social_insurance_end_date", _T.MONTH, "Social insurance end month", False, _NOT_EDITABLE_RULE),
    DocumentedField("provident_fund_end_date", _T.MONTH, "Housing fund end month", False, _NOT_EDITABLE_RULE),
    DocumentedField("enforce_noncompete_agreement", _T.BOOLEAN, "Enforce non-compete agreement"),
    DocumentedField("noncompete_agreement_id", _T.TEXT, "Non-compete agreement id", False, _NOT_EDITABLE_RULE),
    DocumentedField("noncompete_agreement_company", _T.TEXT, "Non-compete company"),
    DocumentedField("noncompete_agreement_start_date", _T.DATE, "Non-compete start date"),
    DocumentedField("noncompete_agreement_end_date", _T.DATE, "Non-compete end date"),
    DocumentedField("sign_type", _T.ENUM, "Signing type", False, _NOT_EDITABLE_RULE),
    DocumentedField("signature_file", _T.ATTACHMENT, "Signature file", False, _ATTACHMENT_RULE),
    DocumentedField("last_attendance_date", _T.DATE, "Last attendance date"),
    DocumentedField("is_transfer_with_workforce", _T.BOOLEAN, "Transfer with workforce"),
    DocumentedField("apply_initiating_time", _T.DATETIME, "Application time"),
    DocumentedField("apply_finish_time", _T.DATETIME, "Approval time"),
)

# The edit page's list of fields that can never be edited (1160623); four of them are search fields above.
NON_EDITABLE: frozenset[str] = frozenset(
    (  # noqa: SIM905 - one line per few names reads better than one per line
        "wk_id wk_tenant_id employment process_id flow_id node_id initiator_id status checklist_status "
        "checklist_process_id type hrbp_ids hrbp_list probation_id wk_created_at wk_created_by wk_updated_at "
        "wk_updated_by wk_deleted_at wk_is_deleted noncompete_agreement_id social_insurance_end_date "
        "provident_fund_end_date sign_type"
    ).split()
)

FIELDS: dict[str, DocumentedField] = {
    **{name: DocumentedField(name, None, name, False, _NOT_EDITABLE_RULE) for name in sorted(NON_EDITABLE)},
    **{f.name: f for f in _SEARCH_FIELDS},
}
EDITABLE: frozenset[str] = frozenset(name for name, f in FIELDS.items() if f.editable)


def documented(name: str) -> DocumentedField | None:
    """The documented field ``name`` (exact api name), ``None`` when the pages do not name it.

    :param name: an api name.
    """
    return FIELDS.get(name)


def is_custom(name: str) -> bool:
    """Whether ``name`` is a custom field's api name (``something__c``).

    :param name: an api name.
    """
    return name.endswith(CUSTOM_SUFFIX) and len(name) > len(CUSTOM_SUFFIX)


def suggestion(name: str) -> str | None:
    """The api name ``name`` was probably meant to be: the closest editable documented field, or the custom form of
    a name that ends almost like a custom one (``note_c``, ``note__C``); ``None`` when nothing is close.

    :param name: an api name that is neither documented nor custom.
    """
    lowered = name.lower()
    close = difflib.get_close_matches(lowered, sorted(EDITABLE), n=1, cutoff=0.8)
    if close:
        return close[0]
    for ending in ("__c", "_c"):
        if lowered.endswith(ending) and len(name) > len(ending):
            return name[: -len(ending)] + CUSTOM_SUFFIX
    return None
