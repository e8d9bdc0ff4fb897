"""The ``feishu`` connection form for Airflow 2.x, built from :mod:`.connection_fields`.

Airflow 3 draws the form from the provider info (``conn-fields``, ``ui-field-behaviour``) and never calls these;
Airflow 2.x asks the hook, which delegates here. The UI libraries are imported inside the functions: only the
webserver needs them."""

from __future__ import annotations

from typing import Any

from airflow_provider_feishu_corehr.hooks import connection_fields
from airflow_provider_feishu_corehr.hooks.connection_fields import EXTRAS, Kind


def connection_form_widgets() -> dict[str, Any]:
    """The Airflow 2.x form fields of the ``feishu`` extras: one per extra that has a label.

    Integers get an ``IntegerField`` with the lower bound; everything else a ``StringField`` (Airflow 2 accepts only
    text, integer, password and boolean fields); the connection parser coerces and checks every value and names
    the field when one is wrong. Empty fields mean "use the default". Airflow 2.3+ stores each value under its
    plain name in the connection's extra.
    """
    from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
    from flask_babel import lazy_gettext
    from wtforms import IntegerField, StringField
    from wtforms.validators import NumberRange, Optional

    widgets: dict[str, Any] = {}
    for extra in EXTRAS:
        if extra.label is None:
            continue
        label, hint = lazy_gettext(extra.label), extra.description(code=False)
        if extra.kind == Kind.INTEGER:
            validators = [Optional()]
            if extra.minimum is not None:
                validators.append(NumberRange(min=extra.minimum))
            widgets[extra.name] = IntegerField(
                label, validators=validators, description=hint, widget=BS3TextFieldWidget()
            )
        else:
            widgets[extra.name] = StringField(label, description=hint, widget=BS3TextFieldWidget())
    return widgets


def ui_field_behaviour() -> dict[str, Any]:
    """Hidden fields, labels and placeholders of the standard fields, as Airflow 2.x expects them."""
    behaviour = connection_fields.ui_field_behaviour()
    return {
        "hidden_fields": behaviour["hidden-fields"],
        "relabeling": behaviour["relabeling"],
        "placeholders": behaviour["placeholders"],
    }
