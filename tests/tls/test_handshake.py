"""The memory-BIO handshake driver against a real TLS server: result, byte cap, local limits."""

from __future__ import annotations

import asyncio
import ssl

import pytest

from orchestrator.testbed.tls_server import TLSServerConfig, start_tls_server
from probes import net
from probes.errors import WireError
from probes.tls.handshake import LocalLimitation, client_context, handshake


async def _handshake_with(port: int, context: ssl.SSLContext, **kwargs):
    reader, writer = await net.open_connection("127.0.0.1", port, 3.0)
    return await handshake(reader, writer, context, "localhost", 3.0, **kwargs)


@pytest.fixture
def server(ca):
    tls = start_tls_server(TLSServerConfig(ca.issue("driver"), alpn_protocols=("h2",)))
    yield tls
    tls.stop()


def test_completed_handshake_reports_the_session(ca, server):
    context = client_context(verify=True, cafile=str(ca.ca_path), alpn=("h2",))
    result = asyncio.run(_handshake_with(server.port, context))
    assert result.completed and result.error is None
    assert (result.version, result.alpn) == ("TLSv1.3", "h2")
    assert result.cipher.startswith("TLS_")
    assert result.peer_der.startswith(b"\x30")  # DER SEQUENCE


def test_a_handshake_the_server_answer_ends_carries_its_error(other_ca, server):
    # The gatherer reports a failed handshake by its error: one is always there.
    context = client_context(verify=True, cafile=str(other_ca.ca_path))
    result = asyncio.run(_handshake_with(server.port, context))
    assert not result.completed
    assert isinstance(result.error, ssl.SSLCertVerificationError)
    assert result.version is None and result.peer_der is None


def test_server_answer_beyond_the_byte_cap_is_a_wire_error(server):
    # The server's first flight (certificate included) is far above 200 bytes.
    with pytest.raises(WireError, match="over 200 bytes"):
        asyncio.run(_handshake_with(server.port, client_context(verify=False), max_bytes=200))


def test_a_hello_the_local_openssl_cannot_build_is_a_local_limitation(server):
    # TLS 1.0 with TLS 1.2-only cipher suites: OpenSSL refuses before sending anything.
    context = client_context(verify=False, version=ssl.TLSVersion.TLSv1, ciphers="AESGCM:@SECLEVEL=0")
    with pytest.raises(LocalLimitation, match="local OpenSSL refused"):
        asyncio.run(_handshake_with(server.port, context))
