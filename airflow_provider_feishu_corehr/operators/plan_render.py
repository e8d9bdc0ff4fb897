"""A plan (:mod:`.plan`) as Markdown for the person who approves it, in an HR reader's words.

Refused records come first, then what will be written, then what already holds its value. Fields are shown by
their label (the custom field names the search gave, else the documented labels of
:mod:`..client.field_catalogue`) with the api name after it; options by their display name with the api name after
it; an empty current value as "empty" and one that could not be read as "could not be read" with the reason. Under
privacy mode the values are hashes (``docs/privacy.md``): they are shown as "hidden" with a short code, so equal
values still look equal. The approval form stores this text in Airflow's metadata database, never in task logs.
"""

from __future__ import annotations

import re
from typing import Any

from airflow_provider_feishu_corehr.client.field_catalogue import documented
from airflow_provider_feishu_corehr.operators.changes import CHANGED, UNCHANGED, UNKNOWN
from airflow_provider_feishu_corehr.operators.plan import EDIT, NONE, REFUSED, REVOKE, SKIP

SHOWN_ROWS = 50
"""Rows listed per section; the rest are counted (the plan task's XCom has them all)."""
SHOWN_CHARS = 60
"""Characters of a value shown in a cell; longer values are cut with "…"."""
_HASH = re.compile(r"hmac-sha256:([0-9a-f]{64})")
_RECORD_PREFIX = re.compile(r"^record \d+( \(offboarding [^)]*\))?: ")
_ACTION_WORDS = {
    EDIT: "to edit",
    NONE: "already up to date",
    REVOKE: "to revoke",
    SKIP: "nothing to do",
    REFUSED: "refused",
}
_FIELD_WORDS = {  # in this order
    CHANGED: "to change",
    UNKNOWN: "empty or unreadable now (written as planned)",
    UNCHANGED: "already holding the planned value (not written)",
}
_UNREAD = {
    "no_permission": "the app may not read this field",
    "not_comparable": "a kind of value the plan cannot compare",
    "no_employment_id": "no employment id was given",
    "not_found": "the offboarding was not found",
}
_SKIP_WORDS = {
    "already_withdrawn": "already withdrawn",
    "rejected": "its approval was rejected: there is nothing to withdraw",
}


def render_plan(plan: dict[str, Any]) -> str:
    """Markdown for the approver: the counts, the refused records and why, then per section one table row per field
    to write (or record to revoke), then the fields that already hold their value.

    At most :data:`SHOWN_ROWS` rows per section; values cut to :data:`SHOWN_CHARS` characters.

    :param plan: a plan document (the XCom of a ``plan_only`` task).
    """
    kind = plan["plan"]
    hidden = plan.get("privacy") is True
    counts = ", ".join(f"{n} {_ACTION_WORDS.get(action, action)}" for action, n in plan["counts"].items())
    lines = [
        f"**{kind.capitalize()} plan for {_many(plan['total'], 'offboarding')}**: {counts}.",
        "",
        "Nothing is written before the plan is approved; refused offboardings are not written even then.",
    ]
    if hidden:
        lines += [
            "",
            "**Values are hidden (privacy mode).** Each value is shown as `hidden` with a short code instead: in "
            "the same field, the same code means the same value. Read the values themselves in the source of the "
            "corrections.",
        ]
    lines += _refused(plan["records"])
    if kind == EDIT:
        lines += _edit(plan, hidden)
    else:
        lines += _revoke(plan["records"])
    return "\n".join(lines)


def _many(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _cell(text: str) -> str:
    text = text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def _offboarding(record: dict[str, Any]) -> str:
    """The record as the approver finds it in Feishu: the offboarding id, and the employment id when known."""
    offboarding = record.get("offboarding_id") or "(no usable id)"
    employment = record.get("employment_id")
    return f"{offboarding} (employment {employment})" if employment else str(offboarding)


def _more(rows: int) -> list[str]:
    extra = rows - SHOWN_ROWS
    return ["", f"… and {extra} more: see the plan task's XCom."] if extra > 0 else []


def _refused(records: list[dict[str, Any]]) -> list[str]:
    refused = [r for r in records if r.get("action") == REFUSED]
    if not refused:
        return []
    lines = ["", f"### Refused: not written ({len(refused)})", ""]
    for record in refused[:SHOWN_ROWS]:
        error = record.get("error") or {}
        message = str(error.get("message") or "refused")
        reasons = [line.strip() for line in message.splitlines() if line.strip()]
        first = _RECORD_PREFIX.sub("", reasons[0])
        details = [r.removeprefix("- ") for r in reasons[1:]]
        if details and first.startswith("update_data has "):  # "update_data has N problems:" then one per line
            first = f"{len(details)} problems with the corrections:" if len(details) > 1 else details.pop(0)
        advice = f" {_sentence(error['advice'])}" if isinstance(error.get("advice"), str) and error["advice"] else ""
        first = _reason(first)
        if advice and not first.endswith((".", "?", ":")):
            first += "."
        lines.append(f"- **{_cell(_offboarding(record))}**: {first}{advice}")
        lines += [f"  - {_reason(d)}" for d in details]
    return lines + _more(len(refused))


def _sentence(text: str) -> str:
    text = _reason(text)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _reason(text: str) -> str:
    """A refusal as one Markdown line (no table or heading syntax breaks out of the list)."""
    return text.replace("\n", " ").replace("|", "\\|").strip()


def _field(name: str, labels: dict[str, Any]) -> str:
    label = labels.get(name)
    if not isinstance(label, str) or not label.strip():
        field = documented(name)
        label = field.label if field is not None and field.label != name else None
    return f"{label} ({name})" if label else name


def _value(value: Any, display: Any, hidden: bool, empty: str = "empty") -> str:
    if value is None:
        return "empty"
    text = str(value)
    code = _HASH.fullmatch(text)
    if code is not None or hidden:
        return f"hidden {code.group(1)[:8]}" if code is not None else "hidden"
    if text == "":
        return empty
    return f"{display} ({text})" if isinstance(display, str) and display and display != text else text


def _before(change: dict[str, Any], hidden: bool) -> str:
    if change.get("change") != UNKNOWN:
        return _value(change.get("before"), change.get("before_display"), hidden)
    reason = change.get("reason")
    if reason == "not_returned":
        return "empty"
    why = _UNREAD.get(str(reason))
    return f"could not be read ({why})" if why else "could not be read"


def _edit(plan: dict[str, Any], hidden: bool) -> list[str]:
    labels = plan.get("labels") if isinstance(plan.get("labels"), dict) else {}
    assert isinstance(labels, dict)
    fields = plan.get("fields") or {}
    lines = []
    if fields:
        shown = [*(s for s in _FIELD_WORDS if s in fields), *(s for s in fields if s not in _FIELD_WORDS)]
        lines += ["", "Fields: " + ", ".join(f"{fields[s]} {_FIELD_WORDS.get(s, s)}" for s in shown) + "."]
    writes = [r for r in plan["records"] if r.get("action") == EDIT]
    rows = [(r, c) for r in writes for c in r.get("changes") or () if c.get("change") != UNCHANGED]
    if rows:
        lines += [
            "",
            f"### To write ({_many(len(writes), 'offboarding')}, {_many(len(rows), 'field')})",
            "",
            "| offboarding | status | field | now | after approval |",
            "|---|---|---|---|---|",
        ]
        previous = None
        for record, change in rows[:SHOWN_ROWS]:
            first = record is not previous
            previous = record
            who = _cell(_offboarding(record)) if first else ""
            status = _cell(str(record.get("status") or "not read")) if first else ""
            after = _value(change.get("after"), change.get("after_display"), hidden, "empty (the value is cleared)")
            lines.append(
                f"| {who} | {status} | {_cell(_field(str(change.get('field_name')), labels))} | "
                f"{_cell(_before(change, hidden))} | {_cell(after)} |"
            )
        lines += _more(len(rows))
        if any(c.get("change") == UNKNOWN for _, c in rows):
            lines += [
                "",
                "*empty*: Feishu returned no value for the field (it is blank, or not shown to the app). A field "
                "that is empty or could not be read is written as planned.",
            ]
    held = [
        (r, c)
        for r in plan["records"]
        if r.get("action") in (EDIT, NONE)
        for c in r.get("changes") or ()
        if c.get("change") == UNCHANGED
    ]
    if held:
        lines += [
            "",
            f"### Already holding the planned value: not written ({_many(len(held), 'field')})",
            "",
            "| offboarding | field | value |",
            "|---|---|---|",
        ]
        previous = None
        for record, change in held[:SHOWN_ROWS]:
            who = _cell(_offboarding(record)) if record is not previous else ""
            previous = record
            value = _value(change.get("after"), change.get("after_display") or change.get("before_display"), hidden)
            lines.append(f"| {who} | {_cell(_field(str(change.get('field_name')), labels))} | {_cell(value)} |")
        lines += _more(len(held))
    return lines


def _revoke(records: list[dict[str, Any]]) -> list[str]:
    lines = []
    revokes = [r for r in records if r.get("action") == REVOKE]
    if revokes:
        lines += ["", f"### To revoke ({len(revokes)})", "", "| offboarding | status now |", "|---|---|"]
        for record in revokes[:SHOWN_ROWS]:
            lines.append(f"| {_cell(_offboarding(record))} | {_cell(str(record.get('status') or 'not read'))} |")
        lines += _more(len(revokes))
    skips = [r for r in records if r.get("action") == SKIP]
    if skips:
        lines += ["", f"### Not revoked: nothing to do ({len(skips)})", "", "| offboarding | status now | why |"]
        lines.append("|---|---|---|")
        for record in skips[:SHOWN_ROWS]:
            why = _SKIP_WORDS.get(str(record.get("reason")), str(record.get("reason") or ""))
            status = str(record.get("status") or "not read")
            lines.append(f"| {_cell(_offboarding(record))} | {_cell(status)} | {_cell(why)} |")
        lines += _more(len(skips))
    return lines
