"""The one description of a ``feishu`` connection's fields: the standard fields it uses and every extra.

The extras parser (:mod:`._extras`), the Airflow 3 form (:func:`conn_fields`, :func:`ui_field_behaviour`, in the
provider info), the Airflow 2 form (:mod:`._form`) and docs/connection.md's table (``connection_doc.py``, checked by a
test) are generated from the two tables here. Defaults are the :class:`ClientSettings` defaults. Help texts may use
Markdown code spans; the forms drop the backticks. Imports only dependency-free client tables: ``get_provider_info``
imports this module on every Airflow start."""

from __future__ import annotations

from typing import Any, Final, NamedTuple

from airflow_provider_feishu_corehr.client.codes import Endpoint
from airflow_provider_feishu_corehr.client.models import (
    DEFAULT_USER_ID_TYPE,
    FEISHU_BASE_URL,
    LARK_BASE_URL,
    USER_ID_TYPES,
    ClientSettings,
)

CONN_TYPE = "feishu"
"""The connection type of the provider (``FeishuHook.conn_type`` and the provider info's connection type)."""
HOOK_NAME = "Feishu"
"""The connection type's name in the UI."""
DEFAULT_CONN_ID = "feishu_default"
"""The connection id a hook, operator or sensor uses when none is given."""
UI_PREFIX = f"extra__{CONN_TYPE}__"
"""Prefix of the extras saved by the UI form of Airflow before 2.3 (``extra__feishu__timeout``)."""
DOMAINS = {"feishu": FEISHU_BASE_URL, "lark": LARK_BASE_URL}
"""Values of the ``domain`` extra and the base URL each picks."""
HIDDEN_FIELDS = ("schema", "port", "extra")
"""Standard connection fields the form hides (``port`` is read when the host carries none)."""


class Kind:
    """How an extra's value is read (:mod:`._extras`)."""

    NUMBER: Final = "number"
    INTEGER: Final = "integer"
    CHOICE: Final = "choice"
    PATH: Final = "path"
    PROXY: Final = "proxy"
    RATE_LIMITS: Final = "rate_limits"
    BOOLEAN: Final = "boolean"
    CONN_ID: Final = "conn_id"


_DEFAULTS = ClientSettings(base_url="", app_id="", app_secret="")
"""Settings with every default: where the defaults of the extras are read."""


def _shown(value: Any) -> Any:
    """A default as a reader writes it: ``30`` rather than ``30.0``."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def plain(text: str) -> str:
    """``text`` without the Markdown code-span backticks (what the forms show).

    :param text: a help text of this module.
    """
    return text.replace("`", "")


class StandardField(NamedTuple):
    """A standard connection field the ``feishu`` connection uses under its own label.

    :param attribute: the ``Connection`` attribute (``login``, ``password``, ``host``).
    :param label: the label the forms show.
    :param placeholder: the placeholder the forms show.
    :param help: what the field holds (Markdown code spans allowed).
    """

    attribute: str
    label: str
    placeholder: str
    help: str


class Extra(NamedTuple):
    """One extra of a ``feishu`` connection.

    :param name: the key in the connection's extra (the UI form of Airflow < 2.3 adds :data:`UI_PREFIX`).
    :param kind: how the value is read.
    :param help: what the value means (Markdown code spans allowed; no bounds, choices or default: those are
        added from the other attributes).
    :param label: the label on the UI form; ``None``: set through the JSON or URI form only.
    :param minimum: the smallest value accepted (numbers and integers).
    :param above: the value must be strictly greater than ``minimum``.
    :param maximum: the largest value accepted.
    :param choices: the accepted values of a choice.
    :param fold_case: a choice is compared after trimming and lower-casing.
    :param default_doc: what applies when the extra is not set, when it is not a plain value (Markdown).
    :param setting: it sets the :class:`ClientSettings` field of its name (``domain`` does not: it picks the base
        URL).
    """

    name: str
    kind: str
    help: str
    label: str | None = None
    minimum: float | None = None
    above: bool = False
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    fold_case: bool = False
    default_doc: str | None = None
    setting: bool = True

    @property
    def default(self) -> Any:
        """The value that applies when the extra is not set (``None``: see :attr:`default_doc`)."""
        if not self.setting:
            return self.choices[0] if self.choices else None
        value = getattr(_DEFAULTS, self.name)
        return _shown(value) if isinstance(value, int | float | str) else None

    def rule(self, *, code: bool = True) -> str:
        """Choices, bounds and default in words, e.g. ``> 0 and <= 1; default 1``.

        :param code: write values as Markdown code spans.
        """
        quote = "`" if code else ""
        parts = []
        if self.choices:
            parts.append("one of: " + ", ".join(f"{quote}{choice}{quote}" for choice in self.choices))
        bounds = []
        if self.minimum is not None:
            bounds.append(f"{'>' if self.above else '>='} {self.minimum:g}")
        if self.maximum is not None:
            bounds.append(f"<= {self.maximum:g}")
        if self.kind == Kind.INTEGER:
            bounds.insert(0, "an integer" + (f" {bounds.pop(0)}" if bounds else ""))
        if bounds:
            parts.append(" and ".join(bounds))
        if self.default is not None:
            shown = str(self.default).lower() if isinstance(self.default, bool) else self.default
            parts.append(f"default {quote}{shown}{quote}")
        elif self.default_doc:
            parts.append(f"default: {self.default_doc if code else plain(self.default_doc)}")
        return "; ".join(parts)

    def description(self, *, code: bool = True) -> str:
        """The help text with choices, bounds and default, e.g. ``part of each limit ... (> 0 and <= 1; default 1)``.

        :param code: keep the Markdown code spans (docs/connection.md) or drop them (forms).
        """
        text = self.help if code else plain(self.help[:1].upper() + self.help[1:])
        rule = self.rule(code=code)
        return f"{text} ({rule})" if rule else text


def _windows() -> str:
    """The documented rate-limit windows, e.g. ``1 s for revoke and edit, 60 s for search``."""
    by_window: dict[float, list[str]] = {}
    for endpoint in Endpoint:
        if endpoint.default_rate_limit is not None:
            by_window.setdefault(endpoint.default_rate_limit[1], []).append(endpoint.value)
    return ", ".join(f"{window:g} s for {' and '.join(names)}" for window, names in by_window.items())


LIMITED_ENDPOINTS = tuple(e.value for e in Endpoint if e.default_rate_limit is not None)
"""The endpoints with a documented rate limit: the keys of the ``rate_limits`` extra."""
_LIMITED = ", ".join(f"`{name}`" for name in LIMITED_ENDPOINTS)

# The two tables are kept as tables: one row per field (name, kind, label and rules, then the help text).
# fmt: off
STANDARD_FIELDS = (
    StandardField("login", "App ID", "cli_a1b2c3d4e5f6", "the app's App ID, e.g. `cli_a1b2c3d4e5f6`"),
    StandardField("password", "App Secret", "App Secret from the Feishu developer console",
                  "the app's App Secret; masked in the UI and in every log"),
    StandardField("host", "Base URL", "https://open.feishu.cn (leave empty to use the Domain field)",
                  "origin only, e.g. `https://open.feishu.cn`; empty: the Domain extra decides. `http://` is accepted "
                  "only for loopback hosts (the emulator)"),
)
"""The standard fields the connection uses; every other standard field is in :data:`HIDDEN_FIELDS`."""

EXTRAS = (
    Extra("domain", Kind.CHOICE, label="Domain", choices=tuple(DOMAINS), fold_case=True, setting=False,
          help="the Feishu site when Base URL is empty: "
          + ", ".join(f"`{name}` is `{url}`" for name, url in DOMAINS.items())),
    Extra("timeout", Kind.NUMBER, label="Timeout (seconds)", minimum=0, above=True,
          help="wall-clock seconds of one HTTP attempt: connect, headers and the whole body"),
    Extra("max_attempts", Kind.INTEGER, label="Retry budget (attempts)", minimum=1,
          help="retry budget: attempts per API call for rate limits and transient errors, the first included"),
    Extra("max_elapsed", Kind.NUMBER, minimum=0, above=True,
          help="retry budget: seconds per API call, which also cut the last attempt short"),
    Extra("backoff_base", Kind.NUMBER, minimum=0, help="first backoff ceiling in seconds"),
    Extra("backoff_max", Kind.NUMBER, minimum=0, help="cap of one backoff sleep in seconds"),
    Extra("rate_limit_wait_max", Kind.NUMBER, minimum=0, help="cap of one wait on `x-ogw-ratelimit-reset`, in seconds"),
    Extra("user_id_type", Kind.CHOICE, label="Default user_id_type",
          choices=(DEFAULT_USER_ID_TYPE, *(t for t in USER_ID_TYPES if t != DEFAULT_USER_ID_TYPE)),
          help="the id type of the ids sent and returned, when a call does not name one"),
    Extra("rate_limits", Kind.RATE_LIMITS, label="Rate-limit overrides", default_doc="the documented limits",
          help=f"client-side rate limits per endpoint ({_LIMITED}): `N` (N per the documented window: {_windows()}), "
          '`"N/W"` (N per W seconds), `[N, W]` or `null` (no limiter for it), as an object or its JSON text, e.g. '
          '`{"revoke": 10, "search": "50/60"}`; `"off"` switches every limiter off; unnamed endpoints keep the '
          "documented limits"),
    Extra("rate_limit_scope", Kind.CHOICE, label="Rate-limit scope", choices=("process", "host", "redis"),
          fold_case=True,
          help="who shares one client-side schedule: `process` (threads and coroutines of one process), `host` "
          "(every process of the machine, through a SQLite file) or `redis` (every process on every host, through "
          "the Redis server of `rate_limit_redis_conn_id`; needs the `[redis]` extra)"),
    Extra("rate_limit_share", Kind.NUMBER, label="Rate-limit share", minimum=0, above=True, maximum=1,
          help="part of each limit the scope may use, e.g. 0.5 on each of two worker hosts"),
    Extra("rate_limit_store", Kind.PATH, label="Rate-limit store", default_doc="one in the temporary folder",
          help="path of the host schedule's SQLite file on local disk"),
    Extra("rate_limit_redis_conn_id", Kind.CONN_ID, label="Rate-limit Redis connection",
          help="id of the Airflow connection (type `redis`) of the Redis server that keeps the `redis` scope's "
          "schedule"),
    Extra("max_response_bytes", Kind.INTEGER, minimum=1024, help="largest response body read, in bytes"),
    Extra("max_pages", Kind.INTEGER, minimum=1, help="most pages one search follows"),
    Extra("ca_bundle", Kind.PATH, help="CA bundle file or directory to trust",
          default_doc="`REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE`, `SSL_CERT_FILE` / `SSL_CERT_DIR`, else certifi"),
    Extra("client_cert", Kind.PATH, help="client certificate PEM file for mutual TLS (may hold the key)"),
    Extra("client_key", Kind.PATH, help="key PEM file of `client_cert` when separate"),
    Extra("proxy", Kind.PROXY, help="`http://` or `https://` proxy URL, or `off` to connect directly",
          default_doc="`HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY`, honouring `NO_PROXY`"),
    Extra("privacy", Kind.BOOLEAN, label="Privacy mode",
          help="`true` keeps every HR value (dates, reasons, notes, any field value) out of XCom, rendered "
          "template fields and logs: the operators report ids, field names, outcomes and an HMAC-SHA256 of each "
          "value (docs/privacy.md); a task cannot turn it off"),
)
# fmt: on
"""Every extra a ``feishu`` connection accepts; any other key is refused."""


def _schema(extra: Extra) -> dict[str, Any]:
    """The JSON schema of an extra on the Airflow 3 form."""
    types = {
        Kind.NUMBER: ["number", "null"],
        Kind.INTEGER: ["integer", "null"],
        Kind.RATE_LIMITS: ["object", "string", "null"],
        Kind.BOOLEAN: ["boolean", "null"],
    }
    schema: dict[str, Any] = {"type": types.get(extra.kind, ["string", "null"])}
    if extra.choices:
        schema["enum"] = [*extra.choices, None]
    if extra.default is not None:
        schema["default"] = extra.default
    if extra.minimum is not None:  # Airflow 3's form reads minimum and maximum only: a strict bound gives both
        schema["minimum"] = _shown(extra.minimum)
        if extra.above:
            schema["exclusiveMinimum"] = _shown(extra.minimum)
    if extra.maximum is not None:
        schema["maximum"] = _shown(extra.maximum)
    return schema


def conn_fields() -> dict[str, dict[str, Any]]:
    """The ``conn-fields`` of the provider info (the Airflow 3 form): the extras that have a label."""
    return {
        extra.name: {"label": extra.label, "description": extra.description(code=False), "schema": _schema(extra)}
        for extra in EXTRAS
        if extra.label is not None
    }


def ui_field_behaviour() -> dict[str, Any]:
    """The ``ui-field-behaviour`` of the provider info: hidden fields, labels and placeholders."""
    return {
        "hidden-fields": list(HIDDEN_FIELDS),
        "relabeling": {field.attribute: field.label for field in STANDARD_FIELDS},
        "placeholders": {field.attribute: field.placeholder for field in STANDARD_FIELDS},
    }
