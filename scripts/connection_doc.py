"""Write (or check) the table of the ``feishu`` connection's fields in ``docs/connection.md`` from its one
description, ``airflow_provider_feishu_corehr/hooks/connection_fields.py``.

Usage: ``python scripts/connection_doc.py`` rewrites the table between the markers in docs/connection.md;
``python scripts/connection_doc.py --check`` exits 1 when the page differs (``tests/hooks`` runs the check).
"""

from __future__ import annotations

import sys
from pathlib import Path

from airflow_provider_feishu_corehr.hooks.connection_fields import EXTRAS, STANDARD_FIELDS

PAGE = Path(__file__).resolve().parent.parent / "docs" / "connection.md"
BEGIN = (
    "<!-- connection fields: generated from airflow_provider_feishu_corehr/hooks/connection_fields.py "
    "by scripts/connection_doc.py; edit that module, then run the script -->"
)
END = "<!-- end of connection fields -->"


def table() -> str:
    """The Markdown table: the standard fields the connection uses, then every extra."""
    rows = ["| UI field | connection attribute | meaning |", "|---|---|---|"]
    rows += [f"| {field.label} | `{field.attribute}` | {field.help} |" for field in STANDARD_FIELDS]
    for extra in EXTRAS:
        rows.append(f"| {extra.label or '– (JSON or URI only)'} | extra `{extra.name}` | {extra.description()} |")
    return "\n".join(rows)


def rendered(text: str) -> str:
    """``text`` (the page) with the generated table between the markers.

    :param text: the page's text.
    """
    head, begin, rest = text.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise SystemExit(f"{PAGE.name}: the markers {BEGIN!r} and {END!r} are missing")
    return f"{head}{BEGIN}\n{table()}\n\n{END}{tail}"


def main(argv: list[str]) -> int:
    """Rewrite the table, or with ``--check`` report whether it is out of date.

    :param argv: the command-line arguments (``--check`` or none).
    """
    text = PAGE.read_text(encoding="utf-8")
    want = rendered(text)
    if "--check" in argv:
        if want != text:
            print(f"{PAGE.name}: the connection table is out of date; run python scripts/connection_doc.py")
            return 1
        return 0
    PAGE.write_text(want, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
