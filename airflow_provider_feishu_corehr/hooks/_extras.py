"""The extras of a ``feishu`` connection: read, coerced and checked (the table is in
:mod:`airflow_provider_feishu_corehr.hooks.connection`).

A bad value raises :class:`FieldProblem`; :func:`..connection.settings_from_connection` turns it into a
:class:`FeishuConnectionFieldError` naming the connection and the field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_feishu_corehr.client.codes import Endpoint
from airflow_provider_feishu_corehr.client.models import USER_ID_TYPES

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.hooks.connection import ConnectionLike

UI_PREFIX = "extra__feishu__"
_LIMITED_ENDPOINTS = tuple(e.value for e in Endpoint if e.default_rate_limit is not None)


class FieldProblem(Exception):
    """A bad value of one field; turned into a FeishuInvalidInputError that names the connection."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


def _number(field: str, value: Any, *, minimum: float, strict: bool) -> float:
    if isinstance(value, bool):
        raise FieldProblem(field, f"must be a number, got {value!r}")
    try:
        number = float(value.strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise FieldProblem(field, f"must be a number, got {value!r}") from None
    if not math.isfinite(number) or number < minimum or (strict and number == minimum):
        raise FieldProblem(field, f"must be {'>' if strict else '>='} {minimum:g}, got {value!r}")
    return number


def _integer(field: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool):
        raise FieldProblem(field, f"must be an integer, got {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        number = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        raise FieldProblem(field, f"must be an integer, got {value!r}")
    if number < minimum:
        raise FieldProblem(field, f"must be >= {minimum}, got {value!r}")
    return number


def _rate(endpoint: str, value: Any) -> tuple[int, float] | None:
    field = f"rate_limits.{endpoint}"
    if value is None or (isinstance(value, str) and value.strip().lower() in ("off", "null", "none")):
        return None
    default = Endpoint(endpoint).default_rate_limit
    window = default[1] if default else 1.0
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise FieldProblem(field, f"as a list must be [requests, window seconds], got {value!r}")
        limit, window = _integer(field, value[0], minimum=1), _number(field, value[1], minimum=0, strict=True)
    elif isinstance(value, str) and "/" in value:
        left, _, right = value.partition("/")
        limit, window = _integer(field, left, minimum=1), _number(field, right, minimum=0, strict=True)
    else:
        limit = _integer(field, value, minimum=1)
    return limit, window


def parse_rate_limits(value: Any) -> dict[str, tuple[int, float] | None]:
    """Parse the ``rate_limits`` extra (object, JSON text, or ``"off"``) into ``ClientSettings.rate_limits``.

    :param value: the raw extra value.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return {}
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == "off":
            return dict.fromkeys(_LIMITED_ENDPOINTS)
        try:
            value = json.loads(text)
        except ValueError:
            raise FieldProblem(
                "rate_limits", f'must be a JSON object like {{"revoke": 10}} or "off", got {text!r}'
            ) from None
    if not isinstance(value, Mapping):
        raise FieldProblem("rate_limits", f"must be an object mapping endpoint to rate, got {type(value).__name__}")
    rates: dict[str, tuple[int, float] | None] = {}
    for name, rate in value.items():
        if name not in _LIMITED_ENDPOINTS:
            raise FieldProblem(f"rate_limits.{name}", f"unknown endpoint; known: {', '.join(_LIMITED_ENDPOINTS)}")
        rates[name] = _rate(name, rate)
    return rates


_FLOAT_EXTRAS: dict[str, tuple[float, bool]] = {
    # name: (minimum, strictly greater)
    "timeout": (0.0, True),
    "max_elapsed": (0.0, True),
    "backoff_base": (0.0, False),
    "backoff_max": (0.0, False),
    "rate_limit_wait_max": (0.0, False),
}
_INT_EXTRAS: dict[str, int] = {"max_attempts": 1, "max_response_bytes": 1024, "max_pages": 1}  # name: minimum
_PATH_EXTRAS = ("ca_bundle", "client_cert", "client_key")
_BUDGET_EXTRAS = ("rate_limit_scope", "rate_limit_share", "rate_limit_store")
KNOWN_EXTRAS = frozenset(
    {"domain", "user_id_type", "rate_limits", "proxy", *_FLOAT_EXTRAS, *_INT_EXTRAS, *_PATH_EXTRAS, *_BUDGET_EXTRAS}
)
RATE_LIMIT_SCOPES = ("process", "host")


def _raw_extras(conn: ConnectionLike) -> Any:
    """The extras as a decoded object: the ``extra`` text parsed here, so broken JSON is an error, not ``{}``."""
    text = getattr(conn, "extra", None)
    if isinstance(text, str):
        if not text.strip():
            return {}
        try:
            return json.loads(text)
        except ValueError as exc:
            where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
            raise FieldProblem("extra", f"is not valid JSON{where}; fix the Extra field of the connection") from None
    try:
        return conn.extra_dejson
    except Exception as exc:  # Airflow raises different types for broken extra JSON across versions
        raise FieldProblem("extra", f"is not a JSON object ({type(exc).__name__})") from None


def read_extras(conn: ConnectionLike) -> dict[str, Any]:
    """The connection's extras by plain name, empty values left out; an unknown key or a key given under both
    spellings with different values is refused.

    :param conn: the connection.
    """
    raw = _raw_extras(conn)
    if not isinstance(raw, Mapping):
        raise FieldProblem("extra", f"must be a JSON object, got {type(raw).__name__}")
    extras: dict[str, Any] = {}
    for key, value in raw.items():
        name = key[len(UI_PREFIX) :] if isinstance(key, str) and key.startswith(UI_PREFIX) else key
        if name not in KNOWN_EXTRAS:
            raise FieldProblem(f"extra.{key}", f"unknown extra; known: {', '.join(sorted(KNOWN_EXTRAS))}")
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if name in extras and extras[name] != value:
            raise FieldProblem(f"extra.{name}", f"is given twice ({name} and {UI_PREFIX}{name}) with different values")
        extras[name] = value
    return extras


def _path(field: str, value: Any) -> str:
    if not isinstance(value, str) or "\x00" in value or "\n" in value:
        raise FieldProblem(field, f"must be a file path, got {type(value).__name__}")
    return value.strip()


def _budget(extras: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of the shared client-side budget: scope, share and store."""
    kwargs: dict[str, Any] = {}
    if "rate_limit_scope" in extras:
        scope = extras["rate_limit_scope"]
        if not isinstance(scope, str) or scope.strip().lower() not in RATE_LIMIT_SCOPES:
            raise FieldProblem("rate_limit_scope", f"must be one of {', '.join(RATE_LIMIT_SCOPES)}, got {scope!r}")
        kwargs["rate_limit_scope"] = scope.strip().lower()
    if "rate_limit_share" in extras:
        share = _number("rate_limit_share", extras["rate_limit_share"], minimum=0.0, strict=True)
        if share > 1:
            raise FieldProblem(
                "rate_limit_share", f"must be at most 1 (the whole limit), got {extras['rate_limit_share']!r}"
            )
        kwargs["rate_limit_share"] = share
    if "rate_limit_store" in extras:
        kwargs["rate_limit_store"] = _path("rate_limit_store", extras["rate_limit_store"])
    return kwargs


def _proxy(value: Any) -> str:
    if not isinstance(value, str):
        raise FieldProblem("proxy", f"must be a URL or 'off', got {type(value).__name__}")
    text = value.strip()
    if text.lower() == "off":
        return "off"
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise FieldProblem("proxy", "is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FieldProblem("proxy", "must be an http:// or https:// URL with a host, or 'off'")
    return text


def extra_settings(extras: Mapping[str, Any]) -> dict[str, Any]:
    """The :class:`ClientSettings` keyword arguments of the extras (all but the base URL, read from ``domain``).

    :param extras: the extras from :func:`read_extras`.
    """
    kwargs: dict[str, Any] = {}
    for name, (minimum, strict) in _FLOAT_EXTRAS.items():
        if name in extras:
            kwargs[name] = _number(name, extras[name], minimum=minimum, strict=strict)
    for name, minimum_int in _INT_EXTRAS.items():
        if name in extras:
            kwargs[name] = _integer(name, extras[name], minimum=minimum_int)
    for name in _PATH_EXTRAS:
        if name in extras:
            kwargs[name] = _path(name, extras[name])
    if "client_key" in kwargs and "client_cert" not in kwargs:
        raise FieldProblem("client_key", "is set without client_cert")
    if "proxy" in extras:
        kwargs["proxy"] = _proxy(extras["proxy"])
    if "user_id_type" in extras:
        value = extras["user_id_type"]
        if value not in USER_ID_TYPES:
            raise FieldProblem("user_id_type", f"must be one of {', '.join(USER_ID_TYPES)}, got {value!r}")
        kwargs["user_id_type"] = value
    if "rate_limits" in extras:
        kwargs["rate_limits"] = parse_rate_limits(extras["rate_limits"])
    kwargs.update(_budget(extras))
    return kwargs
