"""Airflow connection -> :class:`ClientSettings`, with every field checked and typed.

Connection type ``feishu``:

* ``login`` = App ID, ``password`` = App Secret (both required);
* ``host`` = base URL: a full origin (``https://open.feishu.cn``, ``http://127.0.0.1:8080``) or a bare host name
  (then ``https`` is used); the ``port`` field is honoured when the host has none. Plain ``http`` is accepted
  only for loopback hosts (127.0.0.0/8, ::1, ``localhost``): the emulator. Empty host: extra ``domain``;
* extras (JSON form, URI query or the UI form; values may arrive as strings and are coerced):

  ======================== ===================================================================================
  ``domain``               ``feishu`` (``https://open.feishu.cn``, default) or ``lark``
                           (``https://open.larksuite.com``); used only when ``host`` is empty
  ``timeout``              wall-clock seconds (> 0) of one attempt: connect, headers, body; default 30
  ``max_attempts``         retry budget: attempts per call, the first included (integer >= 1); default 5
  ``max_elapsed``          retry budget: seconds per call (> 0); default 120
  ``backoff_base``         first backoff ceiling in seconds (>= 0); default 0.5
  ``backoff_max``          cap of one backoff sleep (>= 0); default 30
  ``rate_limit_wait_max``  cap of one wait on ``x-ogw-ratelimit-reset`` (>= 0); default 60
  ``user_id_type``         default ``user_id_type``: people_corehr_id (default), open_id, union_id, user_id
  ``rate_limits``          per endpoint (``revoke``, ``edit``, ``search``): ``N`` (N per the documented window:
                           1 s for revoke/edit, 60 s for search), ``"N/W"`` (N per W seconds), ``[N, W]``, or
                           ``null`` (client-side limiter off); as an object or its JSON text. ``"off"`` switches
                           every limiter off. Unnamed endpoints keep the documented limits.
  ``max_response_bytes``   largest response body read (integer >= 1024); default 10485760 (10 MiB)
  ``max_pages``            most pages one search follows (integer >= 1); default 1000
  ``ca_bundle``            CA bundle file or directory to trust (default: ``REQUESTS_CA_BUNDLE``,
                           ``CURL_CA_BUNDLE``, ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``, else certifi)
  ``client_cert``          client certificate PEM file for mutual TLS (may hold the key)
  ``client_key``           key PEM file of ``client_cert`` when separate
  ``proxy``                proxy URL (``http://`` or ``https://``), or ``off`` to connect directly; default:
                           ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` honouring ``NO_PROXY``
  ======================== ===================================================================================

Where the extras come from: the connection's ``extra`` text is parsed here (Airflow's ``extra_dejson`` turns broken
JSON into ``{}`` with only a log line; here it is an error naming the connection). UI-form keys are read under
both spellings, the plain name (``timeout``) and ``extra__feishu__<name>`` (older connections); the same field
given both ways with different values is an error; empty values mean "default".
Any other extra key, and any bad value, raises :class:`FeishuInvalidInputError` naming the connection and the field.
No Airflow import: this works on any object with the attributes of an Airflow ``Connection``.
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

from airflow_provider_feishu_corehr.client.codes import Endpoint
from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.models import FEISHU_BASE_URL, LARK_BASE_URL, USER_ID_TYPES, ClientSettings

DOMAINS = {"feishu": FEISHU_BASE_URL, "lark": LARK_BASE_URL}
_UI_PREFIX = "extra__feishu__"
_LIMITED_ENDPOINTS = tuple(e.value for e in Endpoint if e.default_rate_limit is not None)


class ConnectionLike(Protocol):
    """The attributes of an Airflow ``Connection`` that are read."""

    @property
    def conn_id(self) -> str | None: ...
    @property
    def host(self) -> str | None: ...
    @property
    def login(self) -> str | None: ...
    @property
    def password(self) -> str | None: ...
    @property
    def port(self) -> int | None: ...
    @property
    def schema(self) -> str | None: ...
    @property
    def extra_dejson(self) -> dict[str, Any]: ...
    @property
    def extra(self) -> str | None: ...


class FeishuConnectionFieldError(FeishuInvalidInputError):
    """A connection field is missing or has a bad value; :attr:`field` and :attr:`rule` say which and why.

    :param msg: the full message (names the connection and the field).
    :param field: the field (``host``, ``password``, ``extra.foo``, ``rate_limits.search``, ...).
    :param rule: what is wrong with it.
    """

    def __init__(self, msg: str, *, field: str, rule: str) -> None:
        super().__init__(msg)
        self.field = field
        self.rule = rule


class _Problem(Exception):
    """A bad value of one field; turned into a FeishuInvalidInputError that names the connection."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


def is_loopback(hostname: str) -> bool:
    """Whether ``hostname`` is ``localhost`` or a loopback IP address (127.0.0.0/8, ::1).

    :param hostname: host name without port or brackets.
    """
    if hostname.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def base_url_from(host: str | None, port: int | None, domain: Any) -> str:
    """Return the API origin (``scheme://host[:port]``) for the connection's host, port and ``domain`` extra.

    :param host: the connection's host: a URL, a bare host name, or empty.
    :param port: the connection's port field, or ``None``.
    :param domain: the ``domain`` extra (``feishu``, ``lark`` or ``None``).
    """
    text = (host or "").strip()
    if not text:
        if domain is None:
            domain = "feishu"
        if not isinstance(domain, str) or domain.strip().lower() not in DOMAINS:
            raise _Problem("domain", f"must be one of {', '.join(DOMAINS)}, got {domain!r}")
        if port is not None:
            raise _Problem("port", "is set but the host is empty; put the full base URL in the host field")
        return DOMAINS[domain.strip().lower()]
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        url_port = parts.port
    except ValueError as exc:
        raise _Problem("host", f"is not a valid base URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise _Problem("host", f"must be an http(s) URL, got scheme {parts.scheme!r}")
    hostname = parts.hostname
    if not hostname:
        raise _Problem("host", "has no host name")
    if parts.username is not None or parts.password is not None:
        raise _Problem("host", "must not contain credentials; use the login and password fields")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise _Problem("host", "must be an origin only (scheme, host, port), without path, query or fragment")
    if port is not None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise _Problem("port", f"must be 1-65535, got {port!r}")
        if url_port is not None and url_port != port:
            raise _Problem("port", f"is {port} but the host URL says {url_port}")
        url_port = port
    if scheme == "http" and not is_loopback(hostname):
        raise _Problem(
            "host",
            "plain http:// is refused for a non-loopback host: tokens and the App Secret would cross the "
            "network unencrypted. Use https://, or http:// only with 127.0.0.1, ::1 or localhost (the emulator)",
        )
    netloc = f"[{hostname}]" if ":" in hostname else hostname
    if url_port is not None:
        netloc += f":{url_port}"
    return f"{scheme}://{netloc}"


def _number(field: str, value: Any, *, minimum: float, strict: bool) -> float:
    if isinstance(value, bool):
        raise _Problem(field, f"must be a number, got {value!r}")
    try:
        number = float(value.strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise _Problem(field, f"must be a number, got {value!r}") from None
    if not math.isfinite(number) or number < minimum or (strict and number == minimum):
        raise _Problem(field, f"must be {'>' if strict else '>='} {minimum:g}, got {value!r}")
    return number


def _integer(field: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool):
        raise _Problem(field, f"must be an integer, got {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        number = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        raise _Problem(field, f"must be an integer, got {value!r}")
    if number < minimum:
        raise _Problem(field, f"must be >= {minimum}, got {value!r}")
    return number


def _rate(endpoint: str, value: Any) -> tuple[int, float] | None:
    field = f"rate_limits.{endpoint}"
    if value is None or (isinstance(value, str) and value.strip().lower() in ("off", "null", "none")):
        return None
    default = Endpoint(endpoint).default_rate_limit
    window = default[1] if default else 1.0
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise _Problem(field, f"as a list must be [requests, window seconds], got {value!r}")
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
            raise _Problem(
                "rate_limits", f'must be a JSON object like {{"revoke": 10}} or "off", got {text!r}'
            ) from None
    if not isinstance(value, Mapping):
        raise _Problem("rate_limits", f"must be an object mapping endpoint to rate, got {type(value).__name__}")
    rates: dict[str, tuple[int, float] | None] = {}
    for name, rate in value.items():
        if name not in _LIMITED_ENDPOINTS:
            raise _Problem(f"rate_limits.{name}", f"unknown endpoint; known: {', '.join(_LIMITED_ENDPOINTS)}")
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
KNOWN_EXTRAS = frozenset(
    {"domain", "user_id_type", "rate_limits", "proxy", *_FLOAT_EXTRAS, *_INT_EXTRAS, *_PATH_EXTRAS}
)


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
            raise _Problem("extra", f"is not valid JSON{where}; fix the Extra field of the connection") from None
    try:
        return conn.extra_dejson
    except Exception as exc:  # Airflow raises different types for broken extra JSON across versions
        raise _Problem("extra", f"is not a JSON object ({type(exc).__name__})") from None


def _extras(conn: ConnectionLike) -> dict[str, Any]:
    raw = _raw_extras(conn)
    if not isinstance(raw, Mapping):
        raise _Problem("extra", f"must be a JSON object, got {type(raw).__name__}")
    extras: dict[str, Any] = {}
    for key, value in raw.items():
        name = key[len(_UI_PREFIX) :] if isinstance(key, str) and key.startswith(_UI_PREFIX) else key
        if name not in KNOWN_EXTRAS:
            raise _Problem(f"extra.{key}", f"unknown extra; known: {', '.join(sorted(KNOWN_EXTRAS))}")
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if name in extras and extras[name] != value:
            raise _Problem(f"extra.{name}", f"is given twice ({name} and {_UI_PREFIX}{name}) with different values")
        extras[name] = value
    return extras


def _path(field: str, value: Any) -> str:
    if not isinstance(value, str) or "\x00" in value or "\n" in value:
        raise _Problem(field, f"must be a file path, got {type(value).__name__}")
    return value.strip()


def _proxy(value: Any) -> str:
    if not isinstance(value, str):
        raise _Problem("proxy", f"must be a URL or 'off', got {type(value).__name__}")
    text = value.strip()
    if text.lower() == "off":
        return "off"
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise _Problem("proxy", "is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise _Problem("proxy", "must be an http:// or https:// URL with a host, or 'off'")
    return text


def _settings(conn: ConnectionLike) -> ClientSettings:
    app_id = (conn.login or "").strip()
    if not app_id:
        raise _Problem("login", "App ID is missing (put it in the login field)")
    secret = conn.password or ""
    if not secret.strip():
        raise _Problem("password", "App Secret is missing (put it in the password field)")
    if conn.schema:
        raise _Problem("schema", "is not used by feishu connections; leave it empty")
    extras = _extras(conn)
    kwargs: dict[str, Any] = {
        "base_url": base_url_from(conn.host, conn.port, extras.get("domain")),
        "app_id": app_id,
        "app_secret": secret,
    }
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
        raise _Problem("client_key", "is set without client_cert")
    if "proxy" in extras:
        kwargs["proxy"] = _proxy(extras["proxy"])
    if "user_id_type" in extras:
        value = extras["user_id_type"]
        if value not in USER_ID_TYPES:
            raise _Problem("user_id_type", f"must be one of {', '.join(USER_ID_TYPES)}, got {value!r}")
        kwargs["user_id_type"] = value
    if "rate_limits" in extras:
        kwargs["rate_limits"] = parse_rate_limits(extras["rate_limits"])
    return ClientSettings(**kwargs)


def check_conn_id(conn_id: Any) -> str:
    """Refuse an empty or non-text connection id before Airflow is asked for it.

    :param conn_id: the ``feishu_conn_id`` given to a hook, operator or sensor.
    :raises FeishuInvalidInputError: naming the problem (a configuration error: no task retry can fix it).
    """
    if not isinstance(conn_id, str) or not conn_id.strip():
        raise FeishuInvalidInputError(f"feishu_conn_id must name a connection of type feishu, got {conn_id!r}")
    return conn_id


def not_found(conn_id: str) -> FeishuInvalidInputError:
    """The error for a connection id Airflow does not know (permanent: the operators do not retry it).

    :param conn_id: the connection id that was looked up.
    """
    return FeishuInvalidInputError(
        f"Connection {conn_id!r} is not defined: create a connection of type feishu with this id "
        "(UI, CLI, or the AIRFLOW_CONN_" + conn_id.upper() + " environment variable)"
    )


def settings_from_connection(conn: ConnectionLike) -> ClientSettings:
    """Build validated :class:`ClientSettings` from an Airflow connection (sync or async-fetched).

    :param conn: an Airflow ``Connection`` (any object with its attributes).
    :raises FeishuConnectionFieldError: (a ``FeishuInvalidInputError``) naming the connection id and the field,
        for a missing App ID or App Secret, a malformed base URL, plain http to a non-loopback host, an unknown
        extra or a bad extra value.
    """
    try:
        return _settings(conn)
    except _Problem as problem:
        raise FeishuConnectionFieldError(
            f"Connection {conn.conn_id!r}, field {problem.field}: {problem.rule}",
            field=problem.field,
            rule=problem.rule,
        ) from None
