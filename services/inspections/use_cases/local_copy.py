"""Keeping the local copy of other services' facts about enterprises, as their events arrive.

These run inside the consumer's open unit of work (its inbox commits with them); they never commit.
"""

from __future__ import annotations

from services.inspections.domain.local_copy import TRIGGER_COMPLAINT
from services.inspections.use_cases.unit_of_work import InspectionsUoW


def record_registry_facts(
    uow: InspectionsUoW, uscc: str, *, region_code: str, display_name: str, subject_type: int, status: int
) -> None:
    """An enterprise registered, updated or whose status changed."""
    copy = uow.enterprises.get(uscc).with_registry_facts(
        region_code=region_code, display_name=display_name, subject_type=subject_type, status=status
    )
    uow.enterprises.save(copy)


def record_grade(uow: InspectionsUoW, uscc: str, level: int, region_code: str) -> None:
    """Scoring graded the enterprise: its level sets its sampling ratio in the next plan."""
    uow.enterprises.save(uow.enterprises.get(uscc).with_grade(level, region_code))


def record_resolved_complaint(
    uow: InspectionsUoW, uscc: str, *, substantiated: bool, duplicate: bool
) -> None:
    """A substantiated complaint (not a duplicate of one counted already) puts the enterprise in its
    region's next plan."""
    if not substantiated or duplicate:
        return
    uow.enterprises.save(uow.enterprises.get(uscc).triggered(TRIGGER_COMPLAINT))
