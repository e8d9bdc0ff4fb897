"""The Airflow 2.x connection form refuses a bad extra on Save and shows the rule under the field.

Checked on the form class Airflow 2.11 builds (``create_connection_form_class``, every provider's fields) and
through the 2.11 webserver itself (Flask test client: login, post the Add form, read the page and the database).
Airflow 2's page script rewrites every ``.alert`` box (where wtforms draws errors) into its own warning, so the
rule must also be in the field's help block, which the script leaves alone."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

import pytest
from airflow_lanes import AIRFLOW_V3

from airflow_provider_feishu_corehr.hooks._form import ERROR_CLASS, browser_checks
from airflow_provider_feishu_corehr.hooks.connection import settings_from_connection
from airflow_provider_feishu_corehr.hooks.connection_fields import EXTRAS, Extra, Kind

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.skipif(AIRFLOW_V3, reason="Airflow 2 only: Airflow 3 draws the form from the provider info")

ON_FORM = {extra.name: extra for extra in EXTRAS if extra.label is not None}
BAD = [  # (extra, value, the rule the message must state), one per kind of bound and choice on the form
    ("max_attempts", "0", "must be >= 1, got '0'"),
    ("max_attempts", "2.5", "must be an integer, got '2.5'"),
    ("timeout", "-5", "must be > 0, got '-5'"),
    ("timeout", "0", "must be > 0, got '0'"),
    ("timeout", "soon", "must be a number, got 'soon'"),
    ("rate_limit_share", "1.5", "must be at most 1, got '1.5'"),
    ("domain", "larksuite", "must be one of feishu, lark, got 'larksuite'"),
    ("user_id_type", "email", "must be one of people_corehr_id, open_id, union_id, user_id, got 'email'"),
    ("rate_limit_scope", "cluster", "must be one of process, host, redis, got 'cluster'"),
    ("rate_limits", '{"token": 5}', "unknown endpoint"),
]


def _shown_rules(page: str) -> list[str]:
    """The rules shown in the fields' help blocks of a rendered page or field."""
    return [html.unescape(m) for m in re.findall(rf'<span class="help-block {ERROR_CLASS}"[^>]*>([^<]*)</span>', page)]


@pytest.fixture(scope="module")
def app(airflow_db: Path) -> Any:
    """The Airflow 2.11 webserver app (CSRF off: the tests post the form directly)."""
    from airflow.www.app import create_app

    app = create_app(testing=True)
    app.config["WTF_CSRF_ENABLED"] = False
    return app


@pytest.fixture
def request_context(app: Any) -> Any:
    """A request of the webserver app: where Airflow builds, validates and renders the form."""
    with app.test_request_context():
        yield


def _form(data: dict[str, str]) -> Any:
    """The connection form Airflow 2.11 builds (all providers' fields), filled with ``data``."""
    from airflow.www.forms import create_connection_form_class
    from werkzeug.datastructures import MultiDict

    base = {"conn_id": "feishu_form", "conn_type": "feishu", "login": "cli_x", "password": "s"}
    form_class = create_connection_form_class()
    return form_class(MultiDict({**base, **{f"extra__feishu__{k}": v for k, v in data.items()}}))


@pytest.mark.parametrize(("name", "value", "rule"), BAD, ids=[f"{n}={v}" for n, v, _ in BAD])
@pytest.mark.usefixtures("request_context")
def test_a_bad_value_is_refused_with_the_rule(name: str, value: str, rule: str) -> None:
    form = _form({name: value})
    assert not form.validate()
    assert set(form.errors) == {f"extra__feishu__{name}"}
    (message,) = form.errors[f"extra__feishu__{name}"]  # the parser's rule is the field's only message
    assert message.startswith(f"{ON_FORM[name].label}: ") and rule in message
    rendered = str(getattr(form, f"extra__feishu__{name}")())  # the widget renders the rule under the input
    assert _shown_rules(rendered) == [message]


@pytest.mark.usefixtures("request_context")
def test_good_values_and_blanks_pass() -> None:
    good = {
        "domain": " Lark ",  # the parser folds case and trims: the form does too
        "timeout": "12.5",
        "max_attempts": "3",
        "user_id_type": "",
        "rate_limits": '{"edit": 5}',
        "rate_limit_scope": "host",
        "rate_limit_share": "1",
        "rate_limit_store": "",
    }
    form = _form(good)
    assert form.validate(), form.errors
    assert _form({}).validate()


@pytest.mark.usefixtures("request_context")
def test_a_form_of_another_connection_type_is_not_checked() -> None:
    form = _form({"max_attempts": "0", "domain": "larksuite"})
    form.conn_type.data = "http"
    assert form.validate(), form.errors


@pytest.mark.parametrize("extra", ON_FORM.values(), ids=lambda e: e.name)
def test_browser_checks_come_from_the_description(extra: Extra) -> None:
    """What the browser checks before Save is the description's bound or choice (never stricter)."""
    checks = browser_checks(extra)
    assert checks["title"] == extra.rule(code=False)
    if extra.kind in (Kind.NUMBER, Kind.INTEGER):
        assert checks["type"] == "number" and checks["step"] == ("1" if extra.kind == Kind.INTEGER else "any")
        assert float(checks["min"]) == extra.minimum
        assert checks.get("max") == (None if extra.maximum is None else f"{extra.maximum:g}")
    elif extra.choices:
        pattern = re.compile(checks["pattern"])  # the browser anchors it: fullmatch
        for choice in extra.choices:
            assert pattern.fullmatch(choice)
            assert (pattern.fullmatch(f" {choice.upper()} ") is not None) is extra.fold_case
        assert not pattern.fullmatch("no_such_choice")
    else:
        assert set(checks) == {"title"}


# -- the 2.11 webserver -------------------------------------------------------------------------------------------


@pytest.fixture
def webserver(app: Any) -> Any:
    """A logged-in client of the Airflow 2.11 webserver app."""
    security = app.appbuilder.sm
    if security.find_user(username="feishu_admin") is None:
        security.add_user("feishu_admin", "F", "A", "fa@example.com", security.find_role("Admin"), password="pw")
    client = app.test_client()
    client.post("/login/", data={"username": "feishu_admin", "password": "pw"})
    return client


def _stored(conn_id: str) -> Any:
    from airflow.models import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        conn = session.query(Connection).filter(Connection.conn_id == conn_id).one_or_none()
        if conn is not None:
            session.expunge(conn)
        return conn


def test_the_webserver_refuses_bad_values_and_shows_each_rule_under_its_field(webserver: Any) -> None:
    posted = {
        "conn_id": "feishu_web_bad",
        "conn_type": "feishu",
        "login": "cli_x",
        "password": "s3cret-value",
        "extra__feishu__max_attempts": "0",
        "extra__feishu__domain": "larksuite",
        "extra__feishu__timeout": "-5",
    }
    page = webserver.post("/connection/add", data=posted, follow_redirects=True).get_data(as_text=True)
    assert _shown_rules(page) == [
        "Domain: must be one of feishu, lark, got 'larksuite'",
        "Timeout (seconds): must be > 0, got '-5'",
        "Retry budget (attempts): must be >= 1, got '0'",
    ]
    assert "s3cret-value" not in page
    assert _stored("feishu_web_bad") is None


def test_the_webserver_saves_good_values_the_connection_reads(webserver: Any) -> None:
    posted = {
        "conn_id": "feishu_web_good",
        "conn_type": "feishu",
        "login": "cli_x",
        "password": "s3cret-value",
        "extra__feishu__max_attempts": "3",
        "extra__feishu__domain": "lark",
        "extra__feishu__timeout": "12.5",
        "extra__feishu__rate_limit_share": "0.5",
    }
    webserver.post("/connection/add", data=posted, follow_redirects=True)
    conn = _stored("feishu_web_good")
    assert conn is not None
    settings = settings_from_connection(conn)
    assert settings.base_url == "https://open.larksuite.com"
    assert (settings.max_attempts, settings.timeout, settings.rate_limit_share) == (3, 12.5, 0.5)
