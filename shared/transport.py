"""Transport security from the settings: TLS and mutual TLS for gRPC, SSL and SASL for Kafka.

The local default is plaintext on loopback. In production (infra/) every server has a certificate: its
main port serves TLS, where a bearer token says who calls (none: the public); with a client CA, a second
port (`<NAME>_MTLS_PORT`) serves mutual TLS, where a verified client certificate without a token
identifies a system caller (another government system, or a service) as `cert:<common name>`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2_grpc

from shared.settings import Settings

KAFKA_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
CERTIFIED_PREFIX = "cert:"


def _read(path: Path | None, variable: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{variable}={path} cannot be read: {exc.strerror}") from None


def _pair(settings: Settings) -> tuple[bytes, bytes] | None:
    key = _read(settings.tls_key_file, "INTEGRITY_TLS_KEY_FILE")
    cert = _read(settings.tls_cert_file, "INTEGRITY_TLS_CERT_FILE")
    if (key is None) != (cert is None):
        raise ValueError(
            "INTEGRITY_TLS_CERT_FILE and INTEGRITY_TLS_KEY_FILE go together: set both or neither"
        )
    return None if key is None or cert is None else (key, cert)


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """TLS for a server's main port; None (plaintext) without a certificate."""
    pair = _pair(settings)
    return None if pair is None else grpc.ssl_server_credentials([pair])


def mtls_credentials(settings: Settings) -> grpc.ServerCredentials:
    """Mutual TLS: the handshake refuses a client without a certificate signed by the client CA."""
    pair = _pair(settings)
    client_ca = _read(settings.tls_client_ca_file, "INTEGRITY_TLS_CLIENT_CA_FILE")
    if pair is None or client_ca is None:
        raise ValueError(
            "a mutual TLS port needs INTEGRITY_TLS_CERT_FILE, INTEGRITY_TLS_KEY_FILE and "
            "INTEGRITY_TLS_CLIENT_CA_FILE"
        )
    return grpc.ssl_server_credentials([pair], root_certificates=client_ca, require_client_auth=True)


@dataclass
class Listeners:
    """Where a server listens: its main port, its mutual TLS port, and a plaintext server answering only
    health checks (`<NAME>_HEALTH_PORT`), for probes that cannot speak TLS (Kubernetes' gRPC probes)."""

    port: int
    mtls_port: int | None = None
    probes: grpc.Server | None = None

    def stop(self) -> None:
        if self.probes is not None:
            self.probes.stop(0).wait()


def listen(
    server: grpc.Server,
    health_servicer: Any,
    name: str,
    host: str,
    port: int,
    settings: Settings,
    *,
    reuse_port: bool = False,
) -> Listeners:
    """Adds the service's ports to `server` as the settings ask (see Listeners); raises RuntimeError naming
    the variable to change when a port is taken. `reuse_port`: the service's processes share them."""
    listeners = Listeners(_add_port(server, host, port, server_credentials(settings), f"{name}_port"))
    mtls_port = settings.mtls_port(name)
    if mtls_port is not None:
        listeners.mtls_port = _add_port(
            server, host, mtls_port, mtls_credentials(settings), f"{name}_mtls_port"
        )
    health_port = settings.health_port(name)
    if health_port is not None:
        probes = grpc.server(
            ThreadPoolExecutor(max_workers=2), options=[("grpc.so_reuseport", int(reuse_port))]
        )
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, probes)
        _add_port(probes, host, health_port, None, f"{name}_health_port")
        probes.start()
        listeners.probes = probes
    return listeners


def _add_port(
    server: grpc.Server, host: str, port: int, credentials: grpc.ServerCredentials | None, variable: str
) -> int:
    address = f"{host}:{port}"
    try:
        if credentials is None:
            return int(server.add_insecure_port(address))
        return int(server.add_secure_port(address, credentials))
    except RuntimeError as e:
        raise RuntimeError(
            f"cannot listen on {address} (in use?); set {variable.upper()} to another port"
        ) from e


def channel(settings: Settings, address: str) -> grpc.Channel:
    """A channel to a service: TLS when INTEGRITY_TLS_CA_FILE names the servers' CA (with the client's own
    certificate too, for a mutual TLS port), plaintext otherwise."""
    roots = _read(settings.tls_ca_file, "INTEGRITY_TLS_CA_FILE")
    if roots is None:
        return grpc.insecure_channel(address)
    key = _read(settings.tls_client_key_file, "INTEGRITY_TLS_CLIENT_KEY_FILE")
    cert = _read(settings.tls_client_cert_file, "INTEGRITY_TLS_CLIENT_CERT_FILE")
    credentials = grpc.ssl_channel_credentials(
        root_certificates=roots, private_key=key, certificate_chain=cert
    )
    return grpc.secure_channel(address, credentials)


def certified_subject(context: grpc.ServicerContext) -> str | None:
    """`cert:<common name>` when the peer presented a certificate the server verified (only the mutual TLS
    port asks for one, and its handshake refuses any it cannot verify); None otherwise."""
    auth = context.auth_context() or {}
    names = auth.get("x509_common_name") or auth.get("x509_subject_alternative_name") or []
    if not names:
        return None
    name = names[0]
    return CERTIFIED_PREFIX + (name.decode(errors="replace") if isinstance(name, bytes) else str(name))


def kafka_options(settings: Settings) -> dict[str, Any]:
    """The security options of every Kafka client, in kafka-python's names; ValueError naming what is
    missing."""
    protocol = settings.kafka_security_protocol.upper()
    if protocol not in KAFKA_PROTOCOLS:
        raise ValueError(f"KAFKA_SECURITY_PROTOCOL={protocol!r} is not one of {', '.join(KAFKA_PROTOCOLS)}")
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL"):
        options["ssl_check_hostname"] = True
        for option, path, variable in (
            ("ssl_cafile", settings.kafka_ssl_ca_file, "INTEGRITY_KAFKA_SSL_CA_FILE"),
            ("ssl_certfile", settings.kafka_ssl_cert_file, "INTEGRITY_KAFKA_SSL_CERT_FILE"),
            ("ssl_keyfile", settings.kafka_ssl_key_file, "INTEGRITY_KAFKA_SSL_KEY_FILE"),
        ):
            if path is not None:
                _read(path, variable)  # fail at start, with the variable's name, not at the first send
                options[option] = str(path)
    if protocol.startswith("SASL"):
        mechanism = (settings.kafka_sasl_mechanism or "").upper()
        if mechanism not in SASL_MECHANISMS:
            raise ValueError(f"INTEGRITY_KAFKA_SASL_MECHANISM must be one of {', '.join(SASL_MECHANISMS)}")
        password = _read(settings.kafka_sasl_password_file, "INTEGRITY_KAFKA_SASL_PASSWORD_FILE")
        if not settings.kafka_sasl_username or password is None:
            raise ValueError(
                f"{protocol} needs INTEGRITY_KAFKA_SASL_USERNAME and INTEGRITY_KAFKA_SASL_PASSWORD_FILE"
            )
        options.update(
            sasl_mechanism=mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=password.decode().strip(),
        )
    return options
