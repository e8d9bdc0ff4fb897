"""Seed data: records, extra known employments and schema additions, from a dict, a JSON file or the default.

Format (JSON object): ``records`` (list, required; each the flat form described in :mod:`.records`),
``clock_start`` (tenant time ``YYYY-MM-DD HH:MM:SS`` the emulator's calendar starts at; default: the real time),
``employments`` (list of employment ids that exist but have no offboarding: operators, person-field targets),
``schema`` (field name -> ``{"type", "options", "editable", "max_length", "label"}``, added to the default
schema), ``description`` (free text, ignored).

The default seed (``default_seed.json``; app ``cli_emulator`` / ``emulator-secret`` comes from the emulator).
Offboarding ids are ``70956717276984786NN``, employment ids ``69825093134661893EE``; every record has
``apply_initiator_id`` 6893014062142064135 (an HR operator, valid ``operator_id``) and ``hrbp_ids``
[6893014062142064136] (also a valid person-field value); both are in ``employments``.

===================  ===================  ===============  ==================================================
offboarding_id       employment_id        status           scenario
===================  ===================  ===============  ==================================================
7095671727698478603  6982509313466189341  Withdrawn        older offboarding of the same employee as ...604
7095671727698478604  6982509313466189341  Approved         happy path: revocable, editable (latest of ...341)
7095671727698478605  6982509313466189342  Approving        revocable; edit 1160623
7095671727698478606  6982509313466189343  Offboarded       revocable; edit 1160631 (has offboarded)
7095671727698478607  6982509313466189344  Rejected         revoke 1160102; edit 1160623
7095671727698478608  6982509313466189345  Withdrawn        revoke 1160202; edit 1160623
7095671727698478609  6982509313466189346  NoNeedApproval   revocable, editable
7095671727698478610  6982509313466189347  Approved         department_disabled: revoke 1160203, edit 1160300
7095671727698478611  6982509313466189348  Approved         concurrent_revokes=1: revoke 1160204 once, then ok
7095671727698478612  6982509313466189349  Approved         modification approval: revoke 1160205, edit 1161001
7095671727698478613  6982509313466189350  Approved         withdrawal approval: revoke 1160206, edit 1161002
7095671727698478614  6982509313466189351  Approved         revoke_needs_approval: revoke ok, then pending
                                                           withdrawal (status stays until ``set_status``)
7095671727698478615  6982509313466189352  Approved         has_approving_transform: edit 1160200
7095671727698478616  6982509313466189353  Approved         no_current_contract: edit 1160203
7095671727698478617  6982509313466189354  Approved         future_contract: edit 1160204
7095671727698478618  6982509313466189355  Approved         actual_end_date (contract): edit 1160205
7095671727698478619  6982509313466189356  Approved         company_missing: edit 1160304
7095671727698478620  6982509313466189357  Approved         no_edit_permission: edit 1160610
7095671727698478621  6982509313466189358  Approved         employee_missing: edit 1160631
7095671727698478622  6982509313466189359  Approved         employment dates: offboarding_date 2024-02-01
                                                           1160601, 2024-03-15 1160602, 2024-06-01 1160607,
                                                           2025-05-01 1160603, 2027-06-30 1160608, 2026-12-31 ok
7095671727698478623  6982509313466189360  Approved         plain records for batch examples (...623 to ...627,
 ... 627             ... 364                               employments ...360 to ...364)
7095671727698478628  6982509313466189365  Offboarded       every documented search field has a value
===================  ===================  ===============  ==================================================

The calendar starts at 2026-06-01 09:00:00 (``clock_start``): before every pending offboarding date, so no
status moves until the clock is advanced, set or sped up; then ...604 (2026-06-30) is the first to become
``Offboarded``, ...609 (NoNeedApproval, 2026-10-31) the one the waiting example DAG watches.

Value errors need no special record: on any editable record (...604, ...606, ...609) a field of the wrong
type or value answers its code (see :mod:`.values`, :mod:`.handlers.edit_rules`); an unknown ``operator_id``
answers 1160624, an unknown offboarding id 1160625 (edit) / 1160201 (revoke).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from airflow_provider_feishu_corehr.testing.errors import SeedError
from airflow_provider_feishu_corehr.testing.records import Record, parse_record
from airflow_provider_feishu_corehr.testing.schema import FieldSpec, build_schema

DEFAULT_SEED_FILE = "default_seed.json"
SeedSource = Mapping[str, Any] | str | Path | None


def read_default_seed() -> dict[str, Any]:
    """The built-in seed shipped with the package (``testing/default_seed.json``)."""
    text = resources.files("airflow_provider_feishu_corehr.testing").joinpath(DEFAULT_SEED_FILE).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def read_seed_file(path: str | Path) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SeedError(f"seed file {str(path)!r} cannot be read: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SeedError(
            f"seed file {str(path)!r} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None


TOP_LEVEL = ("records", "employments", "schema", "clock_start", "description")


def read_seed(source: SeedSource) -> Mapping[str, Any]:
    """The seed as a JSON object (the default seed, a dict, or a file), checked for its top-level keys."""
    data = read_default_seed() if source is None else source
    if isinstance(data, str | Path):
        data = read_seed_file(data)
    if not isinstance(data, Mapping):
        raise SeedError(f"seed must be a JSON object with 'records', got {type(data).__name__}")
    unknown = sorted(set(data) - set(TOP_LEVEL))
    if unknown:
        raise SeedError(
            f"seed: unknown top-level key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(TOP_LEVEL)}"
        )
    start = data.get("clock_start")
    if start is not None and not isinstance(start, str):
        raise SeedError("seed: 'clock_start' must be a tenant time 'YYYY-MM-DD HH:MM:SS'")
    return data


def load_seed(
    source: SeedSource, *, now: str | None = None, custom_fields: Mapping[str, Any] | None = None
) -> tuple[dict[str, FieldSpec], list[Record], set[str]]:
    """Validate a seed; returns ``(schema, records, extra employments)`` or raises :class:`SeedError`.

    :param now: tenant time text used as the default ``apply_initiating_time`` (None: the real time).
    :param custom_fields: more schema fields (declared from the CLI or a file), added after the seed's own.
    """
    data = read_seed(source)
    records = data.get("records")
    if not isinstance(records, list):
        raise SeedError("seed: 'records' must be a list of offboarding records")
    people = data.get("employments", [])
    if not isinstance(people, list) or not all(isinstance(p, str) and p.strip() for p in people):
        raise SeedError("seed: 'employments' must be a list of employment id strings")
    extra = data.get("schema")
    if custom_fields:
        if extra is not None and not isinstance(extra, Mapping):
            raise SeedError(f"seed 'schema' must be an object of field name -> field spec, got {type(extra).__name__}")
        extra = {**(extra or {}), **custom_fields}
    schema = build_schema(extra)
    parsed = [parse_record(raw, schema, f"seed record #{index}", now=now) for index, raw in enumerate(records)]
    seen: set[str] = set()
    for record in parsed:
        if record.offboarding_id in seen:
            raise SeedError(f"seed: offboarding_id {record.offboarding_id!r} is used twice")
        seen.add(record.offboarding_id)
    return schema, parsed, set(people)
