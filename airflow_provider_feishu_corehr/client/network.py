"""TLS and proxy settings, resolved once for both transports, so poke and deferrable mode trust the same CAs and use
the same proxy (one :class:`ssl.SSLContext`). Precedence of CA sources, client certificates and proxy variables:
``docs/transport.md``, "TLS and proxies". ``~/.netrc`` is never read; a path that does not exist raises
:class:`FeishuInvalidInputError` naming where it came from, before any request."""

from __future__ import annotations

import os
import ssl
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider_feishu_corehr.client.models import ClientSettings

CA_FILE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")
CA_DIR_VARIABLE = "SSL_CERT_DIR"
PROXY_OFF = "off"


@dataclass(frozen=True)
class NetworkSettings:
    """Where trust and routing come from, resolved; :meth:`ssl_context` builds the one context both clients use.

    :param ca_file: PEM bundle of trusted CAs, or ``None``.
    :param ca_dir: directory of hashed CA certificates, or ``None``.
    :param client_cert: PEM client certificate (mutual TLS), or ``None``.
    :param client_key: PEM key of ``client_cert`` when it is in a separate file, or ``None``.
    :param proxy: proxy URL for the base URL, or ``None`` to connect directly.
    :param ca_source: where the CA setting came from (for error messages).
    """

    ca_file: str | None = None
    ca_dir: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    proxy: str | None = field(default=None, repr=False)  # may carry proxy credentials
    ca_source: str = "certifi"

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that verifies the server (host name and chain) against the resolved CAs."""
        ca_file, ca_dir = self.ca_file, self.ca_dir
        if ca_file is None and ca_dir is None:
            import certifi

            ca_file = certifi.where()
        try:
            context = ssl.create_default_context(cafile=ca_file, capath=ca_dir)
        except (OSError, ssl.SSLError) as exc:
            raise FeishuInvalidInputError(
                f"CA bundle from {self.ca_source} cannot be loaded ({type(exc).__name__}: {exc.strerror or exc})"
            ) from None
        if self.client_cert:
            try:
                context.load_cert_chain(self.client_cert, self.client_key)
            except (OSError, ssl.SSLError) as exc:
                raise FeishuInvalidInputError(
                    f"client_cert / client_key cannot be loaded ({type(exc).__name__}: {exc.strerror or exc})"
                ) from None
        return context


def _existing(path: str, source: str) -> str:
    expanded = os.path.expanduser(path.strip())
    if not os.path.exists(expanded):
        raise FeishuInvalidInputError(f"{source} points to {expanded!r}, which does not exist")
    return expanded


def _ca(settings: ClientSettings, environ: Mapping[str, str]) -> tuple[str | None, str | None, str]:
    """``(ca_file, ca_dir, source)`` by the precedence of the module docstring."""
    source, path = "", None
    if settings.ca_bundle:
        source, path = "connection extra ca_bundle", settings.ca_bundle
    else:
        for name in CA_FILE_VARIABLES:
            if environ.get(name, "").strip():
                source, path = name, environ[name]
                break
    ca_file = ca_dir = None
    if path is not None:
        found = _existing(path, source)
        ca_file, ca_dir = (None, found) if os.path.isdir(found) else (found, None)
    env_dir = environ.get(CA_DIR_VARIABLE, "").strip()
    if ca_dir is None and env_dir and not settings.ca_bundle:
        ca_dir = _existing(env_dir, CA_DIR_VARIABLE)
        source = f"{source} and {CA_DIR_VARIABLE}" if source else CA_DIR_VARIABLE
    return ca_file, ca_dir, source or "certifi"


def environment_proxy(base_url: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The proxy the environment names for ``base_url``, or ``None`` (none set, or ``NO_PROXY`` covers the host).

    :param base_url: the API origin.
    :param environ: environment variables; default ``os.environ``.
    """
    env = dict(os.environ if environ is None else environ)
    proxies: dict[str, str] = {}
    for name, value in env.items():  # lower-case wins over upper-case, as in curl and requests
        lowered = name.lower()
        if value and lowered.endswith("_proxy") and (lowered == name or lowered not in env):
            proxies[lowered[: -len("_proxy")]] = value
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if "no" in proxies and bypass(host, {"no": proxies["no"]}):
        return None
    return proxies.get(parts.scheme) or proxies.get("all")


def network_settings(settings: ClientSettings, environ: Mapping[str, str] | None = None) -> NetworkSettings:
    """Resolve the TLS and proxy settings of ``settings`` against the environment (see the module docstring).

    :param settings: client settings (``base_url``, ``ca_bundle``, ``client_cert``, ``client_key``, ``proxy``).
    :param environ: environment variables; default ``os.environ``.
    :raises FeishuInvalidInputError: a configured CA bundle or client certificate path does not exist.
    """
    env = os.environ if environ is None else environ
    ca_file, ca_dir, source = _ca(settings, env)
    cert = _existing(settings.client_cert, "connection extra client_cert") if settings.client_cert else None
    key = _existing(settings.client_key, "connection extra client_key") if settings.client_key else None
    if settings.proxy is None:
        proxy = environment_proxy(settings.base_url, env)
    else:
        proxy = None if settings.proxy.strip().lower() in (PROXY_OFF, "") else settings.proxy.strip()
    return NetworkSettings(
        ca_file=ca_file, ca_dir=ca_dir, client_cert=cert, client_key=key, proxy=proxy, ca_source=source
    )


def caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``exc`` or anything in its cause / context / args / ``reason`` chain is a ``kind`` (bounded walk).

    :param exc: the exception a transport raised.
    :param kind: the type looked for (e.g. :class:`ssl.SSLCertVerificationError`).
    """
    pending: list[object] = [exc]
    seen: set[int] = set()
    while pending and len(seen) < 32:
        item = pending.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, kind):
            return True
        pending.extend((item.__cause__, item.__context__, getattr(item, "reason", None), *item.args))
    return False


def declared_too_large(content_length: str | None, limit: int) -> bool:
    """Whether a ``Content-Length`` header already says the body is over ``limit`` bytes.

    :param content_length: the header value, or ``None``.
    :param limit: ``max_response_bytes``.
    """
    text = (content_length or "").strip()
    return text.isdigit() and int(text) > limit
