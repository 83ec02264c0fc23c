"""What the inspections use cases need of a unit of work: the SQL one (`adapters.unit_of_work`) and the test
fake (`tests/unit/inspections/fakes.py`) both provide it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Protocol

from services.inspections.domain.inspections import Inspection, PublishedResult
from services.inspections.domain.inspectors import Inspector
from services.inspections.domain.local_copy import EnterpriseCopy
from services.inspections.domain.plans import Plan
from services.inspections.domain.worklist import InspectionQuery
from shared.ports import UnitOfWorkPort


class InspectorRepository(Protocol):
    def add(self, inspector: Inspector) -> None: ...

    def save(self, inspector: Inspector) -> None: ...

    def get(self, inspector_id: str) -> Inspector | None: ...

    def list(self, region_code: str, after_id: str | None, limit: int) -> list[Inspector]:
        """Up to `limit` inspectors of the region (every region for ""), by id, those after `after_id`."""
        ...

    def available_in(self, region_code: str) -> list[Inspector]:
        """The region's inspectors that may be drawn."""
        ...


class PlanRepository(Protocol):
    def add(self, plan: Plan) -> None: ...

    def get(self, plan_id: str) -> Plan | None: ...

    def get_by_request_id(self, request_id: str) -> Plan | None: ...

    def list(self, region_code: str, offset: int, limit: int) -> list[Plan]:
        """The plans of the region and the regions inside it, newest first, from `offset` on."""
        ...

    def committed(self, region_code: str, after_id: str | None, limit: int) -> list[Plan]:
        """Up to `limit` plans with a commitment, of the region ("" = every one), newest first, those
        before `after_id`."""
        ...

    def get_many(self, plan_ids: Iterable[str]) -> dict[str, Plan]: ...


class InspectionRepository(Protocol):
    def add(self, inspection: Inspection, position: int) -> None:
        """`position`: its place in the plan's draw, so `plan verify` compares in order."""
        ...

    def get(self, inspection_id: str) -> Inspection | None: ...

    def save(self, inspection: Inspection, expected_state: int) -> bool:
        """Writes the changed inspection only while its stored state is `expected_state` (the guard
        against a concurrent move); False when another transaction moved it first."""
        ...

    def of_plan(self, plan_id: str) -> list[Inspection]:
        """The plan's inspections in the draw's order."""
        ...

    def unpublished_counts(self, plan_ids: Iterable[str], today: date) -> dict[str, int]:
        """Plan id -> how many of its inspections are not published by `today` (0 for none)."""
        ...

    def planned_loads(self) -> dict[str, int]:
        """Inspector id -> how many PLANNED inspections it is assigned to (every region)."""
        ...

    def previous_leads(self, region_code: str) -> dict[str, str]:
        """USCC -> the inspector who led its latest inspection, for the region's enterprises."""
        ...

    def rectifications_due_before(self, now: datetime, limit: int) -> list[Inspection]:
        """RECTIFYING inspections whose deadline is before `now`, by id."""
        ...

    def list(self, query: InspectionQuery, after_id: str | None, limit: int) -> list[Inspection]:
        """Up to `limit` inspections matching `query`, by id, those after `after_id`."""
        ...

    def published(
        self,
        region_code: str | None,
        today: date,
        after_id: str | None,
        limit: int,
        plan_id: str | None = None,
    ) -> list[PublishedResult]:
        """Completed results whose publication date has come (of one plan, when given), newest id first,
        with the enterprise name."""
        ...


class EnterpriseCopyRepository(Protocol):
    """The local copy of other services' facts about enterprises."""

    def get(self, uscc: str) -> EnterpriseCopy:
        """The copy of `uscc`; a blank one (region from the USCC) when first heard of."""
        ...

    def save(self, copy: EnterpriseCopy) -> None: ...

    def active_in(self, region_code: str, subject_type: int) -> list[EnterpriseCopy]:
        """The region's active enterprises (of `subject_type` unless 0): a plan's population."""
        ...

    def clear_triggers(self, usccs: Iterable[str]) -> None: ...


class InspectionsUoW(UnitOfWorkPort, Protocol):
    inspectors: InspectorRepository
    plans: PlanRepository
    inspections: InspectionRepository
    # The local copy of other services' facts about enterprises.
    enterprises: EnterpriseCopyRepository
