"""The ``feishu`` connection form for Airflow 2.x, built from :mod:`.connection_fields`.

Airflow 3 draws the form from the provider info (``conn-fields``, ``ui-field-behaviour``) and never calls these;
Airflow 2.x asks the hook, which delegates here. The UI libraries are imported inside the functions: only the
webserver needs them.

Every field is checked on Save by the connection parser itself (:func:`._extras.read_value`: one home for each
bound and choice), and its rule is shown under the field by the field's own widget: Airflow 2's connection page
script rewrites every ``.alert`` box of the page (where wtforms errors are drawn) into its own warning, so an error
shown only there is lost. Bounds and choices the browser can check are also given as input attributes, so it
refuses them before the form is sent (a refused Save empties Airflow's App Secret field)."""

from __future__ import annotations

import re
from typing import Any

from airflow_provider_feishu_corehr.hooks import connection_fields
from airflow_provider_feishu_corehr.hooks._extras import FieldProblem, read_value
from airflow_provider_feishu_corehr.hooks.connection_fields import CONN_TYPE, EXTRAS, Extra, Kind

ERROR_CLASS = "feishu-field-error"
"""CSS class of the rule shown under a field whose value was refused."""


class ExtraRule:
    """The wtforms validator of one extra (after ``Optional``, which lets blanks through: the default applies): the
    parser's check, with its rule as the only message of the field.

    A form for another connection type is not checked (Airflow 2 puts every provider's fields on one form and
    stores only the chosen type's).

    :param extra: the described extra.
    """

    def __init__(self, extra: Extra) -> None:
        self.extra = extra

    def __call__(self, form: Any, field: Any) -> None:
        """Check ``field`` (wtforms calls this on validate).

        :param form: the form (its ``conn_type`` field, when it has one, must be ``feishu``).
        :param field: the field of :attr:`extra`.
        :raises wtforms.validators.ValidationError: the rule the value breaks.
        """
        from wtforms.validators import StopValidation, ValidationError

        conn_type = getattr(form, "conn_type", None)
        if conn_type is not None and conn_type.data != CONN_TYPE:
            field.errors[:] = []
            raise StopValidation()
        raw = field.raw_data[0] if field.raw_data else field.data
        try:
            read_value(self.extra, raw)
        except FieldProblem as problem:
            field.errors[:] = []  # the parser's rule replaces wtforms' own "Not a valid integer value."
            raise ValidationError(f"{self.extra.label}: {problem.rule}") from None


def browser_checks(extra: Extra) -> dict[str, Any]:
    """Input attributes that let the browser refuse a value before Save (``type``, ``min``, ``max``, ``step``,
    ``pattern``, ``title``), from the description.

    A strict lower bound (``> 0``) is given as ``min`` and left to the Save check; choices become a ``pattern``
    (case-insensitive when the parser folds case).

    :param extra: the described extra.
    """
    attributes: dict[str, Any] = {"title": extra.rule(code=False)}
    if extra.kind in (Kind.NUMBER, Kind.INTEGER):
        attributes.update(type="number", step="1" if extra.kind == Kind.INTEGER else "any")
        if extra.minimum is not None:
            attributes["min"] = f"{extra.minimum:g}"
        if extra.maximum is not None:
            attributes["max"] = f"{extra.maximum:g}"
    elif extra.choices and all(re.fullmatch(r"[a-z_]+", choice) for choice in extra.choices):
        spelled = (
            ["".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in choice) for choice in extra.choices]
            if extra.fold_case
            else list(extra.choices)
        )
        attributes["pattern"] = r"\s*(" + "|".join(spelled) + r")\s*"
    return attributes


def _widget() -> Any:
    """Airflow 2's text widget, followed by the field's refusals in a help block (outside every ``.alert``)."""
    from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
    from markupsafe import Markup, escape

    class RuleShowingWidget(BS3TextFieldWidget):  # type: ignore[misc]
        """``BS3TextFieldWidget`` that shows the field's errors under the input."""

        def __call__(self, field: Any, **kwargs: Any) -> Markup:
            html = Markup(super().__call__(field, **kwargs))
            if not field.errors:
                return html
            style = "color: #a94442; font-weight: bold"
            return html + Markup(f'<span class="help-block {ERROR_CLASS}" style="{style}">{{}}</span>').format(
                escape(" ".join(str(error) for error in field.errors))
            )

    return RuleShowingWidget()


def connection_form_widgets() -> dict[str, Any]:
    """The Airflow 2.x form fields of the ``feishu`` extras: one per extra that has a label.

    Integers get an ``IntegerField``, everything else a ``StringField`` (Airflow 2 accepts only text, integer,
    password and boolean fields); each is checked by :class:`ExtraRule` and carries :func:`browser_checks`. Empty
    fields mean "use the default". Airflow 2.3+ stores each value under its plain name in the connection's extra.
    """
    from flask_babel import lazy_gettext
    from wtforms import IntegerField, StringField
    from wtforms.validators import Optional

    widgets: dict[str, Any] = {}
    for extra in EXTRAS:
        if extra.label is None:
            continue
        field_class = IntegerField if extra.kind == Kind.INTEGER else StringField
        widgets[extra.name] = field_class(
            lazy_gettext(extra.label),
            validators=[Optional(), ExtraRule(extra)],
            description=extra.description(code=False),
            widget=_widget(),
            render_kw=browser_checks(extra),
        )
    return widgets


def ui_field_behaviour() -> dict[str, Any]:
    """Hidden fields, labels and placeholders of the standard fields, as Airflow 2.x expects them."""
    behaviour = connection_fields.ui_field_behaviour()
    return {
        "hidden_fields": behaviour["hidden-fields"],
        "relabeling": behaviour["relabeling"],
        "placeholders": behaviour["placeholders"],
    }
