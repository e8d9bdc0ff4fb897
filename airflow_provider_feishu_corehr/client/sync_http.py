"""The ``requests`` plumbing of the sync client: one attempt, bounded in wall-clock time and in bytes.

:func:`new_session` gives ``requests`` the shared context of :mod:`.network` through the documented
``HTTPAdapter.build_connection_pool_key_attributes``; :func:`attempt` streams the body and checks the attempt's
deadline and ``max_response_bytes`` between reads; :mod:`.cutoff` bounds the status line and headers
(``docs/transport.md``, "Limits on every call"). ``requests`` and ``urllib3`` are imported on first use."""

from __future__ import annotations

import socket
import ssl
import time
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client import cutoff
from airflow_provider_feishu_corehr.client.exchange import HttpResponse, TransportFailure
from airflow_provider_feishu_corehr.client.network import caused_by, declared_too_large, network_settings
from airflow_provider_feishu_corehr.client.policy import FailureKind

if TYPE_CHECKING:
    import requests

    from airflow_provider_feishu_corehr.client.models import ClientSettings

POOL_SIZE = 32
CHUNK = 65536


class _TooLarge(Exception):
    """The body went past ``max_response_bytes``."""


class _TooLate(Exception):
    """The attempt's deadline passed while the body was still coming."""


def new_session(settings: ClientSettings) -> requests.Session:
    """A pooled session on the shared TLS / proxy settings (see the module docstring).

    :param settings: client settings (base URL, CA bundle, client certificate, proxy).
    :raises FeishuInvalidInputError: a configured CA bundle or client certificate cannot be used.
    """
    import requests
    from requests.adapters import HTTPAdapter

    network = network_settings(settings)
    context = network.ssl_context()

    class Adapter(HTTPAdapter):
        """The shared SSL context for HTTPS pools, and pools whose connections :mod:`.cutoff` can cut."""

        def build_connection_pool_key_attributes(self, request: Any, verify: Any, cert: Any = None) -> Any:
            host, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
            if host.get("scheme") == "https":
                pool_kwargs["ssl_context"] = context
            return host, pool_kwargs

        def get_connection_with_tls_context(
            self, request: Any, verify: Any, proxies: Any = None, cert: Any = None
        ) -> Any:
            return cutoff.watch_pool(super().get_connection_with_tls_context(request, verify, proxies, cert))

    session = requests.Session()
    session.trust_env = False
    session.verify = network.ca_file or network.ca_dir or True
    if network.client_cert:
        session.cert = (network.client_cert, network.client_key) if network.client_key else network.client_cert
    if network.proxy:
        session.proxies.update({"http": network.proxy, "https": network.proxy})
    adapter = Adapter(pool_connections=4, pool_maxsize=POOL_SIZE, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def classify(exc: BaseException) -> FailureKind:
    """Map a ``requests`` / ``urllib3`` exception to a :class:`FailureKind` by type (the text is dropped).

    :param exc: what was raised while sending or reading.
    """
    import requests
    from urllib3.exceptions import ProtocolError, ReadTimeoutError

    if caused_by(exc, ssl.SSLCertVerificationError):
        return FailureKind.TLS
    if isinstance(exc, requests.ConnectTimeout):
        return FailureKind.CONNECT_TIMEOUT
    if isinstance(exc, requests.Timeout | ReadTimeoutError | socket.timeout):
        return FailureKind.TIMEOUT
    if isinstance(exc, requests.ConnectionError):
        cause = exc.args[0] if exc.args else None
        return FailureKind.RESET if isinstance(cause, ProtocolError | ConnectionResetError) else FailureKind.CONNECT
    if isinstance(exc, ProtocolError | ConnectionError):
        return FailureKind.RESET
    return FailureKind.PROTOCOL


def _read_body(response: requests.Response, limit: int, deadline: float) -> bytes:
    """Read the body as it comes, chunk by chunk; past ``limit`` bytes raise :class:`_TooLarge` (memory stays
    bounded), past ``deadline`` (``time.monotonic``) raise :class:`_TooLate`."""
    if declared_too_large(response.headers.get("Content-Length"), limit):
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    while chunk := response.raw.read1(CHUNK, decode_content=True):
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        if time.monotonic() > deadline:
            raise _TooLate
        chunks.append(chunk)
    return b"".join(chunks)


def attempt(
    session: requests.Session, url: str, body: bytes, headers: dict[str, str], *, seconds: float, limit: int
) -> HttpResponse | TransportFailure:
    """Send one POST and read its whole answer within ``seconds`` (see the module docstring).

    :param session: the session of :func:`new_session`.
    :param url: full request URL.
    :param body: request body.
    :param headers: request headers.
    :param seconds: wall-clock limit of the attempt, from connect to the last body byte.
    :param limit: ``max_response_bytes``.
    """
    import requests
    from urllib3.exceptions import HTTPError

    deadline = time.monotonic() + seconds
    with cutoff.watched(seconds) as watch:
        try:
            response = session.post(
                url, data=body, headers=headers, timeout=(seconds, seconds), allow_redirects=False, stream=True
            )
        except requests.RequestException as exc:
            return TransportFailure(FailureKind.TIMEOUT if watch.cut else classify(exc))
        try:
            content = _read_body(response, limit, deadline)
            if watch.cut:  # the body ended because the socket was cut: not a real end
                return TransportFailure(FailureKind.TIMEOUT)
        except _TooLarge:
            return TransportFailure(FailureKind.TOO_LARGE)
        except _TooLate:
            return TransportFailure(FailureKind.TIMEOUT)
        except (requests.RequestException, HTTPError, OSError) as exc:
            return TransportFailure(FailureKind.TIMEOUT if watch.cut else classify(exc))
        finally:
            response.close()
        return HttpResponse(response.status_code, response.headers, content)
