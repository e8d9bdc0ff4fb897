"""The ``feishu`` connection form for Airflow 2.x, built from the provider info.

Airflow 3 draws the form from ``conn-fields`` and ``ui-field-behaviour`` in
:func:`~airflow_provider_feishu_corehr.get_provider_info.get_provider_info` and never calls these functions
(its ProvidersManager skips the hook methods when the provider info has them). Airflow 2.x reads the form only
from the hook's ``get_connection_form_widgets`` / ``get_ui_field_behaviour``, which delegate here. The fields are
taken from the same provider-info entry, so both versions show the same form.

The UI libraries (``wtforms``, ``flask_appbuilder``, ``flask_babel``) are imported inside the functions: only the
webserver asks for the form, and DAG parsing must not pay for them.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_feishu_corehr.get_provider_info import get_provider_info


def _connection_type() -> dict[str, Any]:
    entry: dict[str, Any] = get_provider_info()["connection-types"][0]
    return entry


def _hint(field: dict[str, Any]) -> str:
    """Description shown under a field: the provider-info text, plus the allowed values of an enum."""
    schema = field.get("schema", {})
    parts = [field["description"]] if field.get("description") else []
    choices = [value for value in schema.get("enum", []) if value is not None]
    if choices:
        parts.append("one of: " + ", ".join(choices))
    if schema.get("default") is not None:
        parts.append(f"default {schema['default']}")
    return "; ".join(parts)


def connection_form_widgets() -> dict[str, Any]:
    """The Airflow 2.x form fields of the ``feishu`` extras, one per ``conn-fields`` entry of the provider info.

    Integers get an ``IntegerField``; everything else a ``StringField`` (Airflow 2 accepts only text, integer,
    password and boolean fields); the connection parser coerces and checks every value and names the field when
    one is wrong. Empty fields mean "use the default". Airflow 2.3+ stores each value under its plain name in the
    connection's extra.
    """
    from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
    from flask_babel import lazy_gettext
    from wtforms import IntegerField, StringField
    from wtforms.validators import NumberRange, Optional

    widgets: dict[str, Any] = {}
    for name, field in _connection_type()["conn-fields"].items():
        schema = field.get("schema", {})
        types = schema.get("type", [])
        label = lazy_gettext(field["label"])
        if "integer" in types:
            validators = [Optional()]
            if "minimum" in schema:
                validators.append(NumberRange(min=schema["minimum"]))
            widgets[name] = IntegerField(
                label, validators=validators, description=_hint(field), widget=BS3TextFieldWidget()
            )
        else:
            widgets[name] = StringField(label, description=_hint(field), widget=BS3TextFieldWidget())
    return widgets


def ui_field_behaviour() -> dict[str, Any]:
    """Hidden fields, labels and placeholders of the standard fields, as Airflow 2.x expects them."""
    behaviour = _connection_type()["ui-field-behaviour"]
    return {
        "hidden_fields": list(behaviour["hidden-fields"]),
        "relabeling": dict(behaviour["relabeling"]),
        "placeholders": dict(behaviour["placeholders"]),
    }
