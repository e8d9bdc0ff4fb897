"""The installed package registers with Airflow: provider list, connection type, form fields, schema, modules."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from airflow_lanes import AIRFLOW_V3, needs_airflow_3

from airflow_provider_feishu_corehr.get_provider_info import get_provider_info

DISTRIBUTION = "airflow-provider-feishu-corehr"
ENTRY_POINT = "airflow_provider_feishu_corehr.get_provider_info:get_provider_info"
CONN_FIELDS = {
    "domain",
    "timeout",
    "max_attempts",
    "user_id_type",
    "rate_limits",
    "rate_limit_scope",
    "rate_limit_share",
    "rate_limit_store",
    "rate_limit_redis_conn_id",
    "privacy",
}


def _our_entry_point() -> importlib.metadata.EntryPoint:
    matches = [ep for ep in importlib.metadata.entry_points(group="apache_airflow_provider") if ep.value == ENTRY_POINT]
    assert len(matches) == 1, f"expected one apache_airflow_provider entry point {ENTRY_POINT}, found {matches}"
    return matches[0]


def _provider_info_validator() -> Any:
    """The validator Airflow itself uses on every provider at start-up (``provider_info.schema.json``)."""
    from airflow.providers_manager import _create_provider_info_schema_validator

    return _create_provider_info_schema_validator()


def test_package_name_equals_installed_distribution_name() -> None:
    from packaging.utils import canonicalize_name

    dist = _our_entry_point().dist
    assert dist is not None
    # Airflow compares the canonicalized metadata name with "package-name"; a mismatch breaks every command.
    assert canonicalize_name(dist.metadata["Name"]) == get_provider_info()["package-name"] == DISTRIBUTION
    assert get_provider_info()["versions"][0] == dist.version


def test_entry_point_loads_the_same_provider_info() -> None:
    assert _our_entry_point().load()() == get_provider_info()


def test_provider_info_validates_against_airflow_schema() -> None:
    validator = _provider_info_validator()
    validator.validate(get_provider_info())
    # The validator is not vacuous: a broken copy is refused.
    broken = {**get_provider_info(), "package-name": 42}
    assert list(validator.iter_errors(broken)), "Airflow's schema accepted a non-string package-name"


def test_airflow_providers_list_reports_the_package() -> None:
    env = {**os.environ, "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR"}
    airflow = Path(sys.executable).with_name("airflow")
    out = subprocess.run(
        [str(airflow), "providers", "list", "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    ).stdout
    providers = {p["package_name"]: p for p in json.loads(out[out.index("[") :])}
    assert DISTRIBUTION in providers, f"not in `airflow providers list`: {sorted(providers)}"
    assert providers[DISTRIBUTION]["version"] == importlib.metadata.version(DISTRIBUTION)


@needs_airflow_3("the form is read from conn-fields in the provider info")
def test_connection_type_and_form_fields_are_registered() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert DISTRIBUTION in manager.providers

    ui = {meta.connection_type: meta for meta in manager.iter_connection_type_hook_ui_metadata()}
    assert "feishu" in ui
    feishu = ui["feishu"]
    assert feishu.hook_class_name == "airflow_provider_feishu_corehr.hooks.feishu.FeishuHook"
    assert feishu.field_behaviour is not None
    assert feishu.field_behaviour["relabeling"] == {"login": "App ID", "password": "App Secret", "host": "Base URL"}
    assert set(feishu.field_behaviour["hidden_fields"]) == {"schema", "port", "extra"}

    widgets = {
        info.field_name: info
        for name, info in manager.connection_form_widgets.items()
        if name.startswith("extra__feishu__")
    }
    assert set(widgets) == CONN_FIELDS
    assert all(info.package_name == DISTRIBUTION for info in widgets.values())
    assert widgets["domain"].field["schema"]["enum"] == ["feishu", "lark", None]
    assert widgets["user_id_type"].field["value"] == "people_corehr_id"
    assert widgets["rate_limit_scope"].field["schema"]["enum"] == ["process", "host", "redis", None]


@pytest.mark.skipif(AIRFLOW_V3, reason="Airflow 2 only: the form is read from the hook's methods")
def test_airflow_2_connection_form_comes_from_the_hook() -> None:
    """Airflow 2.x builds the form from ``FeishuHook.get_connection_form_widgets`` / ``get_ui_field_behaviour``."""
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert DISTRIBUTION in manager.providers
    assert manager.hooks["feishu"] is not None
    assert manager.hooks["feishu"].hook_class_name == "airflow_provider_feishu_corehr.hooks.feishu.FeishuHook"

    behaviour = manager.field_behaviours["feishu"]
    assert set(behaviour["hidden_fields"]) == {"schema", "port", "extra"}
    assert behaviour["relabeling"] == {"login": "App ID", "password": "App Secret", "host": "Base URL"}
    assert behaviour["placeholders"]["login"] == "cli_a1b2c3d4e5f6"

    widgets = {
        info.field_name: info
        for name, info in manager.connection_form_widgets.items()
        if name.startswith("extra__feishu__")
    }
    assert set(widgets) == CONN_FIELDS  # stored in extra under these plain names (Airflow 2.3+)
    assert all(info.package_name == DISTRIBUTION for info in widgets.values())
    assert not any(info.is_sensitive for info in widgets.values())
    kinds = {name: info.field.field_class.__name__ for name, info in widgets.items()}
    assert kinds == {
        "domain": "StringField",
        "timeout": "StringField",
        "max_attempts": "IntegerField",
        "user_id_type": "StringField",
        "rate_limits": "StringField",
        "rate_limit_scope": "StringField",
        "rate_limit_share": "StringField",
        "rate_limit_store": "StringField",
        "rate_limit_redis_conn_id": "StringField",
        "privacy": "StringField",
    }
    labels = {name: str(info.field.args[0]) for name, info in widgets.items()}
    assert labels["max_attempts"] == "Retry budget (attempts)"
    assert "one of: feishu, lark" in widgets["domain"].field.kwargs["description"]


@pytest.mark.skipif(AIRFLOW_V3, reason="Airflow 2 only: the form is built from the hook's widgets")
def test_airflow_2_form_values_are_what_the_connection_reads() -> None:
    """Fill the 2.x form, store the values the way the 2.x webserver does (plain names, empty fields left out), and
    read the connection back."""
    from types import SimpleNamespace

    from werkzeug.datastructures import MultiDict
    from wtforms import Form

    from airflow_provider_feishu_corehr.hooks.connection import settings_from_connection
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

    form_class = type("FeishuForm", (Form,), dict(FeishuHook.get_connection_form_widgets()))
    refused = form_class(MultiDict({"max_attempts": "0"}))
    assert not refused.validate() and set(refused.errors) == {"max_attempts"}

    form = form_class(
        MultiDict(
            {
                "domain": "lark",
                "timeout": "12.5",
                "max_attempts": "3",
                "user_id_type": "",
                "rate_limits": '{"edit": 5}',
                "rate_limit_scope": "host",
                "rate_limit_share": "0.5",
                "rate_limit_store": "",
            }
        )
    )
    assert form.validate(), form.errors
    extra = {name: value for name, value in form.data.items() if value not in ("", None)}  # www/views.py
    conn = SimpleNamespace(
        conn_id="feishu_form", host="", port=None, schema=None, login="cli_x", password="s", extra_dejson=extra
    )
    settings = settings_from_connection(conn)
    assert settings.base_url == "https://open.larksuite.com"
    assert (settings.timeout, settings.max_attempts, settings.user_id_type) == (12.5, 3, "people_corehr_id")
    assert settings.rate_limits == {"edit": (5, 1.0)}
    assert (settings.rate_limit_scope, settings.rate_limit_share, settings.rate_limit_store) == ("host", 0.5, None)


def test_registering_the_connection_type_warns_about_nothing_of_ours(tmp_path: Path) -> None:
    """Airflow 3 warns (deprecation) when it has to read a hook's form methods; it must read the provider info."""
    code = (
        "import warnings\n"
        "warnings.simplefilter('always')\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    from airflow.providers_manager import ProvidersManager\n"
        "    manager = ProvidersManager()\n"
        "    assert manager.hooks['feishu'] is not None\n"
        "    manager.connection_form_widgets, manager.field_behaviours\n"
        "print([str(w.message) for w in caught if 'feishu' in (str(w.message) + w.filename).lower()])\n"
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, timeout=120
    ).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_the_form_methods_import_no_ui_library_until_called() -> None:
    """DAG files import the hook module: the UI libraries come only when the webserver asks for the form."""
    code = (
        "import sys\n"
        "from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook\n"
        "ui = ('wtforms', 'flask_appbuilder', 'flask_babel')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ui))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout


def test_hook_class_matches_connection_type() -> None:
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

    assert FeishuHook.conn_type == "feishu"
    assert FeishuHook.default_conn_name == "feishu_default"
    assert FeishuHook.conn_name_attr == "feishu_conn_id"
    assert FeishuHook.hook_name == "Feishu"


@pytest.mark.parametrize(
    "section", ["hooks", "operators", "sensors", "triggers"], ids=["hooks", "operators", "sensors", "triggers"]
)
def test_every_listed_module_imports(section: str) -> None:
    modules = [m for entry in get_provider_info()[section] for m in entry["python-modules"]]
    assert modules
    for module in modules:
        importlib.import_module(module)


def test_every_trigger_module_is_listed() -> None:
    """Every module of ``triggers/`` that defines a trigger class (a ``BaseTrigger`` subclass) is in the
    ``triggers`` section, and the section lists nothing else.

    A module built on a part of Airflow this lane lacks (the 3.3 shared-stream producer on Airflow 2) is
    checked on the lane that has it.
    """
    import inspect
    import pkgutil

    from airflow.triggers.base import BaseTrigger

    from airflow_provider_feishu_corehr import triggers

    defining = set()
    for found in pkgutil.walk_packages(triggers.__path__, f"{triggers.__name__}."):
        try:
            module = importlib.import_module(found.name)
        except ModuleNotFoundError as missing:
            assert (missing.name or "").startswith("airflow."), missing
            continue
        classes = inspect.getmembers(module, inspect.isclass)
        if any(issubclass(c, BaseTrigger) and c.__module__ == module.__name__ for _, c in classes):
            defining.add(found.name)
    listed = {m for entry in get_provider_info()["triggers"] for m in entry["python-modules"]}
    assert defining == listed
