"""The local copy of other services' facts about an enterprise: the registry's (population, subject type,
name), scoring's grade, and triggers (a substantiated complaint, an overdue rectification) that put it in
its region's next plan. Fed by their events; never asked of them synchronously."""

from __future__ import annotations

from dataclasses import dataclass, replace

from integrity.enterprises.v1 import enterprises_pb2
from shared.regions import region_problem

ACTIVE = enterprises_pb2.ENTERPRISE_STATUS_ACTIVE
TRIGGER_COMPLAINT = "COMPLAINT"
TRIGGER_OVERDUE = "RECTIFICATION_OVERDUE"


@dataclass(frozen=True)
class EnterpriseCopy:
    uscc: str
    region_code: str
    display_name: str = ""
    subject_type: int = 0
    status: int = 0
    grade_level: int = 0  # a GradeLevel; 0 until a GradeChanged arrives
    # Non-empty while the enterprise must be in the next plan of its region, e.g. "COMPLAINT".
    trigger: str = ""

    @classmethod
    def first_heard_of(cls, uscc: str) -> EnterpriseCopy:
        """What is known of an enterprise before any fact about it: its region, from its USCC."""
        return cls(uscc=uscc, region_code=uscc[2:8])

    def with_registry_facts(
        self, *, region_code: str, display_name: str, subject_type: int, status: int
    ) -> EnterpriseCopy:
        """The registry's facts from an enterprise event; what it leaves empty is kept (status: ACTIVE)."""
        return replace(
            self,
            region_code=_region_or(region_code, self.region_code),
            display_name=display_name or self.display_name,
            subject_type=subject_type or self.subject_type,
            status=status or ACTIVE,
        )

    def with_grade(self, level: int, region_code: str) -> EnterpriseCopy:
        return replace(self, grade_level=level, region_code=_region_or(region_code, self.region_code))

    def triggered(self, trigger: str) -> EnterpriseCopy:
        return replace(self, trigger=trigger)


def _region_or(region_code: str, known: str) -> str:
    """A valid region code from an event replaces the known one; an empty or malformed one does not."""
    return region_code if region_code and region_problem(region_code) is None else known
