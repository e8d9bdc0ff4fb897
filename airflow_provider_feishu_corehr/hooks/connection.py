"""Airflow connection -> :class:`ClientSettings`, with every field checked and typed (no Airflow import: any object
with the attributes of an Airflow ``Connection`` will do).

The fields are described once, in :mod:`.connection_fields` (and the README table generated from it); the extras
are read by :mod:`._extras`. The ``extra`` text is parsed here, so broken JSON is an error rather than Airflow's
``{}``; a missing or bad field raises :class:`FeishuConnectionFieldError` naming the connection and the field."""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Protocol
from urllib.parse import urlsplit

from airflow_provider_feishu_corehr.client.codes import Endpoint
from airflow_provider_feishu_corehr.client.errors import FeishuAuthError, FeishuError, FeishuInvalidInputError
from airflow_provider_feishu_corehr.client.models import ClientSettings
from airflow_provider_feishu_corehr.hooks._extras import FieldProblem, extra_settings, read_domain, read_extras
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


class FeishuCredentialsError(FeishuAuthError):
    """Feishu refused a connection's credentials: it answered the token request with an error code (a wrong App
    Secret, an unknown App ID, an app not in use, ...). The message names the connection and its App ID, never the
    secret; the code, log id, advice and attempts are the client's error's, kept as :attr:`refused`.

    :param refused: the client's error (the token endpoint's).
    :param conn_id: the connection whose credentials were sent.
    :param app_id: its App ID.
    """

    def __init__(self, refused: FeishuAuthError, *, conn_id: str | None, app_id: str) -> None:
        super().__init__(
            f"connection {conn_id!r} (App ID {app_id}): {refused.msg}",
            code=refused.code,
            log_id=refused.log_id,
            http_status=refused.http_status,
            endpoint=refused.endpoint,
            advice=refused.advice,
            attempts=refused.attempts,
            elapsed=refused.elapsed,
            outcome_unknown=refused.outcome_unknown,
        )
        self.refused = refused
        self.conn_id = conn_id


def name_connection(error: FeishuError, *, conn_id: str | None, app_id: str) -> FeishuError:
    """The error a hook's client raises for ``error``: a :class:`FeishuCredentialsError` naming the connection when
    Feishu answered the token request with an error code (decided on the error's type, endpoint and code), else
    ``error`` itself.

    :param error: an error of a token fetch.
    :param conn_id: the hook's connection id.
    :param app_id: the connection's App ID.
    """
    if isinstance(error, FeishuCredentialsError) or not isinstance(error, FeishuAuthError):
        return error
    if error.endpoint == Endpoint.TOKEN and error.code is not None:
        return FeishuCredentialsError(error, conn_id=conn_id, app_id=app_id)
    return error


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
    return ClientSettings(
        base_url=base_url_from(conn.host, conn.port, extras.get("domain")),
        app_id=app_id,
        app_secret=secret,
        **extra_settings(extras),
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
    """Build validated :class:`ClientSettings` from an Airflow connection (sync or async-fetched).

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
