"""The complaints service's own settings, from the environment (`INTEGRITY_COMPLAINT_...`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ComplaintSettings(BaseSettings):
    """Deadlines per state in calendar days (accept after filing, resolve after acceptance), and how long
    a repeat of a complaint counts as its duplicate."""

    model_config = SettingsConfigDict(env_prefix="INTEGRITY_COMPLAINT_", extra="ignore")

    accept_days: int = Field(7, ge=1)
    resolve_days: int = Field(60, ge=1)
    duplicate_window_days: int = Field(30, ge=0)
