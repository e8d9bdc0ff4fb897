"""The ``requests`` plumbing of the sync client: one attempt, bounded in wall-clock time and in bytes.

* :func:`new_session` builds the pooled session on the shared TLS / proxy settings of :mod:`.network` (no
  environment lookups per request, no ``~/.netrc``, redirects are never followed by the caller).
* :func:`attempt` sends one request and reads the whole answer within ``seconds`` of wall-clock time: one
  watchdog thread per process shuts the attempt's socket down when its time is up, whatever phase the attempt is
  in (status line, headers, body), so a server that sends one byte at a time cannot stretch it; the body is read
  in chunks and reading stops past ``max_response_bytes``.
* :func:`classify` maps what ``requests`` / ``urllib3`` raised to a :class:`~.policy.FailureKind` by type.

``requests`` and ``urllib3`` are imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import ssl
import threading
import time
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.exchange import HttpResponse, TransportFailure
from airflow_provider_feishu_corehr.client.network import caused_by, declared_too_large, network_settings
from airflow_provider_feishu_corehr.client.policy import FailureKind

if TYPE_CHECKING:
    import requests

    from airflow_provider_feishu_corehr.client.models import ClientSettings

POOL_SIZE = 32
CHUNK = 65536
_CURRENT = threading.local()


class _TooLarge(Exception):
    """The body went past ``max_response_bytes``."""


class Watch:
    """The connection one attempt uses, so that a timer can cut it at the attempt's deadline."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conn: Any = None
        self._sock: socket.socket | None = None
        self._finished = False
        self.cut = False

    def bind(self, conn: Any) -> None:
        """Remember the connection the attempt is sending on (called by the pool's connection class)."""
        with self._lock:
            self._conn = conn

    def bind_socket(self, sock: socket.socket | None) -> None:
        """Remember the socket the answer is read from (``http.client`` hands it to the response and forgets it
        on the connection when the server says ``Connection: close``)."""
        with self._lock:
            self._sock = sock

    def fire(self) -> None:
        """The time is up: shut the socket down (a blocked read returns at once), unless the attempt is over."""
        with self._lock:
            if self._finished:
                return
            sock = self._sock or getattr(self._conn, "sock", None)
            if sock is None:
                return  # still connecting: the connect timeout ends that
            self.cut = True
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        """The attempt is over: a late watchdog must not touch the (pooled) connection any more."""
        with self._lock:
            self._finished = True
            self._conn = self._sock = None


class Watchdog:
    """One daemon thread that fires each :class:`Watch` at its deadline (a heap; finished watches are skipped).

    Registering costs a lock and a heap push, so a bounded attempt costs about what an unbounded one did.
    """

    def __init__(self) -> None:
        self._reset()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, seconds: float) -> Watch:
        """A new :class:`Watch` that fires ``seconds`` from now unless finished first.

        :param seconds: the attempt's wall-clock limit.
        """
        watch = Watch()
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + seconds, next(self._order), watch))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="feishu-attempt-watchdog", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is watch:
                self._cond.notify()
        return watch

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._cond.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                due = []
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap)[2])
            for watch in due:
                watch.fire()


WATCHDOG = Watchdog()


def _watched(base: Any) -> Any:
    """A subclass of the urllib3 connection class ``base`` that tells the current attempt's :class:`Watch`."""

    class Watched(base):  # type: ignore[misc]
        def request(self, *args: Any, **kwargs: Any) -> Any:
            watch = getattr(_CURRENT, "watch", None)
            if watch is not None:
                watch.bind(self)
            return super().request(*args, **kwargs)

        def getresponse(self, *args: Any, **kwargs: Any) -> Any:
            watch = getattr(_CURRENT, "watch", None)
            if watch is not None:
                watch.bind_socket(self.sock)
            return super().getresponse(*args, **kwargs)

    return Watched


def _pool_classes() -> dict[str, Any]:
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class WatchedHTTPPool(HTTPConnectionPool):
        ConnectionCls = _watched(HTTPConnection)

    class WatchedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = _watched(HTTPSConnection)

    return {"http": WatchedHTTPPool, "https": WatchedHTTPSPool}


def new_session(settings: ClientSettings) -> requests.Session:
    """A pooled session on the shared TLS / proxy settings, whose connections report to the attempt watchdog.

    :param settings: client settings (base URL, CA bundle, client certificate, proxy).
    :raises FeishuInvalidInputError: a configured CA bundle or client certificate cannot be used.
    """
    import requests
    from requests.adapters import HTTPAdapter

    network = network_settings(settings)
    context = network.ssl_context()
    pools = _pool_classes()

    class Adapter(HTTPAdapter):
        """Uses the one SSL context of :mod:`.network` (CA bundle, client certificate) and watched pools."""

        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["ssl_context"] = context
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = dict(pools)

        def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
            kwargs["ssl_context"] = context
            manager = super().proxy_manager_for(proxy, **kwargs)
            manager.pool_classes_by_scheme = dict(pools)
            return manager

        def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
            """Nothing to set per connection: the SSL context carries the CAs and the client certificate."""

    session = requests.Session()
    session.trust_env = False
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


def _read_body(response: requests.Response, limit: int) -> bytes:
    """Read the body chunk by chunk; past ``limit`` bytes raise :class:`_TooLarge` (memory stays bounded)."""
    if declared_too_large(response.headers.get("Content-Length"), limit):
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    while chunk := response.raw.read1(CHUNK, decode_content=True):
        size += len(chunk)
        if size > limit:
            raise _TooLarge
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
    from urllib3 import Timeout
    from urllib3.exceptions import HTTPError

    watch = WATCHDOG.watch(seconds)
    _CURRENT.watch = watch
    try:
        try:
            response = session.post(
                url,
                data=body,
                headers=headers,
                timeout=Timeout(connect=seconds, read=seconds, total=seconds),  # type: ignore[arg-type]
                allow_redirects=False,
                stream=True,
            )
        except requests.RequestException as exc:
            return TransportFailure(FailureKind.TIMEOUT if watch.cut else classify(exc))
        try:
            content = _read_body(response, limit)
            if watch.cut:  # the body ended because the watchdog shut the socket: not a real end
                return TransportFailure(FailureKind.TIMEOUT)
        except _TooLarge:
            return TransportFailure(FailureKind.TOO_LARGE)
        except (requests.RequestException, HTTPError, OSError) as exc:
            return TransportFailure(FailureKind.TIMEOUT if watch.cut else classify(exc))
        finally:
            response.close()
        return HttpResponse(response.status_code, response.headers, content)
    finally:
        watch.finish()
        _CURRENT.watch = None
