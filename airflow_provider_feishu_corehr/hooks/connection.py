"""Airflow connection -> :class:`ClientSettings`, with every field checked and typed (no Airflow import: any object
with the attributes of an Airflow ``Connection`` will do).

The fields are described once, in :mod:`.connection_fields` (docs/connection.md's table comes from it); the extras
are read by :mod:`._extras`. The ``extra`` text is parsed here, so broken JSON is an error rather than Airflow's
``{}``; a missing or bad field raises :class:`FeishuConnectionFieldError` naming the connection and the field."""

from __future__ import annotations

import dataclasses
import importlib.util
import ipaddress
import re
from typing import Any, Protocol
from urllib.parse import urlsplit

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.models import ClientSettings, RedisServer
from airflow_provider_feishu_corehr.hooks._extras import (
    FieldProblem,
    extra_settings,
    read_boolean,
    read_domain,
    read_extras,
)
from airflow_provider_feishu_corehr.hooks.connection_fields import CONN_TYPE, DOMAINS


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


_HOSTNAME = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*\.?", re.IGNORECASE)
"""A DNS host name (labels of letters, digits, ``-`` and ``_``, not starting or ending with ``-``)."""


def _is_ip(hostname: str) -> bool:
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return True


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


def _without_scheme(text: str) -> str:
    """The rule broken by a host without ``scheme://``: the URL it would have meant, and what to write instead.

    Refused even when the host is a known Feishu site: the host field says exactly which URL is called, and
    ``127.0.0.1:8765`` (the emulator, plain http) must not silently become ``https://127.0.0.1:8765``.

    :param text: the stripped host field.
    """
    if "@" in text:  # never echo what may be a credential
        return "must be a base URL starting with https:// (or http:// for loopback), without credentials"
    guess = f"https://{text}"
    try:
        hostname = urlsplit(guess).hostname
    except ValueError:
        hostname = None
    sites = {urlsplit(url).hostname: name for name, url in DOMAINS.items()}
    if hostname in sites:
        instead = f"write {guess}, or leave the host empty and set the extra domain to {sites[hostname]}"
    elif hostname and is_loopback(hostname):
        instead = f"write http://{text} (a local server such as the emulator) or {guess}"
    else:
        instead = f"write {guess} (or http:// for a loopback host only)"
    return f"has no scheme: {text!r} would have been used as {guess}; {instead}"


def base_url_from(host: str | None, port: int | None, domain: Any) -> str:
    """Return the API origin (``scheme://host[:port]``) for the connection's host, port and ``domain`` extra.

    :param host: the connection's host: an ``http(s)://`` URL, or empty (a host without a scheme is refused).
    :param port: the connection's port field, or ``None``.
    :param domain: the ``domain`` extra (``feishu``, ``lark`` or ``None``).
    """
    text = (host or "").strip()
    if not text:
        site = read_domain(domain)
        if port is not None:
            raise FieldProblem("port", "is set but the host is empty; put the full base URL in the host field")
        return DOMAINS[site]
    if "://" not in text:
        raise FieldProblem("host", _without_scheme(text))
    try:
        parts = urlsplit(text)
        url_port = parts.port
    except ValueError as exc:
        raise FieldProblem("host", f"is not a valid base URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FieldProblem("host", f"must be an http(s) URL, got scheme {parts.scheme!r}")
    hostname = parts.hostname
    if not hostname:
        raise FieldProblem("host", "has no host name")
    if not _HOSTNAME.fullmatch(hostname) and not _is_ip(hostname):
        raise FieldProblem("host", f"has host name {hostname!r}, which is neither a DNS name nor an IP address")
    if url_port == 0:
        raise FieldProblem("host", "has port 0; give a port 1-65535 or none")
    if parts.username is not None or parts.password is not None:
        raise FieldProblem("host", "must not contain credentials; use the login and password fields")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise FieldProblem("host", "must be an origin only (scheme, host, port), without path, query or fragment")
    if port is not None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise FieldProblem("port", f"must be 1-65535, got {port!r}")
        if url_port is not None and url_port != port:
            raise FieldProblem("port", f"is {port} but the host URL says {url_port}")
        url_port = port
    if scheme == "http" and not is_loopback(hostname):
        raise FieldProblem(
            "host",
            "plain http:// is refused for a non-loopback host: tokens and the App Secret would cross the "
            "network unencrypted. Use https://, or http:// only with 127.0.0.1, ::1 or localhost (the emulator)",
        )
    netloc = f"[{hostname}]" if ":" in hostname else hostname
    if url_port is not None:
        netloc += f":{url_port}"
    return f"{scheme}://{netloc}"


def _settings(conn: ConnectionLike) -> ClientSettings:
    app_id = (conn.login or "").strip()
    if not app_id:
        raise FieldProblem("login", "App ID is missing (put it in the login field)")
    secret = conn.password or ""
    if not secret.strip():
        raise FieldProblem("password", "App Secret is missing (put it in the password field)")
    if conn.schema:
        raise FieldProblem("schema", "is not used by feishu connections; leave it empty")
    extras = read_extras(conn)
    settings = extra_settings(extras)
    if settings.get("rate_limit_scope") == "redis" and importlib.util.find_spec("redis") is None:
        raise FieldProblem(
            "rate_limit_scope",
            "is redis, which needs the redis package: pip install 'airflow-provider-feishu-corehr[redis]'",
        )
    return ClientSettings(
        base_url=base_url_from(conn.host, conn.port, extras.get("domain")),
        app_id=app_id,
        app_secret=secret,
        **settings,
        conn_id=conn.conn_id,  # named when Feishu refuses the credentials (client.errors.FeishuCredentialsError)
    )


def check_conn_id(conn_id: Any) -> str:
    """Refuse an empty or non-text connection id before Airflow is asked for it.

    :param conn_id: the ``feishu_conn_id`` given to a hook, operator or sensor.
    :raises FeishuInvalidInputError: naming the problem (a configuration error: no task retry can fix it).
    """
    if not isinstance(conn_id, str) or not conn_id.strip():
        raise FeishuInvalidInputError(f"feishu_conn_id must name a connection of type {CONN_TYPE}, got {conn_id!r}")
    return conn_id


def not_found(conn_id: str) -> FeishuInvalidInputError:
    """The error for a connection id Airflow does not know (permanent: the operators do not retry it).

    :param conn_id: the connection id that was looked up.
    """
    return FeishuInvalidInputError(
        f"Connection {conn_id!r} is not defined: create a connection of type {CONN_TYPE} with this id "
        "(UI, CLI, or the AIRFLOW_CONN_" + conn_id.upper() + " environment variable)"
    )


def settings_from_connection(conn: ConnectionLike) -> ClientSettings:
    """Build validated :class:`ClientSettings` from an Airflow connection (sync or async-fetched); they carry its
    ``conn_id``, which the client names when Feishu refuses the credentials (``client.errors.FeishuCredentialsError``).

    :param conn: an Airflow ``Connection`` (any object with its attributes).
    :raises FeishuConnectionFieldError: (a ``FeishuInvalidInputError``) naming the connection id and the field,
        for a missing App ID or App Secret, a malformed base URL, plain http to a non-loopback host, an unknown
        extra or a bad extra value.
    """
    try:
        return _settings(conn)
    except FieldProblem as problem:
        raise FeishuConnectionFieldError(
            f"Connection {conn.conn_id!r}, field {problem.field}: {problem.rule}",
            field=problem.field,
            rule=problem.rule,
        ) from None


REDIS_SSL_EXTRAS = ("ssl", "ssl_cert_reqs", "ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_check_hostname")
"""The TLS extras of a ``redis`` connection, as ``RedisHook`` reads them (other extras are left to their users)."""
_SSL_CERT_REQS = ("required", "optional", "none")


def _redis_db(conn: ConnectionLike) -> int:
    """The database: the ``db`` extra (``RedisHook``'s) or the URI's path (``redis://host:6379/1``), not both."""
    extra = conn.extra_dejson.get("db")
    schema = (conn.schema or "").strip().strip("/")
    found = []
    for field, value in (("extra.db", extra), ("schema", schema)):
        if value is None or value == "":
            continue
        text = str(value).strip()
        if isinstance(value, bool) or not text.isdigit():
            raise FieldProblem(field, f"must be a Redis database number (0, 1, ...), got {value!r}")
        found.append((field, int(text)))
    if len(found) == 2 and found[0][1] != found[1][1]:
        raise FieldProblem("extra.db", f"is {found[0][1]} but the schema (the URI's path) says {found[1][1]}")
    return found[0][1] if found else 0


def _redis_server(conn: ConnectionLike) -> RedisServer:
    host = (conn.host or "").strip()
    if not host or "/" in host or "@" in host:
        raise FieldProblem("host", "must be the Redis server's host name or address (no scheme, path or credentials)")
    port = 6379 if conn.port is None else conn.port
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise FieldProblem("port", f"must be 1-65535, got {port!r}")
    password = conn.password
    if password is None or str(password).lower() in ("", "none", "false"):  # RedisHook's rule
        password = None
    ssl: list[tuple[str, str | bool]] = []
    for name in REDIS_SSL_EXTRAS:
        value = conn.extra_dejson.get(name)
        if value is None or value == "":
            continue
        if name in ("ssl", "ssl_check_hostname"):
            ssl.append((name, read_boolean(f"extra.{name}", value)))
        elif name == "ssl_cert_reqs" and str(value).strip().lower() not in _SSL_CERT_REQS:
            raise FieldProblem(f"extra.{name}", f"must be one of {', '.join(_SSL_CERT_REQS)}, got {value!r}")
        else:
            ssl.append((name, str(value).strip().lower() if name == "ssl_cert_reqs" else str(value)))
    return RedisServer(
        conn_id=conn.conn_id or "",
        host=host,
        port=port,
        db=_redis_db(conn),
        username=(conn.login or "").strip() or None,
        password=password,
        ssl=tuple(ssl),
    )


def with_redis(settings: ClientSettings, conn: ConnectionLike, *, feishu_conn_id: str | None) -> ClientSettings:
    """``settings`` of scope ``redis`` with the Redis server of ``conn``, the Airflow connection (type ``redis``)
    that the extra ``rate_limit_redis_conn_id`` names. Read as ``RedisHook`` reads it (host, port, login, password,
    the ``db`` extra, the ``ssl*`` extras), plus the database in the URI's path
    (``AIRFLOW_CONN_REDIS_DEFAULT='redis://:password@host:6379/1'``), which ``RedisHook`` ignores.

    :param settings: settings from :func:`settings_from_connection`.
    :param conn: the Redis connection.
    :param feishu_conn_id: the ``feishu`` connection, for errors.
    :raises FeishuConnectionFieldError: naming both connections and the Redis connection's field.
    """
    try:
        server = _redis_server(conn)
    except FieldProblem as problem:
        raise FeishuConnectionFieldError(
            f"Connection {conn.conn_id!r} (the Redis server of connection {feishu_conn_id!r}, extra "
            f"rate_limit_redis_conn_id), field {problem.field}: {problem.rule}",
            field=f"rate_limit_redis_conn_id.{problem.field}",
            rule=problem.rule,
        ) from None
    return dataclasses.replace(settings, rate_limit_redis=server)


def redis_not_found(redis_conn_id: str, feishu_conn_id: str) -> FeishuConnectionFieldError:
    """The error for a ``rate_limit_redis_conn_id`` Airflow does not know (a configuration error: not retried).

    :param redis_conn_id: the Redis connection id that was looked up.
    :param feishu_conn_id: the ``feishu`` connection whose extra names it.
    """
    rule = (
        f"names connection {redis_conn_id!r}, which is not defined: create a connection of type redis with this id "
        f"(e.g. AIRFLOW_CONN_{redis_conn_id.upper()}='redis://:password@host:6379/1')"
    )
    return FeishuConnectionFieldError(
        f"Connection {feishu_conn_id!r}, field rate_limit_redis_conn_id: {rule}",
        field="rate_limit_redis_conn_id",
        rule=rule,
    )
