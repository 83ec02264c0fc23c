"""The complaints service's own settings, from the environment (`INTEGRITY_COMPLAINT_...`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.complaints.domain.deadlines import ACCEPT_WORKING_DAYS, RESOLVE_WORKING_DAYS


class ComplaintSettings(BaseSettings):
    """Deadlines in working days of the PRC calendar (accept after receipt, resolve after acceptance; the
    SAMR rules' 7 and 45 by default), and how long a repeat of a complaint counts as its duplicate."""

    model_config = SettingsConfigDict(env_prefix="INTEGRITY_COMPLAINT_", extra="ignore")

    accept_working_days: int = Field(ACCEPT_WORKING_DAYS, ge=1)
    resolve_working_days: int = Field(RESOLVE_WORKING_DAYS, ge=1)
    duplicate_window_days: int = Field(30, ge=0)
