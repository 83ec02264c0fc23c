"""The inspections service's own settings, from the environment (`INTEGRITY_INSPECTION_...`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class InspectionSettings(BaseSettings):
    """Results are published this many working days after completion; overdue rectifications are looked
    for this often; a plan's seed is revealed once its inspections are published, at the latest this many
    days after the draw."""

    model_config = SettingsConfigDict(env_prefix="INTEGRITY_INSPECTION_", extra="ignore")

    publication_working_days: int = Field(7, ge=0)
    overdue_check_seconds: float = Field(60.0, gt=0)
    plan_reveal_days: int = Field(180, ge=1)
