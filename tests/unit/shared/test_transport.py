"""Transport security with a CA generated here: a TLS server and client, mutual TLS that refuses a client
without a certificate (or with one from another CA) and names a certified system caller, signing keys
rotated through a JWKS file, and the Kafka clients' security options."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc

from integrity.complaints.v1 import complaints_pb2 as pb
from integrity.complaints.v1 import complaints_pb2_grpc as pb_grpc
from shared.auth import Role, TokenVerifier, current_principal, issue_token
from shared.errors import IntegrityError
from shared.grpc_server import RunningService, ServiceApp, start
from shared.jwks import jwks_document
from shared.manifest import ServiceManifest
from shared.settings import Settings
from shared.transport import channel, kafka_options
from tests.helpers import free_port

MANIFEST = ServiceManifest(
    name="complaints",
    default_port=0,
    api="integrity.complaints.v1.ComplaintService",
    access={"GetComplaint": (Role.SYSTEM, Role.REGULATOR, Role.PUBLIC)},
    bootstrap="tests.unit.shared.test_transport:unused",
    tables="shared.outbox:OutboxRecord",
    unit_of_work="shared.db:UnitOfWork",
)


class WhoAmI(pb_grpc.ComplaintServiceServicer):
    """GetComplaint answers with the caller's role and subject."""

    def GetComplaint(
        self, request: pb.GetComplaintRequest, context: grpc.ServicerContext
    ) -> pb.GetComplaintResponse:
        principal = current_principal()
        return pb.GetComplaintResponse(
            complaint=pb.Complaint(name=principal.role.value, description=principal.subject)
        )


@dataclass
class Authority:
    """A certificate authority that signs server and client certificates into files."""

    directory: Path
    name: str

    def __post_init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.name)])
        self.cert = (
            self._builder(subject, self.key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.ca_file = self._write(f"{self.name}-ca.pem", self.cert.public_bytes(serialization.Encoding.PEM))

    def _builder(self, subject: x509.Name, public_key: object) -> x509.CertificateBuilder:
        now = dt.datetime.now(dt.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.name)]))
            .public_key(public_key)  # type: ignore[arg-type]
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
        )

    def issue(self, common_name: str) -> tuple[Path, Path]:
        """(certificate file, key file) for `common_name`, valid for localhost and 127.0.0.1."""
        key = ec.generate_private_key(ec.SECP256R1())
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        cert = (
            self._builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]), key.public_key())
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return (
            self._write(f"{self.name}-{common_name}.pem", cert.public_bytes(serialization.Encoding.PEM)),
            self._write(f"{self.name}-{common_name}.key", key_pem),
        )

    def _write(self, name: str, content: bytes) -> Path:
        path = self.directory / name
        path.write_bytes(content)
        return path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Authority]:
    directory = tmp_path_factory.mktemp("pki")
    return {name: Authority(directory, name) for name in ("servers", "systems", "strangers")}


@pytest.fixture(scope="module")
def server(pki: dict[str, Authority], tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    cert, key = pki["servers"].issue("complaints.integrity")
    settings = Settings(
        var_dir=tmp_path_factory.mktemp("var"),
        tls_cert_file=cert,
        tls_key_file=key,
        tls_client_ca_file=pki["systems"].ca_file,
        complaints_mtls_port=free_port(),
        complaints_health_port=free_port(),
    )
    app = ServiceApp(
        MANIFEST, [(pb_grpc.add_ComplaintServiceServicer_to_server, WhoAmI())], settings=settings
    )
    running = start(app, 0)
    yield running
    running.stop(0)


def who(settings: Settings, address: str, token: str | None = None) -> tuple[str, str]:
    metadata = [("authorization", f"Bearer {token}")] if token else []
    with channel(settings, address) as opened:
        reply = pb_grpc.ComplaintServiceStub(opened).GetComplaint(
            pb.GetComplaintRequest(name="complaints/x"), metadata=metadata, timeout=5
        )
    return reply.complaint.name, reply.complaint.description


def test_tls_server_and_client(server: RunningService, pki: dict[str, Authority], tmp_path: Path) -> None:
    trusting = Settings(var_dir=tmp_path, tls_ca_file=pki["servers"].ca_file)
    assert who(trusting, server.address) == ("public", "anonymous")
    with pytest.raises(grpc.RpcError) as plaintext:
        who(Settings(var_dir=tmp_path), server.address)  # no TLS: no connection
    assert plaintext.value.code() == grpc.StatusCode.UNAVAILABLE
    with pytest.raises(grpc.RpcError) as untrusted:
        who(Settings(var_dir=tmp_path, tls_ca_file=pki["strangers"].ca_file), server.address)
    assert untrusted.value.code() == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_refuses_a_client_without_a_certificate_and_names_a_certified_one(
    server: RunningService, pki: dict[str, Authority], tmp_path: Path
) -> None:
    mtls = f"127.0.0.1:{server.mtls_port}"
    anonymous = Settings(var_dir=tmp_path, tls_ca_file=pki["servers"].ca_file)
    with pytest.raises(grpc.RpcError) as refused:
        who(anonymous, mtls)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE

    cert, key = pki["systems"].issue("registry.samr")
    registry = Settings(
        var_dir=tmp_path,
        tls_ca_file=pki["servers"].ca_file,
        tls_client_cert_file=cert,
        tls_client_key_file=key,
    )
    assert who(registry, mtls) == ("system", "cert:registry.samr")
    # A certificate from another CA is refused in the handshake.
    cert, key = pki["strangers"].issue("registry.samr")
    impostor = Settings(
        var_dir=tmp_path,
        tls_ca_file=pki["servers"].ca_file,
        tls_client_cert_file=cert,
        tls_client_key_file=key,
    )
    with pytest.raises(grpc.RpcError) as forged:
        who(impostor, mtls)
    assert forged.value.code() == grpc.StatusCode.UNAVAILABLE
    # On the TLS port a certificate proves nothing: no client certificate is asked for there.
    assert who(registry, server.address) == ("public", "anonymous")
    # A bearer token still decides who calls, on either port.
    token = issue_token(server.app.settings, Role.REGULATOR, region="610100")  # type: ignore[arg-type]
    assert who(registry, mtls, token) == ("regulator", "regulator@610100")


# --- signing keys in a JWKS document ------------------------------------------------------------------


def _issuer(directory: Path, name: str) -> Settings:
    private = directory / f"{name}.pem"
    private.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return Settings(
        var_dir=directory, jwt_private_key_file=private, jwt_public_key_file=directory / f"{name}.pub"
    )


def _publish(path: Path, *issuers: Settings) -> None:
    keys = [
        serialization.load_pem_private_key(s.private_key_path.read_bytes(), None).public_key()
        for s in issuers
    ]
    path.write_text(json.dumps(jwks_document(keys)))  # type: ignore[arg-type]


def test_a_key_rotates_without_invalidating_every_token_at_once(tmp_path: Path) -> None:
    old, new = _issuer(tmp_path, "old"), _issuer(tmp_path, "new")
    jwks = tmp_path / "jwks.json"
    _publish(jwks, old)
    verifier = TokenVerifier(Settings(var_dir=tmp_path, jwt_jwks_file=jwks))
    before = issue_token(old, Role.SYSTEM)
    assert jwt.get_unverified_header(before)["kid"]
    assert verifier.verify(before).role == Role.SYSTEM

    _publish(jwks, old, new)  # step 1: every service learns the new key (read again: the file changed)
    after = issue_token(new, Role.SYSTEM)  # step 2: issuers switch
    assert verifier.verify(after).role == Role.SYSTEM
    assert verifier.verify(before).role == Role.SYSTEM  # the old key's tokens still verify

    _publish(jwks, new)  # step 3: the old key removed once its tokens expired
    with pytest.raises(IntegrityError) as removed:
        verifier.verify(before)
    assert "does not know" in removed.value.message
    assert verifier.verify(after).role == Role.SYSTEM


# --- Kafka ----------------------------------------------------------------------------------------------


def test_kafka_security_options_and_what_is_missing(tmp_path: Path) -> None:
    assert kafka_options(Settings(var_dir=tmp_path)) == {"security_protocol": "PLAINTEXT"}
    password = tmp_path / "kafka-password"
    password.write_text("s3cret\n")
    ca = tmp_path / "kafka-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    options = kafka_options(
        Settings(
            var_dir=tmp_path,
            kafka_security_protocol="sasl_ssl",
            kafka_ssl_ca_file=ca,
            kafka_sasl_mechanism="SCRAM-SHA-512",
            kafka_sasl_username="scoring",
            kafka_sasl_password_file=password,
        )
    )
    assert options == {
        "security_protocol": "SASL_SSL",
        "ssl_check_hostname": True,
        "ssl_cafile": str(ca),
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "scoring",
        "sasl_plain_password": "s3cret",
    }
    with pytest.raises(ValueError, match="INTEGRITY_KAFKA_SASL_USERNAME"):
        kafka_options(
            Settings(var_dir=tmp_path, kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="PLAIN")
        )
    with pytest.raises(ValueError, match="INTEGRITY_KAFKA_SSL_CA_FILE"):
        kafka_options(
            Settings(var_dir=tmp_path, kafka_security_protocol="SSL", kafka_ssl_ca_file=tmp_path / "no")
        )
    with pytest.raises(ValueError, match="not one of"):
        kafka_options(Settings(var_dir=tmp_path, kafka_security_protocol="TLS"))


def test_probes_that_cannot_speak_tls_get_health_and_nothing_else(server: RunningService) -> None:
    assert server.app.settings is not None
    port = server.app.settings.health_port("complaints")
    with grpc.insecure_channel(f"127.0.0.1:{port}") as plain:
        reply = health_pb2_grpc.HealthStub(plain).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as api:
            pb_grpc.ComplaintServiceStub(plain).GetComplaint(
                pb.GetComplaintRequest(name="complaints/x"), timeout=5
            )
    assert api.value.code() == grpc.StatusCode.UNIMPLEMENTED
