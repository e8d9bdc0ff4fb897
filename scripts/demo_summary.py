"""Helpers of scripts/demo.sh: talk to the emulator's control API and print the demo's summary.

Standard library only (it runs next to Airflow but does not import it)::

    demo_summary.py snapshot <base_url> <file>                      save GET /_emulator/state to <file>
    demo_summary.py report --before F --after F --db airflow.db [--wait F] DAG_ID...

``report`` compares the two snapshots (status and every field of every offboarding; a status the emulator's
clock changed is marked so), prints the wait (``--wait``: the file ``demo_wait.py`` wrote) and, per DAG run,
each task's XCom ``return_value`` as stored in the SQLite metadata database.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

from demo_wait import call  # the same directory: scripts/ is on sys.path when a script in it runs

WIDTH = 110


def flatten(item: dict[str, Any]) -> dict[str, Any]:
    """One search item as ``{field: value}``: status, offboarding_info fields, custom fields by api name."""
    flat: dict[str, Any] = {"status": item.get("status")}
    info = dict(item.get("offboarding_info") or {})
    for custom in info.pop("custom_fields", None) or []:
        value = custom.get("value")
        with contextlib.suppress(json.JSONDecodeError):
            value = json.loads(value) if isinstance(value, str) else value
        flat[custom["custom_api_name"]] = value
    for key, value in info.items():
        flat[key] = value.get("enum_name") if isinstance(value, dict) and "enum_name" in value else value
    checklist = item.get("offboarding_checklist") or {}
    flat["checklist_status"] = checklist.get("checklist_status")
    return flat


def _short(value: Any, limit: int = 60) -> str:
    if value is None or value == "":
        return "(empty)"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def print_changes(before: dict[str, Any], after: dict[str, Any], notes: dict[str, str]) -> None:
    for move in after.get("transitions", []):
        if move["cause"] == "clock" and move["offboarding_id"] not in notes:
            notes[move["offboarding_id"]] = f"{move['to']} by the emulator clock at tenant time {move['tenant_time']}"
    old = {item["offboarding_id"]: flatten(item) for item in before["offboardings"]}
    new = {item["offboarding_id"]: flatten(item) for item in after["offboardings"]}
    print("Offboardings changed in the emulator (GET /_emulator/state before and after the runs)")
    print("-" * WIDTH)
    changed = edited = revoked = 0
    for offboarding_id, fields in new.items():
        previous = old.get(offboarding_id, {})
        diff = {k: (previous.get(k), v) for k, v in fields.items() if previous.get(k) != v}
        if not diff:
            continue
        changed += 1
        edited += any(k not in ("status", "checklist_status") for k in diff)
        revoked += fields.get("status") == "Withdrawn" and offboarding_id not in notes
        was, now = previous.get("status"), fields.get("status")
        status = f"{was} -> {now}" if was != now else f"{now} (unchanged)"
        note = f"  [{notes[offboarding_id]}]" if offboarding_id in notes else ""
        print(f"offboarding {offboarding_id}  employment {fields.get('employment_id')}  status {status}{note}")
        for name, (old_value, new_value) in diff.items():
            if name not in ("status", "checklist_status"):
                print(f"    {name:<24} {_short(old_value, 36):<38} -> {_short(new_value, 44)}")
    unchanged = len(new) - changed
    print(f"{edited} offboarding(s) edited, {revoked} revoked, {changed} changed in all, {unchanged} unchanged")
    print(f"requests the emulator served, per endpoint: {after.get('requests')}")


def print_wait(wait: dict[str, Any], after: dict[str, Any], db: Path) -> None:
    """The waiting DAG's real wait: the sensor's run time, its searches, and the clock's move of the record."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        row = conn.execute(
            "SELECT (julianday(end_date) - julianday(start_date)) * 86400, state FROM task_instance "
            "WHERE task_id = 'wait_until_offboarded' ORDER BY start_date DESC LIMIT 1"
        ).fetchone()
    seconds, state = (row[0] or 0.0, row[1]) if row else (0.0, "not run")
    searched = int(after.get("requests", {}).get("search", 0)) - int(wait["searches_before"])
    move = wait.get("transition") or {}
    print("Waiting for the emulator's clock (example_feishu_wait_until_offboarded)")
    print("-" * WIDTH)
    print(
        f"offboarding {wait['offboarding_id']} ({wait['status_before']}, offboarding date {wait['offboarding_date']}): "
        f"the emulator clock was stopped at {wait['clock_stopped_at']} ({wait['timezone']})"
    )
    print(
        f"the sensor saw {wait.get('status_seen')}; then the clock ran {wait.get('speed')}x real time and moved the "
        f"record {move.get('from')} -> {move.get('to')} at tenant time {move.get('tenant_time')} "
        f"({wait.get('real_seconds')} s later; cause: {move.get('cause')}, no control call set the status)"
    )
    print(f"wait_until_offboarded: {state} after {seconds:.1f} s of real time, {searched} search(es) of Feishu")


def describe_xcom(value: Any) -> list[str]:
    """Readable lines for the XCom shapes of this provider's operators and sensor; compact JSON otherwise."""
    if isinstance(value, dict) and "records" in value and "counts" in value:
        counts = ", ".join(f"{name} {count}" for name, count in value["counts"].items())
        lines = [f"{value['total']} record(s): {counts}"]
        lines += [f"  #{r['index']} " + describe_xcom(r)[0] for r in value["records"]]
        return lines
    if isinstance(value, dict) and "outcome" in value:
        text = f"offboarding {value['offboarding_id']}: {value['outcome']}"
        if value.get("field_names"):
            text += f" ({', '.join(value['field_names'])})"
        if value.get("error"):
            error = value["error"]
            text += f"; code {error.get('code')}: {error.get('message')}"
        return [f"{text}; log id {value.get('log_id')}"]
    if isinstance(value, dict) and "status" in value and "offboarding_id" in value:
        return [
            f"offboarding {value['offboarding_id']} of employment {value.get('employment_id')}: "
            f"{value['status']}, offboarding date {value.get('offboarding_date')}"
        ]
    if isinstance(value, dict) and {"total", "counts", "failed"} <= set(value):
        counts = ", ".join(f"{name} {count}" for name, count in value["counts"].items())
        lines = [f"{value['total']} record(s): {counts}; failed: {len(value['failed']) or 'none'}"]
        lines += [f"  failed {json.dumps(failed, ensure_ascii=False)}" for failed in value["failed"]]
        return lines
    if isinstance(value, list) and value and all(isinstance(v, dict) and "update_data" in v for v in value):
        lines = [f"{len(value)} correction(s)"]
        return lines + [f"  offboarding {v['offboarding_id']}: {', '.join(v['update_data'])}" for v in value]
    if isinstance(value, dict) and len(value) <= 6:
        return [f"{key}: {_short(item, 70)}" for key, item in value.items()]
    text = json.dumps(value, ensure_ascii=False)
    return [text if len(text) <= WIDTH - 40 else text[: WIDTH - 43] + "..."]


def print_xcoms(db: Path, dag_ids: list[str]) -> int:
    """Print the return_value XComs of the latest run of each DAG; return how many runs were not successful."""
    not_ok = 0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        for dag_id in dag_ids:
            run = conn.execute(
                "SELECT id, run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (dag_id,)
            ).fetchone()
            print()
            if run is None:
                print(f"{dag_id}: no run found")
                not_ok += 1
                continue
            run_pk, run_id, state = run
            not_ok += state != "success"
            print(f"{dag_id}  (run {run_id}: {state})")
            print("-" * WIDTH)
            tis = conn.execute(
                "SELECT task_id, map_index, state FROM task_instance WHERE dag_id = ? AND run_id = ? "
                "ORDER BY start_date, map_index",
                (dag_id, run_id),
            ).fetchall()
            xcoms = {
                (task_id, map_index): json.loads(value) if isinstance(value, str | bytes) else value
                for task_id, map_index, value in conn.execute(
                    "SELECT task_id, map_index, value FROM xcom WHERE dag_run_id = ? AND key = 'return_value'",
                    (run_pk,),
                )
            }
            for task_id, map_index, ti_state in sorted(tis, key=lambda t: (_order(tis, t[0]), t[1])):
                label = task_id if map_index < 0 else f"{task_id}[{map_index}]"
                key = (task_id, map_index)
                lines = describe_xcom(xcoms[key]) if key in xcoms else ["(no XCom)"]
                print(f"  {label:<28} {ti_state:<8} {lines[0]}")
                for line in lines[1:]:
                    print(f"  {'':<28} {'':<8} {line}")
    return not_ok


def _order(tis: list[tuple[str, int, str]], task_id: str) -> int:
    """Position of a task's first instance in start order (keeps mapped instances together)."""
    return next(i for i, ti in enumerate(tis) if ti[0] == task_id)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="demo_summary.py")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("snapshot")
    p.add_argument("base_url")
    p.add_argument("file", type=Path)
    p = sub.add_parser("report")
    p.add_argument("--before", type=Path, required=True)
    p.add_argument("--after", type=Path, required=True)
    p.add_argument("--db", type=Path, required=True)
    p.add_argument("--note", action="append", default=[], metavar="ID=TEXT", help="annotate an offboarding")
    p.add_argument("--wait", type=Path, help="the file demo_wait.py wrote: print the wait")
    p.add_argument("dag_ids", nargs="+")
    args = parser.parse_args(argv)

    if args.command == "snapshot":
        args.file.write_text(json.dumps(call(f"{args.base_url}/_emulator/state")), encoding="utf-8")
    else:
        before = json.loads(args.before.read_text(encoding="utf-8"))
        after = json.loads(args.after.read_text(encoding="utf-8"))
        notes = dict(note.split("=", 1) for note in args.note)
        print_changes(before, after, notes)
        print()
        if args.wait:
            print_wait(json.loads(args.wait.read_text(encoding="utf-8")), after, args.db)
            print()
        print("XCom return_value of every task (latest run of each example DAG, from the SQLite metadata DB)")
        not_ok = print_xcoms(args.db, args.dag_ids)
        if not_ok:
            print(f"\n{not_ok} DAG run(s) did not succeed", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
