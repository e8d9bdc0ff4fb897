"""CLI options of the tenant the emulator plays: clock, time zone, approval delay, processing time, custom fields."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.testing.errors import EmulatorError

if TYPE_CHECKING:
    import argparse


def add_tenant_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("tenant clock and data")
    group.add_argument(
        "--clock-start", help="tenant time the calendar starts at, 'YYYY-MM-DD HH:MM:SS' (default: seed, else now)"
    )
    group.add_argument(
        "--clock-speed", type=float, default=1.0, help="calendar seconds per real second (default 1; 0 = stopped)"
    )
    group.add_argument("--timezone", default="+08:00", help="tenant time zone: +08:00 (default), UTC-5, Asia/Tokyo")
    group.add_argument(
        "--approval-delay", type=float, help="calendar seconds after which Approving becomes Approved (default: never)"
    )
    group.add_argument(
        "--processing-time",
        type=float,
        default=0.0,
        help="real seconds a revoke/edit takes; overlapping revokes of one record answer 1160204 (default 0)",
    )
    group.add_argument(
        "--custom-field",
        action="append",
        default=[],
        metavar="NAME__c:TYPE[:OPT1,OPT2]",
        help="declare a tenant custom field: type text, long_text, number, bool, enum (with options), multi_enum, "
        "date, time, lookup/person, hyperlink, attachment (repeatable)",
    )
    group.add_argument("--custom-fields", metavar="FILE", help="JSON file: {name__c: {type, options?, label?}}")


def parse_custom_field(text: str) -> tuple[str, dict[str, Any]]:
    """``severance__c:number`` or ``channel__c:enum:hr,manager`` -> ``(name, spec)``."""
    name, sep, rest = text.partition(":")
    kind, _, options = rest.partition(":")
    if not sep or not name or not kind:
        raise EmulatorError(f"custom field {text!r} must look like NAME__c:TYPE or NAME__c:enum:OPT1,OPT2")
    spec: dict[str, Any] = {"type": kind}
    if options:
        spec["options"] = [option for option in options.split(",") if option]
    return name, spec


def read_custom_fields(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise EmulatorError(f"custom fields file {path!r} cannot be read: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise EmulatorError(f"custom fields file {path!r} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise EmulatorError(f"custom fields file {path!r} must hold a JSON object of field name -> spec")
    return data


def tenant_options(args: argparse.Namespace) -> dict[str, Any]:
    """FeishuEmulator keyword arguments from the parsed tenant options (raises EmulatorError on bad ones)."""
    fields: dict[str, Any] = read_custom_fields(args.custom_fields) if args.custom_fields else {}
    fields.update(parse_custom_field(text) for text in args.custom_field)
    return {
        "clock_start": args.clock_start,
        "clock_speed": args.clock_speed,
        "tenant_timezone": args.timezone,
        "approval_delay": args.approval_delay,
        "processing_time": args.processing_time,
        "custom_fields": fields or None,
    }
