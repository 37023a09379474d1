"""TLS to the ingest stand-in with a private CA made in the test: verifies with the bundle, fails without."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from edge.buffer import Buffer, PolledReading
from edge.uploader import UploadFailed
from protocols.clock import ManualClock
from protocols.uplink import Quality
from tests.edge.test_uploader import make_uploader
from tests.edge.uplink_server import UplinkServer

TOKEN = "gw-tls-token"


@dataclass(frozen=True)
class Pki:
    ca_pem: Path
    server_cert: Path
    server_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A private CA and a certificate for 127.0.0.1 signed by it."""
    folder = tmp_path_factory.mktemp("pki")
    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Caudal test CA"))
        .issuer_name(_name("Caudal test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return Pki(
        ca_pem=_write(folder / "ca.pem", ca.public_bytes(serialization.Encoding.PEM)),
        server_cert=_write(folder / "server.pem", leaf.public_bytes(serialization.Encoding.PEM)),
        server_key=_write(
            folder / "server.key",
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        ),
    )


@pytest.fixture
async def tls_server(pki: Pki, clock: ManualClock) -> AsyncIterator[UplinkServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    server = await UplinkServer(token=TOKEN, clock=clock).start(ssl_context=context)
    yield server
    await server.stop()


@pytest.fixture
def buffer(tmp_path: Path) -> Iterator[Buffer]:
    with Buffer.open(tmp_path / "buffer.db") as opened:
        opened.append(
            [PolledReading("dev", "OB-1", "flow", datetime(2026, 11, 28, 13, tzinfo=UTC), 2.0, "L/s", Quality.GOOD)]
        )
        yield opened


async def test_tls_verifies_with_the_custom_ca_bundle(
    tls_server: UplinkServer, buffer: Buffer, pki: Pki, clock: ManualClock
):
    uploader = make_uploader(tls_server, buffer, clock, TOKEN, ca_bundle=pki.ca_pem)
    assert tls_server.url.startswith("https://127.0.0.1:")
    assert await uploader.upload_once() == 1
    await uploader.close()
    assert (buffer.stats().depth, len(tls_server.stored)) == (0, 1)


async def test_tls_fails_without_the_ca_bundle_and_keeps_the_readings(
    tls_server: UplinkServer, buffer: Buffer, clock: ManualClock
):
    uploader = make_uploader(tls_server, buffer, clock, TOKEN)
    with pytest.raises(UploadFailed, match="certificate verify failed"):
        await uploader.upload_once()
    await uploader.close()
    assert (buffer.stats().depth, tls_server.received) == (1, [])


async def test_an_unreadable_ca_bundle_is_refused_up_front(
    tmp_path: Path, tls_server: UplinkServer, buffer: Buffer, clock: ManualClock
):
    missing = tmp_path / "missing-ca.pem"
    with pytest.raises(ValueError, match=f"CA bundle {missing}: no se pueden cargar los certificados"):
        make_uploader(tls_server, buffer, clock, TOKEN, ca_bundle=missing)
