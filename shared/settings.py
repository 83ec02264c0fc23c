"""Settings from the environment (pydantic-settings). One object, read once per process."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Every knob of the stack. Environment names are given per field; `INTEGRITY_` names also work."""

    model_config = SettingsConfigDict(env_prefix="INTEGRITY_", populate_by_name=True, extra="ignore")

    var_dir: Path = Field(Path("var"), validation_alias=_env("INTEGRITY_VAR_DIR"))
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        validation_alias=_env("KAFKA_BOOTSTRAP_SERVERS", "INTEGRITY_KAFKA_BOOTSTRAP_SERVERS"),
    )
    host: str = Field("127.0.0.1", validation_alias=_env("INTEGRITY_HOST"))

    # Per service (named by its manifest): `<NAME>_PORT`, `<NAME>_MTLS_PORT`, `<NAME>_HEALTH_PORT`,
    # `<NAME>_METRICS_PORT` and `<NAME>_DATABASE_URL` in the environment (an `INTEGRITY_` prefix also
    # works), or `<name>_port=` ... given to Settings. The ports in infra/: gRPC 5005x, mutual TLS 5015x,
    # plaintext health 5025x, metrics the gRPC port + 1000 (5105x); a port already taken stops the start.
    ports: dict[str, int] = Field(default_factory=dict)
    mtls_ports: dict[str, int] = Field(default_factory=dict)
    health_ports: dict[str, int] = Field(default_factory=dict)  # plaintext, health checks only (probes)
    metrics_ports: dict[str, int] = Field(default_factory=dict)
    database_urls: dict[str, str] = Field(default_factory=dict)
    # gRPC server processes on one port (SO_REUSEPORT; shared/processes.py): `INTEGRITY_GRPC_PROCESSES`
    # for every service, `<NAME>_GRPC_PROCESSES` for one. 1 (the default) serves from a single process.
    grpc_processes: int = Field(1, ge=1, le=64, validation_alias=_env("INTEGRITY_GRPC_PROCESSES"))
    service_grpc_processes: dict[str, int] = Field(default_factory=dict)

    # Prometheus metrics on each service's metrics port (its gRPC port + 1000 unless set).
    metrics_enabled: bool = Field(True, validation_alias=_env("INTEGRITY_METRICS_ENABLED"))
    # Traces: an OTLP/gRPC collector (e.g. http://otel-collector:4317); empty means no traces are exported.
    otlp_endpoint: str = Field(
        "", validation_alias=_env("OTEL_EXPORTER_OTLP_ENDPOINT", "INTEGRITY_OTLP_ENDPOINT")
    )

    # gRPC transport security (shared/transport.py). Unset: plaintext, the local default on loopback.
    # A server with a certificate and key serves TLS; with a client CA too, its `<NAME>_MTLS_PORT` serves
    # mutual TLS, where a client certificate signed by that CA identifies a system caller.
    tls_cert_file: Path | None = Field(None, validation_alias=_env("INTEGRITY_TLS_CERT_FILE"))
    tls_key_file: Path | None = Field(None, validation_alias=_env("INTEGRITY_TLS_KEY_FILE"))
    tls_client_ca_file: Path | None = Field(None, validation_alias=_env("INTEGRITY_TLS_CLIENT_CA_FILE"))
    # Clients (the supervisor, the CLI): the CA that signed the servers' certificates, and their own pair.
    tls_ca_file: Path | None = Field(None, validation_alias=_env("INTEGRITY_TLS_CA_FILE"))
    tls_client_cert_file: Path | None = Field(None, validation_alias=_env("INTEGRITY_TLS_CLIENT_CERT_FILE"))
    tls_client_key_file: Path | None = Field(None, validation_alias=_env("INTEGRITY_TLS_CLIENT_KEY_FILE"))

    # Kafka security: PLAINTEXT (local), SSL, SASL_PLAINTEXT or SASL_SSL, for every producer, consumer and
    # admin client. SASL: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 with a user and a password (from a file).
    kafka_security_protocol: str = Field(
        "PLAINTEXT", validation_alias=_env("KAFKA_SECURITY_PROTOCOL", "INTEGRITY_KAFKA_SECURITY_PROTOCOL")
    )
    kafka_ssl_ca_file: Path | None = Field(None, validation_alias=_env("INTEGRITY_KAFKA_SSL_CA_FILE"))
    kafka_ssl_cert_file: Path | None = Field(None, validation_alias=_env("INTEGRITY_KAFKA_SSL_CERT_FILE"))
    kafka_ssl_key_file: Path | None = Field(None, validation_alias=_env("INTEGRITY_KAFKA_SSL_KEY_FILE"))
    kafka_sasl_mechanism: str | None = Field(None, validation_alias=_env("INTEGRITY_KAFKA_SASL_MECHANISM"))
    kafka_sasl_username: str | None = Field(None, validation_alias=_env("INTEGRITY_KAFKA_SASL_USERNAME"))
    kafka_sasl_password_file: Path | None = Field(
        None, validation_alias=_env("INTEGRITY_KAFKA_SASL_PASSWORD_FILE")
    )

    # Token signing (Ed25519). Generated under var/keys/ on first use when the files do not exist.
    jwt_private_key_file: Path | None = Field(None, validation_alias=_env("INTEGRITY_JWT_PRIVATE_KEY_FILE"))
    jwt_public_key_file: Path | None = Field(None, validation_alias=_env("INTEGRITY_JWT_PUBLIC_KEY_FILE"))
    # Verification keys as a JWKS document (shared/jwks.py), a file or a URL, instead of the one public
    # key: tokens name their key (`kid`), so a key can be added, used and removed without a restart.
    jwt_jwks_file: Path | None = Field(None, validation_alias=_env("INTEGRITY_JWT_JWKS_FILE"))
    jwt_jwks_url: str | None = Field(None, validation_alias=_env("INTEGRITY_JWT_JWKS_URL"))
    # The `kid` tokens are signed with; default: the RFC 7638 thumbprint of the signing key.
    jwt_key_id: str | None = Field(None, validation_alias=_env("INTEGRITY_JWT_KEY_ID"))
    jwt_issuer: str = Field("integrity-local", validation_alias=_env("INTEGRITY_JWT_ISSUER"))
    jwt_audience: str = Field("integrity", validation_alias=_env("INTEGRITY_JWT_AUDIENCE"))

    # Outbox relay: how often to look for unpublished rows, and the backoff while the broker is down.
    relay_poll_seconds: float = Field(0.2, validation_alias=_env("INTEGRITY_RELAY_POLL_SECONDS"))
    relay_max_backoff_seconds: float = Field(
        10.0, validation_alias=_env("INTEGRITY_RELAY_MAX_BACKOFF_SECONDS")
    )

    # A new, empty service database gets its schema when the service starts (local stack, tests). Production
    # turns this off and runs the migrations as a Job (`integrity db upgrade`) before the services.
    database_create_empty: bool = Field(True, validation_alias=_env("INTEGRITY_DATABASE_CREATE_EMPTY"))

    # Working-day calendar: days that the operator adds to or corrects in the State Council's schedules
    # (shared/workdays.py says the format). Default var/calendar.toml; a missing file adds nothing.
    calendar_file: Path | None = Field(None, validation_alias=_env("INTEGRITY_CALENDAR_FILE"))

    grace_seconds: float = Field(5.0, validation_alias=_env("INTEGRITY_GRACE_SECONDS"))
    log_level: str = Field("INFO", validation_alias=_env("INTEGRITY_LOG_LEVEL"))

    @model_validator(mode="before")
    @classmethod
    def _per_service(cls, data: Any) -> Any:
        """Folds `<name>_port` / `<name>_database_url` (keyword arguments, then the environment) into
        `ports` and `database_urls`: the platform knows no service names."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        folded = {kind: dict(data.pop(field, None) or {}) for kind, field in _FOLDED.items()}
        for source in (_environment(), data):
            for key in list(source):
                match = _PER_SERVICE.fullmatch(key.lower())
                if match and match["name"] not in _NOT_SERVICES:
                    value = source.pop(key) if source is data else source[key]
                    folded[match["kind"]][match["name"]] = value
        data.update({field: folded[kind] for kind, field in _FOLDED.items()})
        return data

    def port(self, service: str, default: int) -> int:
        return int(self.ports.get(service, default))

    def processes(self, service: str) -> int:
        """How many processes serve the service's gRPC port: `<NAME>_GRPC_PROCESSES`, else
        `INTEGRITY_GRPC_PROCESSES`."""
        count = int(self.service_grpc_processes.get(service, self.grpc_processes))
        if not 1 <= count <= 64:
            raise ValueError(f"{service.upper()}_GRPC_PROCESSES must be between 1 and 64, not {count}")
        return count

    def metrics_port(self, service: str, default_port: int) -> int:
        """The service's Prometheus port: `<NAME>_METRICS_PORT`, else its gRPC port + 1000."""
        return int(self.metrics_ports.get(service, self.port(service, default_port) + 1000))

    def mtls_port(self, service: str) -> int | None:
        """Where the service serves mutual TLS, when it does (`<NAME>_MTLS_PORT`)."""
        port = self.mtls_ports.get(service)
        return None if port is None else int(port)

    def health_port(self, service: str) -> int | None:
        """Where the service answers health checks in plaintext, when asked to (`<NAME>_HEALTH_PORT`)."""
        port = self.health_ports.get(service)
        return None if port is None else int(port)

    def address(self, service: str, default_port: int) -> str:
        return f"{self.host}:{self.port(service, default_port)}"

    def database_url(self, service: str) -> str:
        url = self.database_urls.get(service)
        return url or f"sqlite:///{(self.var_dir / f'{service}.db').as_posix()}"

    @property
    def calendar_path(self) -> Path:
        return self.calendar_file or self.var_dir / "calendar.toml"

    @property
    def private_key_path(self) -> Path:
        return self.jwt_private_key_file or self.var_dir / "keys" / "jwt-ed25519.pem"

    @property
    def public_key_path(self) -> Path:
        return self.jwt_public_key_file or self.var_dir / "keys" / "jwt-ed25519.pub.pem"


# `enterprises_port`, `INTEGRITY_SCORING_DATABASE_URL`, ...: a service name, then what it configures.
_PER_SERVICE = re.compile(
    r"(?:integrity_)?(?P<name>[a-z][a-z0-9]*)_(?P<kind>mtls_port|health_port|metrics_port|port|database_url|grpc_processes)"
)
# What each kind is folded into.
_FOLDED = {
    "port": "ports",
    "mtls_port": "mtls_ports",
    "health_port": "health_ports",
    "metrics_port": "metrics_ports",
    "database_url": "database_urls",
    "grpc_processes": "service_grpc_processes",
}
# Names the platform itself uses with the same shape, never service settings.
_NOT_SERVICES = frozenset({"integrity"})


def _environment() -> dict[str, str]:
    return {
        key: value
        for key, value in os.environ.items()
        if (match := _PER_SERVICE.fullmatch(key.lower())) and match["name"] not in _NOT_SERVICES
    }


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
