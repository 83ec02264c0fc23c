"""Settings from the environment (pydantic-settings). One object, read once per process."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ServiceName = Literal["enterprises", "complaints", "inspections", "scoring"]
SERVICES: tuple[ServiceName, ...] = ("enterprises", "complaints", "inspections", "scoring")

DEFAULT_PORTS: dict[ServiceName, int] = {
    "enterprises": 50051,
    "complaints": 50052,
    "inspections": 50053,
    "scoring": 50054,
}


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

    enterprises_port: int = Field(DEFAULT_PORTS["enterprises"], validation_alias=_env("ENTERPRISES_PORT"))
    complaints_port: int = Field(DEFAULT_PORTS["complaints"], validation_alias=_env("COMPLAINTS_PORT"))
    inspections_port: int = Field(DEFAULT_PORTS["inspections"], validation_alias=_env("INSPECTIONS_PORT"))
    scoring_port: int = Field(DEFAULT_PORTS["scoring"], validation_alias=_env("SCORING_PORT"))

    enterprises_database_url: str | None = Field(None, validation_alias=_env("ENTERPRISES_DATABASE_URL"))
    complaints_database_url: str | None = Field(None, validation_alias=_env("COMPLAINTS_DATABASE_URL"))
    inspections_database_url: str | None = Field(None, validation_alias=_env("INSPECTIONS_DATABASE_URL"))
    scoring_database_url: str | None = Field(None, validation_alias=_env("SCORING_DATABASE_URL"))

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

    # Complaints: deadlines per state in calendar days, and how long a repeat counts as a duplicate.
    complaint_accept_days: int = Field(7, ge=1, validation_alias=_env("INTEGRITY_COMPLAINT_ACCEPT_DAYS"))
    complaint_resolve_days: int = Field(60, ge=1, validation_alias=_env("INTEGRITY_COMPLAINT_RESOLVE_DAYS"))
    complaint_duplicate_window_days: int = Field(
        30, ge=0, validation_alias=_env("INTEGRITY_COMPLAINT_DUPLICATE_WINDOW_DAYS")
    )

    # Inspections: results are published this many working days (Mon-Fri) after completion; overdue
    # rectifications are looked for this often.
    inspection_publication_working_days: int = Field(
        7, ge=0, validation_alias=_env("INTEGRITY_INSPECTION_PUBLICATION_WORKING_DAYS")
    )
    inspection_overdue_check_seconds: float = Field(
        60.0, gt=0, validation_alias=_env("INTEGRITY_INSPECTION_OVERDUE_CHECK_SECONDS")
    )

    grace_seconds: float = Field(5.0, validation_alias=_env("INTEGRITY_GRACE_SECONDS"))
    log_level: str = Field("INFO", validation_alias=_env("INTEGRITY_LOG_LEVEL"))

    def port(self, service: ServiceName) -> int:
        return int(getattr(self, f"{service}_port"))

    def address(self, service: ServiceName) -> str:
        return f"{self.host}:{self.port(service)}"

    def database_url(self, service: ServiceName) -> str:
        url = getattr(self, f"{service}_database_url")
        return url or f"sqlite:///{(self.var_dir / f'{service}.db').as_posix()}"

    @property
    def private_key_path(self) -> Path:
        return self.jwt_private_key_file or self.var_dir / "keys" / "jwt-ed25519.pem"

    @property
    def public_key_path(self) -> Path:
        return self.jwt_public_key_file or self.var_dir / "keys" / "jwt-ed25519.pub.pem"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
