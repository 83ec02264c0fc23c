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

    # Per service (named by its manifest): `<NAME>_PORT`, `<NAME>_METRICS_PORT` and `<NAME>_DATABASE_URL` in
    # the environment (an `INTEGRITY_` prefix also works), or `<name>_port=` ... given to Settings.
    ports: dict[str, int] = Field(default_factory=dict)
    metrics_ports: dict[str, int] = Field(default_factory=dict)
    database_urls: dict[str, str] = Field(default_factory=dict)

    # Prometheus metrics on each service's metrics port (its gRPC port + 1000 unless set).
    metrics_enabled: bool = Field(True, validation_alias=_env("INTEGRITY_METRICS_ENABLED"))
    # Traces: an OTLP/gRPC collector (e.g. http://otel-collector:4317); empty means no traces are exported.
    otlp_endpoint: str = Field(
        "", validation_alias=_env("OTEL_EXPORTER_OTLP_ENDPOINT", "INTEGRITY_OTLP_ENDPOINT")
    )

    # Token signing (Ed25519). Generated under var/keys/ on first use when the files do not exist.
    jwt_private_key_file: Path | None = Field(None, validation_alias=_env("INTEGRITY_JWT_PRIVATE_KEY_FILE"))
    jwt_public_key_file: Path | None = Field(None, validation_alias=_env("INTEGRITY_JWT_PUBLIC_KEY_FILE"))
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
        found: dict[str, dict[str, Any]] = {
            kind: dict(data.pop(field, None) or {}) for kind, field in _PER_SERVICE_FIELDS.items()
        }
        for source in (_environment(), data):
            for key in list(source):
                if match := _PER_SERVICE.fullmatch(key.lower()):
                    value = source.pop(key) if source is data else source[key]
                    found[match["kind"]][match["name"]] = value
        data.update({field: found[kind] for kind, field in _PER_SERVICE_FIELDS.items()})
        return data

    def port(self, service: str, default: int) -> int:
        return int(self.ports.get(service, default))

    def metrics_port(self, service: str, default_port: int) -> int:
        """The service's Prometheus port: `<NAME>_METRICS_PORT`, else its gRPC port + 1000."""
        return int(self.metrics_ports.get(service, self.port(service, default_port) + 1000))

    def address(self, service: str, default_port: int) -> str:
        return f"{self.host}:{self.port(service, default_port)}"

    def database_url(self, service: str) -> str:
        url = self.database_urls.get(service)
        return url or f"sqlite:///{(self.var_dir / f'{service}.db').as_posix()}"

    @property
    def private_key_path(self) -> Path:
        return self.jwt_private_key_file or self.var_dir / "keys" / "jwt-ed25519.pem"

    @property
    def public_key_path(self) -> Path:
        return self.jwt_public_key_file or self.var_dir / "keys" / "jwt-ed25519.pub.pem"


# `enterprises_port`, `INTEGRITY_SCORING_DATABASE_URL`, ...: a service name, then what it configures.
_PER_SERVICE = re.compile(r"(?:integrity_)?(?P<name>[a-z][a-z0-9]*)_(?P<kind>metrics_port|port|database_url)")
_PER_SERVICE_FIELDS = {"port": "ports", "metrics_port": "metrics_ports", "database_url": "database_urls"}
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
