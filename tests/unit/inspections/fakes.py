"""An in-memory stand-in for the inspections unit of work (same repositories, same methods, no database).

It mirrors `services.inspections.adapters.unit_of_work.InspectionsUnitOfWork`: `uow.inspectors`,
`uow.plans`, `uow.inspections` and `uow.enterprises` (the local copy) answer the same questions as the SQL
repositories, nothing is visible to the next unit of work until `commit()`, and a commit that breaks a
unique key (an id, a plan's request id) raises StorageConflict like the database.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Self

from services.inspections.domain.inspections import PLANNED, RECTIFYING, Inspection, PublishedResult
from services.inspections.domain.inspectors import Inspector
from services.inspections.domain.local_copy import ACTIVE, EnterpriseCopy
from services.inspections.domain.plans import Plan
from services.inspections.domain.worklist import InspectionQuery
from shared.errors import StorageConflict
from shared.events import Event
from shared.regions import region_contains


def _in_region(region_code: str, code: str) -> bool:
    return not region_code or region_contains(region_code, code)


class FakeInspectorRepository:
    def __init__(self, rows: dict[str, Inspector]) -> None:
        self.rows = rows
        self.added: list[Inspector] = []

    def add(self, inspector: Inspector) -> None:
        self.rows[inspector.id] = inspector
        self.added.append(inspector)

    def save(self, inspector: Inspector) -> None:
        assert inspector.id in self.rows
        self.rows[inspector.id] = inspector

    def get(self, inspector_id: str) -> Inspector | None:
        return self.rows.get(inspector_id)

    def list(self, region_code: str, after_id: str | None, limit: int) -> list[Inspector]:
        found = (
            i
            for i in self.rows.values()
            if _in_region(region_code, i.region_code) and (after_id is None or i.id > after_id)
        )
        return sorted(found, key=lambda i: i.id)[:limit]

    def available_in(self, region_code: str) -> list[Inspector]:
        return [i for i in self.rows.values() if _in_region(region_code, i.region_code) and i.available]


class FakePlanRepository:
    def __init__(self, rows: dict[str, Plan]) -> None:
        self.rows = rows
        self.added: list[Plan] = []

    def add(self, plan: Plan) -> None:
        self.rows[plan.id] = plan
        self.added.append(plan)

    def get(self, plan_id: str) -> Plan | None:
        return self.rows.get(plan_id)

    def get_by_request_id(self, request_id: str) -> Plan | None:
        return next((p for p in self.rows.values() if p.request_id == request_id), None)

    def committed(self, region_code: str, after_id: str | None, limit: int) -> list[Plan]:
        found = (
            p
            for p in self.rows.values()
            if p.commitment is not None
            and _in_region(region_code, p.region_code)
            and (after_id is None or p.id < after_id)
        )
        return sorted(found, key=lambda p: p.id, reverse=True)[:limit]

    def get_many(self, plan_ids: Iterable[str]) -> dict[str, Plan]:
        return {plan_id: self.rows[plan_id] for plan_id in set(plan_ids) if plan_id in self.rows}


class FakeInspectionRepository:
    def __init__(
        self, rows: dict[str, tuple[Inspection, int]], enterprises: dict[str, EnterpriseCopy]
    ) -> None:
        self.rows = rows  # id -> (inspection, its position in the plan's draw)
        self.enterprises = enterprises  # the same unit of work's local copy, for published names

    def add(self, inspection: Inspection, position: int) -> None:
        if inspection.id in self.rows:
            raise StorageConflict(f"duplicate inspection {inspection.id}")
        self.rows[inspection.id] = (inspection, position)

    def get(self, inspection_id: str) -> Inspection | None:
        found = self.rows.get(inspection_id)
        return found[0] if found is not None else None

    def save(self, inspection: Inspection, expected_state: int) -> bool:
        stored, position = self.rows[inspection.id]
        if stored.state != expected_state:
            return False
        self.rows[inspection.id] = (inspection, position)
        return True

    def _all(self) -> list[Inspection]:
        return [inspection for inspection, _ in self.rows.values()]

    def of_plan(self, plan_id: str) -> list[Inspection]:
        mine = [(position, i) for i, position in self.rows.values() if i.plan_id == plan_id]
        return [i for _, i in sorted(mine, key=lambda pair: pair[0])]

    def unpublished_counts(self, plan_ids: Iterable[str], today: date) -> dict[str, int]:
        ids = set(plan_ids)
        counts = dict.fromkeys(ids, 0)
        for inspection in self._all():
            if inspection.plan_id in ids and (
                inspection.publish_date is None or inspection.publish_date > today
            ):
                counts[inspection.plan_id] += 1
        return counts

    def planned_loads(self) -> dict[str, int]:
        loads: dict[str, int] = {}
        for inspection in self._all():
            if inspection.state == PLANNED:
                for officer_id in inspection.inspectors:
                    loads[officer_id] = loads.get(officer_id, 0) + 1
        return loads

    def previous_leads(self, region_code: str) -> dict[str, str]:
        ordered = sorted(self._all(), key=lambda i: (i.create_time, i.id))
        return {i.uscc: i.lead for i in ordered if _in_region(region_code, i.region_code)}

    def rectifications_due_before(self, now: datetime, limit: int) -> list[Inspection]:
        due = (
            i
            for i in self._all()
            if i.state == RECTIFYING
            and i.rectification_deadline is not None
            and i.rectification_deadline < now
        )
        return sorted(due, key=lambda i: i.id)[:limit]

    def list(self, query: InspectionQuery, after_id: str | None, limit: int) -> list[Inspection]:
        found = (
            i
            for i in self._all()
            if query.plan_id in (None, i.plan_id)
            and (query.inspector_id is None or query.inspector_id in i.inspectors)
            and query.state in (None, i.state)
            and _in_region(query.region_code or "", i.region_code)
            and query.uscc in (None, i.uscc)
            and (after_id is None or i.id > after_id)
        )
        return sorted(found, key=lambda i: i.id)[:limit]

    def published(
        self,
        region_code: str | None,
        today: date,
        after_id: str | None,
        limit: int,
        plan_id: str | None = None,
    ) -> list[PublishedResult]:
        found = (
            i
            for i in self._all()
            if i.publish_date is not None
            and i.publish_date <= today
            and _in_region(region_code or "", i.region_code)
            and plan_id in (None, i.plan_id)
            and (after_id is None or i.id < after_id)
        )
        newest_first = sorted(found, key=lambda i: i.id, reverse=True)[:limit]
        return [PublishedResult(i, self._name_of(i.uscc)) for i in newest_first]

    def _name_of(self, uscc: str) -> str:
        copy = self.enterprises.get(uscc)
        return copy.display_name if copy is not None else ""


class FakeEnterpriseCopyRepository:
    def __init__(self, rows: dict[str, EnterpriseCopy]) -> None:
        self.rows = rows

    def get(self, uscc: str) -> EnterpriseCopy:
        return self.rows.get(uscc) or EnterpriseCopy.first_heard_of(uscc)

    def save(self, copy: EnterpriseCopy) -> None:
        self.rows[copy.uscc] = copy

    def active_in(self, region_code: str, subject_type: int) -> list[EnterpriseCopy]:
        return [
            e
            for e in self.rows.values()
            if _in_region(region_code, e.region_code)
            and e.status == ACTIVE
            and (not subject_type or e.subject_type == subject_type)
        ]

    def clear_triggers(self, usccs: Iterable[str]) -> None:
        for uscc in usccs:
            if (copy := self.rows.get(uscc)) is not None and copy.trigger:
                self.rows[uscc] = copy.triggered("")


@dataclass
class FakeUnitOfWork:
    """Commits copy the working set over the `committed_*` state; `published` holds the committed events."""

    committed_inspectors: dict[str, Inspector] = field(default_factory=dict)
    committed_plans: dict[str, Plan] = field(default_factory=dict)
    committed_inspections: dict[str, tuple[Inspection, int]] = field(default_factory=dict)
    committed_enterprises: dict[str, EnterpriseCopy] = field(default_factory=dict)
    published: list[tuple[str, Event]] = field(default_factory=list)
    committed_events: int = 0

    def __enter__(self) -> Self:
        self.inspectors = FakeInspectorRepository(dict(self.committed_inspectors))
        self.plans = FakePlanRepository(dict(self.committed_plans))
        self.enterprises = FakeEnterpriseCopyRepository(dict(self.committed_enterprises))
        self.inspections = FakeInspectionRepository(dict(self.committed_inspections), self.enterprises.rows)
        self._staged: list[tuple[str, Event]] = []
        return self

    def __exit__(self, *exc: object) -> None:
        self.rollback()

    def add_event(self, topic: str, event: Event) -> None:
        self._staged.append((topic, event))

    def add_events(self, topic: str, events: Sequence[Event]) -> None:
        self._staged.extend((topic, event) for event in events)

    def present_event_ids(self, event_ids: Collection[str]) -> set[str]:
        return {event.id for _, event in self.published} & set(event_ids)

    def commit(self) -> None:
        request_ids = {p.request_id for p in self.committed_plans.values() if p.request_id}
        clashes = [i.id for i in self.inspectors.added if i.id in self.committed_inspectors] + [
            p.id for p in self.plans.added if p.id in self.committed_plans or p.request_id in request_ids
        ]
        if clashes:
            self.rollback()
            raise StorageConflict(f"duplicate key for {', '.join(clashes)}")
        self.committed_inspectors = dict(self.inspectors.rows)
        self.committed_plans = dict(self.plans.rows)
        self.committed_inspections = dict(self.inspections.rows)
        self.committed_enterprises = dict(self.enterprises.rows)
        self.inspectors.added, self.plans.added = [], []
        self.published.extend(self._staged)
        self.committed_events += len(self._staged)
        self._staged = []

    def rollback(self) -> None:
        self._staged = []

    # --- for tests ----------------------------------------------------------------------------------

    def inspection(self, inspection_id: str) -> Inspection:
        return self.committed_inspections[inspection_id][0]

    def event_types(self) -> list[str]:
        return [event.WhichOneof("payload") or "" for _, event in self.published]
