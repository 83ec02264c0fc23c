"""The console's own settings from the environment (the platform's are in `shared.settings`)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from console.manifest import CONSOLE
from shared.settings import Settings


class Mode(StrEnum):
    # Sign-in picks a role and the console signs the token with the stack's key (var/keys/).
    LOCAL = "local"
    # Only tokens of the province's identity provider, verified with its public key; local sign-in refused.
    PRODUCTION = "production"


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INTEGRITY_CONSOLE_", extra="ignore")

    mode: Mode = Mode.LOCAL
    # Signs the session cookie; generated under var/keys/ when unset (set it when running replicas).
    session_secret_file: Path | None = None
    session_hours: float = Field(8.0, gt=0)
    # Where the identity provider signs people in (production); shown on the sign-in page.
    identity_provider_url: str = ""
    # Per service: host:port of its gRPC API, e.g. INTEGRITY_CONSOLE_SCORING_ADDRESS=scoring:50054.
    enterprises_address: str = ""
    complaints_address: str = ""
    inspections_address: str = ""
    scoring_address: str = ""

    def address(self, platform: Settings, service: str) -> str:
        """Where the console calls `service`: its address setting, else the stack's host and port."""
        configured = getattr(self, f"{service}_address", "")
        if configured:
            return configured
        host = "127.0.0.1" if platform.host in ("0.0.0.0", "::", "") else platform.host
        return f"{host}:{platform.port(service, CONSOLE.upstreams[service])}"

    def secret_path(self, platform: Settings) -> Path:
        return self.session_secret_file or platform.var_dir / "keys" / "console-session.key"
