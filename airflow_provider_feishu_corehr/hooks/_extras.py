"""The extras of a ``feishu`` connection: read, coerced and checked as
:data:`~airflow_provider_feishu_corehr.hooks.connection_fields.EXTRAS` describes them (kind, bounds, choices).

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
from airflow_provider_feishu_corehr.hooks.connection_fields import EXTRAS, LIMITED_ENDPOINTS, UI_PREFIX, Extra, Kind

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.hooks.connection import ConnectionLike

KNOWN_EXTRAS = frozenset(extra.name for extra in EXTRAS)
_BY_NAME = {extra.name: extra for extra in EXTRAS}


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
            return dict.fromkeys(LIMITED_ENDPOINTS)
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
        if name not in LIMITED_ENDPOINTS:
            raise FieldProblem(f"rate_limits.{name}", f"unknown endpoint; known: {', '.join(LIMITED_ENDPOINTS)}")
        rates[name] = _rate(name, rate)
    return rates


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


def _conn_id(field: str, value: Any) -> str:
    """An Airflow connection id: text of 1-250 characters without whitespace."""
    text = value.strip() if isinstance(value, str) else None
    if not text or len(text) > 250 or any(char.isspace() for char in text):
        raise FieldProblem(field, f"must be an Airflow connection id (1-250 characters, no spaces), got {value!r}")
    return text


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


def read_boolean(field: str, value: Any) -> bool:
    """``true``/``false`` from JSON, or the text a URI query or the UI form gives (``true``/``false``/``1``/``0``).

    :param field: the field, for the error.
    :param value: the raw value.
    :raises FieldProblem: naming the field when the value is neither.
    """
    if isinstance(value, bool):
        return value
    text = value.strip().lower() if isinstance(value, str) else None
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise FieldProblem(field, f"must be true or false, got {value!r}")


def _choice(extra: Extra, value: Any) -> str:
    text = value.strip().lower() if extra.fold_case and isinstance(value, str) else value
    if text not in extra.choices:
        raise FieldProblem(extra.name, f"must be one of {', '.join(extra.choices)}, got {value!r}")
    return str(text)


def read_value(extra: Extra, value: Any) -> Any:
    """One extra's value, coerced to its kind and checked against its bounds or choices.

    :param extra: the description of the extra.
    :param value: the raw value (from the connection's JSON, a URI query or the UI form: often a string).
    :raises FieldProblem: naming the extra when the value is not acceptable.
    """
    name = extra.name
    if extra.kind == Kind.NUMBER:
        number = _number(name, value, minimum=extra.minimum or 0.0, strict=extra.above)
        if extra.maximum is not None and number > extra.maximum:
            raise FieldProblem(name, f"must be at most {extra.maximum:g}, got {value!r}")
        return number
    if extra.kind == Kind.INTEGER:
        return _integer(name, value, minimum=int(extra.minimum or 0))
    if extra.kind == Kind.CHOICE:
        return _choice(extra, value)
    if extra.kind == Kind.PATH:
        return _path(name, value)
    if extra.kind == Kind.PROXY:
        return _proxy(value)
    if extra.kind == Kind.BOOLEAN:
        return read_boolean(name, value)
    if extra.kind == Kind.CONN_ID:
        return _conn_id(name, value)
    return parse_rate_limits(value)


def extra_settings(extras: Mapping[str, Any]) -> dict[str, Any]:
    """The :class:`ClientSettings` keyword arguments of the extras (all but ``domain``, which picks the base URL).

    :param extras: the extras from :func:`read_extras`.
    """
    kwargs: dict[str, Any] = {}
    for extra in EXTRAS:
        if extra.setting and extra.name in extras:
            kwargs[extra.name] = read_value(extra, extras[extra.name])
    if "client_key" in kwargs and "client_cert" not in kwargs:
        raise FieldProblem("client_key", "is set without client_cert")
    redis = kwargs.get("rate_limit_scope") == "redis"
    redis_conn_id = kwargs.get("rate_limit_redis_conn_id", _BY_NAME["rate_limit_redis_conn_id"].default)
    if redis_conn_id != _BY_NAME["rate_limit_redis_conn_id"].default and not redis:  # a form may save the default
        raise FieldProblem("rate_limit_redis_conn_id", "is used by rate_limit_scope redis only, which is not set")
    if "rate_limit_store" in kwargs and redis:
        raise FieldProblem("rate_limit_store", "is the host scope's SQLite file, unused by rate_limit_scope redis")
    return kwargs


def read_domain(value: Any) -> str:
    """The ``domain`` extra, checked (``None``: its default).

    :param value: the raw value, or ``None`` when the extra is not set.
    """
    extra = _BY_NAME["domain"]
    return _choice(extra, extra.default if value is None else value)
