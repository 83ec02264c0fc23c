"""The scoring service's own settings, from the environment (`INTEGRITY_SCORING_...`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ScoringSettings(BaseSettings):
    """How often the counts behind the dashboards (SummarizeGrades) are taken again."""

    model_config = SettingsConfigDict(env_prefix="INTEGRITY_SCORING_", extra="ignore")

    summary_refresh_seconds: float = Field(120.0, gt=0)
