"""The one description of the connection's fields (``hooks/connection_fields.py``) is what the parser enforces, what
docs/connection.md says and what the forms show."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.models import ClientSettings
from airflow_provider_feishu_corehr.get_provider_info import get_provider_info
from airflow_provider_feishu_corehr.hooks.connection import settings_from_connection
from airflow_provider_feishu_corehr.hooks.connection_fields import EXTRAS, Extra, Kind

REPO = Path(__file__).resolve().parents[2]
BOUNDED = [extra for extra in EXTRAS if extra.kind in (Kind.NUMBER, Kind.INTEGER)]
CHOICES = [extra for extra in EXTRAS if extra.kind == Kind.CHOICE]
ON_FORM = [extra for extra in EXTRAS if extra.label is not None]
FORM = get_provider_info()["connection-types"][0]["conn-fields"]


def _settings(extra: dict[str, Any]) -> ClientSettings:
    conn = SimpleNamespace(
        conn_id="feishu_fields", host="", port=None, schema=None, login="cli_x", password="s", extra=None
    )
    conn.extra_dejson = extra
    return settings_from_connection(conn)


def _accepted(name: str, value: Any) -> bool:
    try:
        _settings({name: value})
    except FeishuInvalidInputError:
        return False
    return True


def test_the_connection_page_table_is_generated_from_the_description() -> None:
    check = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "connection_doc.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    page = (REPO / "docs" / "connection.md").read_text(encoding="utf-8")
    for extra in EXTRAS:  # the check is not vacuous: every extra has its row
        assert f"| extra `{extra.name}` | {extra.description()} |" in page
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for extra in EXTRAS:  # one table, on the connection page: the README shows the minimum and links it
        assert f"| extra `{extra.name}` | {extra.description()} |" not in readme
    assert "docs/connection.md" in readme


def test_the_parser_knows_exactly_the_described_extras() -> None:
    names = [extra.name for extra in EXTRAS]
    assert len(set(names)) == len(names)  # no name described twice
    for name in names:  # every described extra is a key the parser takes (an empty value counts as not set)
        _settings({name: ""})
    with pytest.raises(FeishuInvalidInputError, match=r"extra\.retries: unknown extra; known: ") as refused:
        _settings({"retries": 3})
    assert str(refused.value).split("known: ", 1)[1] == ", ".join(sorted(names))  # and no other


@pytest.mark.parametrize("extra", [e for e in EXTRAS if e.setting], ids=lambda e: e.name)
def test_every_setting_extra_sets_its_client_setting(extra: Extra) -> None:
    """Giving the default the description shows explicitly changes nothing."""
    defaults = ClientSettings(base_url="https://open.feishu.cn", app_id="cli_x", app_secret="s")
    assert hasattr(defaults, extra.name)
    if extra.default is not None:
        assert getattr(_settings({extra.name: str(extra.default)}), extra.name) == getattr(defaults, extra.name)


@pytest.mark.parametrize("extra", BOUNDED, ids=lambda e: e.name)
def test_described_bounds_are_the_enforced_bounds(extra: Extra) -> None:
    """Every bound of the description, for the form fields and the JSON-only extras alike, is the parser's."""
    assert extra.minimum is not None, "every number of the connection has a lower bound"
    step = 1 if extra.kind == Kind.INTEGER else 0.25
    if extra.above:
        assert not _accepted(extra.name, extra.minimum) and _accepted(extra.name, extra.minimum + step)
    else:
        assert _accepted(extra.name, extra.minimum) and not _accepted(extra.name, extra.minimum - step)
    if extra.maximum is not None:
        assert _accepted(extra.name, extra.maximum) and not _accepted(extra.name, extra.maximum + step)
    else:
        assert _accepted(extra.name, extra.minimum + 10**9)
    if extra.kind == Kind.INTEGER:
        assert not _accepted(extra.name, extra.minimum + 0.5)


@pytest.mark.parametrize("extra", CHOICES, ids=lambda e: e.name)
def test_described_choices_are_the_accepted_values(extra: Extra) -> None:
    for choice in extra.choices:
        assert _accepted(extra.name, choice), choice
        assert _accepted(extra.name, f" {choice.upper()} ") is extra.fold_case, choice
    assert not _accepted(extra.name, "no-such-choice")


def test_the_airflow_3_form_is_the_described_form() -> None:
    """The form texts are plain (the form shows no Markdown), its choices keep the described order, and the default
    it fills in is what the parser applies when the extra is not set."""
    for extra in ON_FORM:
        field = FORM[extra.name]
        assert "`" not in field["description"]
        assert field["schema"].get("enum", [None])[:-1] == list(extra.choices)
        if "default" in field["schema"]:
            assert _settings({extra.name: field["schema"]["default"]}) == _settings({}), extra.name


@pytest.mark.parametrize("extra", [e for e in BOUNDED if e.label is not None], ids=lambda e: e.name)
def test_form_bounds_are_the_enforced_bounds(extra: Extra) -> None:
    """A bound the Airflow 3 form shows (``minimum``, ``exclusiveMinimum``, ``maximum``, integer or not) is the one
    the parser enforces: the form neither refuses a value the connection accepts nor accepts one it refuses."""
    schema = FORM[extra.name]["schema"]
    integer = "integer" in schema["type"]
    step = 1 if integer else 0.25
    lower = schema["minimum"]  # the bound Airflow 3.3's form gives its number input (it ignores exclusiveMinimum)
    if "exclusiveMinimum" in schema:
        assert schema["exclusiveMinimum"] == lower
        assert not _accepted(extra.name, lower) and _accepted(extra.name, lower + step)
    else:
        assert _accepted(extra.name, lower) and not _accepted(extra.name, lower - step)
    if "maximum" in schema:
        assert _accepted(extra.name, schema["maximum"]) and not _accepted(extra.name, schema["maximum"] + step)
    else:
        assert _accepted(extra.name, lower + 10**9)
    assert _accepted(extra.name, lower + 0.5) is not integer


def test_the_airflow_3_form_carries_the_rules_its_ui_reads() -> None:
    """Airflow 3.3's connection form gives a number input the schema's ``minimum`` and ``maximum`` (it ignores
    ``exclusiveMinimum``, which states the strict bound) and a select the ``enum``."""
    timeout, attempts, share = (FORM[name]["schema"] for name in ("timeout", "max_attempts", "rate_limit_share"))
    assert (timeout["type"], timeout["minimum"], timeout["exclusiveMinimum"]) == (["number", "null"], 0, 0)
    assert (attempts["type"], attempts["minimum"], "exclusiveMinimum" in attempts) == (["integer", "null"], 1, False)
    assert (share["minimum"], share["exclusiveMinimum"], share["maximum"]) == (0, 0, 1)
    assert FORM["domain"]["schema"]["enum"] == ["feishu", "lark", None]
