"""A throw-away certificate authority for the emulator's HTTPS mode (``FeishuEmulator(tls=True)``, ``--tls``).

A new test CA (the ``trustme`` package: the provider's ``emulator-tls`` extra) signs a server certificate for
``127.0.0.1``, ``::1`` and ``localhost``. The CA certificate is written to a PEM file that clients are pointed at
(connection extra ``ca_bundle``, or ``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE``); nothing is added to any system
trust store.
"""

from __future__ import annotations

import os
import shutil
import ssl
import tempfile
from dataclasses import dataclass

from airflow_provider_feishu_corehr.testing.errors import EmulatorError

HOSTS = ("127.0.0.1", "::1", "localhost")


@dataclass
class TestCertificates:
    """The CA file clients trust and the server's context; :meth:`cleanup` removes the files.

    :param directory: temporary directory holding the PEM files.
    :param ca_path: PEM file of the test CA certificate (what clients trust).
    :param server_context: server-side context with the CA-signed certificate for :data:`HOSTS`.
    """

    __test__ = False  # not a pytest test class

    directory: str
    ca_path: str
    server_context: ssl.SSLContext

    def cleanup(self) -> None:
        """Delete the PEM files."""
        shutil.rmtree(self.directory, ignore_errors=True)


def make_certificates() -> TestCertificates:
    """Create a test CA, a server certificate signed by it, and the CA's PEM file in a temporary directory."""
    try:
        import trustme
    except ImportError:
        raise EmulatorError(
            "tls=True (--tls) needs the 'trustme' package, which this provider's 'emulator-tls' extra installs: "
            "pip install 'airflow-provider-feishu-corehr[emulator-tls]'"
        ) from None
    authority = trustme.CA()
    server_cert = authority.issue_cert(*HOSTS)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_cert.configure_cert(context)
    directory = tempfile.mkdtemp(prefix="feishu-emulator-ca-")
    ca_path = os.path.join(directory, "test-ca.pem")
    authority.cert_pem.write_to_path(ca_path)
    return TestCertificates(directory=directory, ca_path=ca_path, server_context=context)
