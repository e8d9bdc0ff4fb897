"""Current field values of offboardings, in the edit endpoint's wire form, read with the batched search.

:func:`current_offboarding` turns one search item (system fields in ``offboarding_info``, typed
``custom_fields[]``, ``application_info`` times) into :class:`Reading` values, so "current" and "desired" compare
as the same strings. A value that cannot be known has ``value`` ``None`` and a ``reason`` (``not_returned``,
``no_permission``, ``not_comparable``, ``no_employment_id``, ``not_found``) and is never equal to anything
(:func:`same` returns ``None``). Option display names and custom field names are kept for people (never
compared). The shapes and reasons are tabled in ``docs/plan-apply.md``. No Airflow import."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_feishu_corehr.client.lookup import employment_batches

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.client.models import OffboardingRecord

NOT_RETURNED = "not_returned"
NO_PERMISSION = "no_permission"
NOT_COMPARABLE = "not_comparable"
NO_EMPLOYMENT_ID = "no_employment_id"
NOT_FOUND = "not_found"

# Custom field type numbers of the search page: 1 text (hyperlink too), 2 bool, 3 number, 4 enum, 8 time.
# 5 (lookup, e.g. a person) and 9 (attachment) have no exact edit form.
_CUSTOM_KINDS = {1: "text", 2: "bool", 3: "number", 4: "enum", 8: "text"}
_NOT_FIELDS = frozenset({"employment_id", "hrbp_id", "custom_fields", "no_permission_fields", "employment"})
_APPLICATION_FIELDS = ("apply_initiating_time", "apply_finish_time")


@dataclass(frozen=True)
class Reading:
    """The current value of one field: ``value`` in wire form, or ``None`` with the ``reason`` it is unknown.

    :param value: the edit endpoint's string form of the current value.
    :param kind: how values of this field compare: ``text``, ``bool``, ``number``, ``enum`` or ``multi_enum``.
    :param reason: why the value is unknown (module docstring), ``None`` when it is known.
    :param display: an option's display name as the search gave it (``display[]``, :func:`display_name`), for
        people; never compared.
    """

    value: str | None
    kind: str = "text"
    reason: str | None = None
    display: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class CurrentOffboarding:
    """What one offboarding holds now: its status and its readable fields.

    :param offboarding_id: the offboarding.
    :param employment_id: its employment, as the search returned it.
    :param status: ``Approving``, ``Approved``, ``Offboarded``, ``Rejected``, ``Withdrawn`` or ``NoNeedApproval``.
    :param fields: field name -> reading, for every field the item carried.
    :param hidden: names listed in ``no_permission_fields``.
    :param labels: custom field api name -> the field's name as the search gave it (``custom_fields[].name``),
        for people.
    """

    offboarding_id: str
    employment_id: str | None
    status: str
    fields: Mapping[str, Reading] = field(default_factory=dict)
    hidden: frozenset[str] = frozenset()
    labels: Mapping[str, str] = field(default_factory=dict, compare=False)

    def read(self, field_name: str) -> Reading:
        """The reading of ``field_name``: ``no_permission`` if hidden, ``not_returned`` if absent.

        :param field_name: the edit endpoint's field name.
        """
        if field_name in self.hidden:
            return Reading(None, reason=NO_PERMISSION)
        return self.fields.get(field_name, Reading(None, reason=NOT_RETURNED))


def unknown(reason: str) -> Reading:
    """A reading whose value is unknown for ``reason``.

    :param reason: one of the reasons of the module docstring.
    """
    return Reading(None, reason=reason)


def _system(value: Any) -> Reading:
    if isinstance(value, bool):
        return Reading("true" if value else "false", "bool")
    if isinstance(value, int | float):
        return Reading(_number_text(value), "number")
    if isinstance(value, str):
        return Reading(value, "text")
    if isinstance(value, Mapping) and isinstance(value.get("enum_name"), str):
        return Reading(value["enum_name"], "enum", display=display_name(value.get("display")))
    return unknown(NOT_COMPARABLE)


DISPLAY_LANGUAGES = ("en-US", "zh-CN")
"""The languages :func:`display_name` prefers, in order; any other is taken when neither is given."""


def display_name(display: Any) -> str | None:
    """The display name of an option from the search's ``display`` list ``[{"lang", "value"}]``: English, else
    Chinese, else the first one given; ``None`` when there is none.

    :param display: the option object's ``display`` as decoded from JSON.
    """
    names = {
        entry.get("lang"): entry["value"]
        for entry in (display if isinstance(display, list) else ())
        if isinstance(entry, Mapping) and isinstance(entry.get("value"), str) and entry["value"].strip()
    }
    for lang in DISPLAY_LANGUAGES:
        if lang in names:
            return str(names[lang])
    return next(iter(names.values()), None)


def _number_text(value: int | float) -> str:
    return str(value) if isinstance(value, int) else format(Decimal(repr(value)), "f")


def _custom(entry: Mapping[str, Any]) -> Reading:
    number = entry.get("type")
    kind = _CUSTOM_KINDS.get(number) if isinstance(number, int) else None
    raw = entry.get("value")
    if raw is None:
        return unknown(NOT_RETURNED)
    if kind is None or not isinstance(raw, str):
        return unknown(NOT_COMPARABLE)
    try:
        decoded = json.loads(raw)
    except json.JSONDecodeError:
        return unknown(NOT_COMPARABLE)
    if decoded is None:
        return unknown(NOT_RETURNED)
    if kind == "enum" and isinstance(decoded, list):
        if all(isinstance(item, str) for item in decoded):
            return Reading(json.dumps(decoded, ensure_ascii=False, separators=(",", ":")), "multi_enum")
        return unknown(NOT_COMPARABLE)
    if kind == "bool" and isinstance(decoded, bool):
        return Reading("true" if decoded else "false", "bool")
    if kind == "number" and isinstance(decoded, int | float) and not isinstance(decoded, bool):
        return Reading(_number_text(decoded), "number")
    if kind == "enum" and isinstance(decoded, Mapping) and isinstance(decoded.get("enum_name"), str):
        return Reading(decoded["enum_name"], "enum", display=display_name(decoded.get("display")))
    if isinstance(decoded, str) and kind in ("text", "enum", "number", "bool"):
        return Reading(decoded, kind)
    return unknown(NOT_COMPARABLE)


def current_offboarding(item: Mapping[str, Any]) -> CurrentOffboarding:
    """Read one ``items[]`` entry of the search response into edit-form readings.

    :param item: the item as decoded from JSON.
    """
    info = item.get("offboarding_info")
    info = info if isinstance(info, Mapping) else {}
    application = item.get("application_info")
    application = application if isinstance(application, Mapping) else {}
    readings: dict[str, Reading] = {}
    for name, value in info.items():
        if name not in _NOT_FIELDS and value is not None:
            readings[name] = _system(value)
    for name in _APPLICATION_FIELDS:
        if isinstance(application.get(name), str):
            readings[name] = Reading(application[name], "text")
    customs = info.get("custom_fields")
    labels: dict[str, str] = {}
    for entry in customs if isinstance(customs, list) else []:
        if isinstance(entry, Mapping) and isinstance(entry.get("custom_api_name"), str):
            readings[entry["custom_api_name"]] = _custom(entry)
            label = _label(entry.get("name"))
            if label is not None:
                labels[entry["custom_api_name"]] = label
    hidden = info.get("no_permission_fields")
    employment = info.get("employment_id")
    return CurrentOffboarding(
        offboarding_id=str(item.get("offboarding_id") or ""),
        employment_id=employment if isinstance(employment, str) else None,
        status=str(item.get("status") or ""),
        fields=readings,
        hidden=frozenset(h for h in hidden if isinstance(h, str)) if isinstance(hidden, list) else frozenset(),
        labels=labels,
    )


def _label(name: Any) -> str | None:
    """A custom field's name for people: the text, or of ``{"zh_cn", "en_us"}`` the English, else the Chinese."""
    if isinstance(name, Mapping):
        name = next((name[k] for k in ("en_us", "zh_cn") if isinstance(name.get(k), str) and name[k].strip()), None)
    return name.strip() if isinstance(name, str) and name.strip() else None


def _decimal(text: str) -> Decimal | None:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def same(reading: Reading, desired: str) -> bool | None:
    """Whether the current value equals ``desired`` (wire form); ``None`` when the current value is unknown.

    Text, enums, booleans and times compare as exact strings; numbers by decimal value (``"2"`` equals
    ``"2.0"``); multi-enums as JSON lists in order (a different order counts as different, never as equal).

    :param reading: the current value.
    :param desired: the value a DAG wants, as :func:`..fields.to_wire_value` produced it.
    """
    if reading.value is None:
        return None
    if reading.kind == "number":
        current, wanted = _decimal(reading.value), _decimal(desired)
        return current is not None and wanted is not None and current == wanted
    if reading.kind == "multi_enum":
        try:
            return bool(json.loads(reading.value) == json.loads(desired))
        except json.JSONDecodeError:
            return False
    return reading.value == desired


class Searcher(Protocol):
    """What :func:`read_current` needs: the search of the sync client or the hook."""

    def search_offboardings(
        self, *, employment_ids: list[str], user_id_type: str | None
    ) -> Iterable[OffboardingRecord]:
        """Every offboarding of ``employment_ids`` (all pages)."""


def read_current(
    searcher: Searcher, employment_ids: Iterable[str], *, user_id_type: str | None = None
) -> dict[str, CurrentOffboarding]:
    """Every offboarding of the given employments, by offboarding id: one search per up to 100 distinct ids.

    The batches are :func:`..lookup.employment_batches` (the rule ``lookup_offboardings`` uses); every
    offboarding of an employment is kept, not only the latest, because a correction may be for an older one.

    :param searcher: a :class:`~.sync.FeishuClient` or a :class:`~..hooks.feishu.FeishuHook`.
    :param employment_ids: the employments to read (duplicates are read once).
    :param user_id_type: id type of the ids; ``None`` = the connection's default.
    """
    found: dict[str, CurrentOffboarding] = {}
    for batch in employment_batches(list(employment_ids)):
        for record in searcher.search_offboardings(employment_ids=batch, user_id_type=user_id_type):
            current = current_offboarding(record.raw)
            if current.offboarding_id:
                found[current.offboarding_id] = current
    return found
