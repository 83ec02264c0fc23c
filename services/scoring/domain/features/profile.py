"""What an enterprise's profile (its latest registration or update) gives the features: its categorical
attributes and its age. Pure Python."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from integrity.enterprises.v1 import enterprises_pb2
from services.scoring.domain.features.catalogue import MISSING
from shared.enums import enum_name
from shared.industries import industry_problem, normalize_industry

_NO_ATTRIBUTES = dict.fromkeys(("industry", "district", "subject_type", "size_class"), MISSING)


def profile_attributes(profile: enterprises_pb2.Enterprise | None) -> dict[str, str]:
    """The categorical attributes of a profile (shared between folds: never changed in place)."""
    if profile is None:
        return _NO_ATTRIBUTES
    return _attributes_of(
        profile.industry_code, profile.region_code, profile.subject_type, profile.size_class
    )


@lru_cache(maxsize=4096)  # a province has few distinct combinations; every registration folded asks
def _attributes_of(code: str, region_code: str, subject_type: int, size_class: int) -> dict[str, str]:
    return {
        "industry": (code if industry_problem(code) else normalize_industry(code)) if code else MISSING,
        "district": region_code or MISSING,
        # A number from a newer registry is an unknown category (the scorecard's default points).
        "subject_type": enum_name(enterprises_pb2.SubjectType, subject_type),
        "size_class": enum_name(enterprises_pb2.SizeClass, size_class),
    }


def age_years(registered_date: str, as_of: datetime) -> float | None:
    """Years since the date of business registration ("YYYY-MM-DD"); None when unknown."""
    registered = _date_of(registered_date)
    if registered is None:
        return None
    return max((as_of.date() - registered).days, 0) / 365.25


@lru_cache(maxsize=4096)  # every read of a fold asks; registration dates repeat
def _date_of(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
