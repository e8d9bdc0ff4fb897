"""A real ``redis-server`` process for the tests: on a free 127.0.0.1 port, in a temporary directory, nothing saved.

``redis-server`` comes from the system's packages (Debian: ``redis-server``), installed by ``scripts/bootstrap.sh`` and
``.ci/run``. Without it the tests that need it are skipped, except in CI (``CI=true``), where they fail: a fresh machine
must run them."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator


def redis_server_binary() -> str:
    """The ``redis-server`` on PATH; skips the test without it, fails it in CI."""
    found = shutil.which("redis-server")
    if found is not None:
        return found
    reason = "redis-server is not installed (Debian: apt-get install redis-server; scripts/bootstrap.sh does it)"
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(f"{reason}; CI must run the Redis scope's tests")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServerProcess:
    """One ``redis-server`` process that a test may stop, restart, pause and break.

    :param args: extra command-line arguments (``--requirepass x``, ``--replicaof 127.0.0.1 6379``).
    :param port: the port; ``None``: a free one.
    """

    def __init__(self, *args: str, port: int | None = None) -> None:
        self.binary = redis_server_binary()
        self.args = args
        self.port = port or _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="feishu-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServerProcess:
        """Start the server (keys empty: nothing is saved) and wait until it answers PING."""
        options = {"port": str(self.port), "bind": "127.0.0.1", "dir": str(self.dir), "save": "", "appendonly": "no"}
        command = [self.binary, *itertools.chain.from_iterable((f"--{k}", v) for k, v in options.items())]
        command += ["--daemonize", "no", "--logfile", str(self.dir / "redis.log"), *self.args]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        give_up = time.monotonic() + 20
        while True:
            if self.process.poll() is not None:
                log = (self.dir / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server exited with {self.process.returncode}: {log}")
            if self._answers():
                return self
            if time.monotonic() > give_up:
                raise RuntimeError("redis-server did not answer PING within 20 s")
            time.sleep(0.02)

    def _answers(self) -> bool:
        """Whether the server answers a PING (``+PONG``, or an auth error when it has a password)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                reply = sock.recv(64)
        except OSError:
            return False
        return reply.startswith((b"+PONG", b"-NOAUTH"))

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL), continuing it first if it was paused."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def restart(self) -> None:
        """Stop and start again on the same port: every key and every loaded script is lost."""
        self.stop()
        self.start()

    def pause(self) -> None:
        """SIGSTOP: the port still accepts connections, nothing answers."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after :meth:`pause`."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        """Stop the server and remove its directory."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def redis_server(*args: str) -> Iterator[RedisServerProcess]:
    """A started :class:`RedisServerProcess`, closed afterwards.

    :param args: extra command-line arguments.
    """
    server = RedisServerProcess(*args).start()
    try:
        yield server
    finally:
        server.close()
