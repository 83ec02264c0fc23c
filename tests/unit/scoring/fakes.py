"""Scoring's unit tests' in-memory unit of work (the same repositories and methods as the SQL one, no
database), and test data: valid USCCs and source events (registrations, inspections, complaints)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Self

from integrity.complaints.v1 import complaints_pb2
from integrity.enterprises.v1 import enterprises_pb2
from integrity.events.v1 import events_pb2
from integrity.inspections.v1 import inspections_pb2
from services.scoring.domain.appeals import Appeal, OverrideReview
from services.scoring.domain.dishonesty import DishonestyListing
from services.scoring.domain.grades import Grade, GradeChange, GradeLevel
from services.scoring.domain.history import HistoryEntry, ProjectedEnterprise
from services.scoring.domain.policy import Policy
from services.scoring.domain.repairs import CreditRepair, RepairApplication
from services.scoring.domain.risk_list import RiskCursor, RiskEntry, RiskFilter
from shared.events import Event, new_event
from shared.regions import region_prefix
from shared.unit_of_work import StorageConflict
from shared.uscc import with_check_character
from tests.unit.scoring.fake_decisions import (
    FakeAppealRepository,
    FakeCreditRepairRepository,
    FakeDishonestyListingRepository,
    FakeRepairApplicationRepository,
)

# --- the fake unit of work ----------------------------------------------------------------------------


class FakeEnterpriseRepository:
    def __init__(self, rows: dict[str, ProjectedEnterprise]) -> None:
        self.rows = rows

    def get(self, uscc: str) -> ProjectedEnterprise | None:
        return self.rows.get(uscc)

    def add(self, enterprise: ProjectedEnterprise) -> None:
        self.rows[enterprise.uscc] = enterprise

    def save(self, enterprise: ProjectedEnterprise) -> None:
        assert enterprise.uscc in self.rows  # a projection is saved after it was read
        self.rows[enterprise.uscc] = enterprise

    def get_many(self, usccs: Sequence[str]) -> dict[str, ProjectedEnterprise]:
        return {uscc: self.rows[uscc] for uscc in usccs if uscc in self.rows}

    def put_many(self, added: Sequence[ProjectedEnterprise], saved: Sequence[ProjectedEnterprise]) -> None:
        for enterprise in added:
            assert enterprise.uscc not in self.rows  # an INSERT
            self.rows[enterprise.uscc] = enterprise
        for enterprise in saved:
            self.save(enterprise)

    def region_code_of(self, uscc: str) -> str | None:
        found = self.rows.get(uscc)
        return None if found is None else found.region_code

    def region_codes_of(self, usccs: Sequence[str]) -> dict[str, str]:
        return {uscc: self.rows[uscc].region_code for uscc in usccs if uscc in self.rows}

    def usccs(self) -> list[str]:
        return sorted(self.rows)


class FakeHistoryRepository:
    def __init__(self, rows: dict[str, tuple[str, HistoryEntry]]) -> None:
        self.rows = rows  # event id -> (uscc, entry)

    def add(self, event: Event, kind: str, occurred_at: datetime) -> bool:
        if event.id in self.rows:
            return False
        self.rows[event.id] = (event.subject, HistoryEntry(event.id, occurred_at, event, None))
        return True

    def entries(self, uscc: str) -> list[HistoryEntry]:
        mine = [entry for owner, entry in self.rows.values() if owner == uscc]
        return sorted(mine, key=lambda entry: (entry.occurred_at, entry.event_id))

    def events(self, uscc: str) -> list[Event]:
        return [entry.event for entry in self.entries(uscc)]

    def events_of(self, usccs: Sequence[str]) -> dict[str, list[Event]]:
        return {uscc: events for uscc in usccs if (events := self.events(uscc))}

    def entries_of(self, usccs: Sequence[str]) -> dict[str, list[HistoryEntry]]:
        return {uscc: entries for uscc in usccs if (entries := self.entries(uscc))}

    def present(self, event_ids: Sequence[str]) -> set[str]:
        return {event_id for event_id in event_ids if event_id in self.rows}

    def add_many(self, entries: Sequence[tuple[str, str, HistoryEntry]]) -> None:
        for uscc, _kind, entry in entries:
            assert entry.event_id not in self.rows  # an INSERT
            self.rows[entry.event_id] = (uscc, entry)

    def set_levels_after(self, levels: dict[str, int]) -> None:
        for event_id, level in levels.items():
            uscc, entry = self.rows[event_id]
            self.rows[event_id] = (uscc, entry._replace(level_after=level))


class FakeGradeRepository:
    def __init__(
        self,
        current: dict[str, Grade],
        history: list[tuple[GradeChange, str]],
        enterprises: dict[str, ProjectedEnterprise],
    ) -> None:
        self.current = current
        self.history = history  # (the change, its cause event id), in the order recorded
        self.enterprises = enterprises
        self.locked: set[str] = set()  # enterprises a decision held in this unit of work

    def get(self, uscc: str) -> Grade | None:
        return self.current.get(uscc)

    def get_many(self, usccs: Sequence[str]) -> dict[str, Grade]:
        return {uscc: self.current[uscc] for uscc in usccs if uscc in self.current}

    def save(self, changes: Sequence[GradeChange], cause_event_id: str, recorded_at: datetime) -> None:
        for change in changes:
            if change.previous is None and change.uscc in self.current:
                raise StorageConflict(f"duplicate key: {change.uscc} has a grade")  # an INSERT
            self.current[change.uscc] = change.grade
            self.history.append((change, cause_event_id))

    def save_batch(
        self,
        recorded: Sequence[tuple[GradeChange, str, datetime]],
        final: Mapping[str, tuple[Grade, datetime | None]],
        stored: Collection[str],
    ) -> None:
        for change, cause_event_id, _recorded_at in recorded:
            self.history.append((change, cause_event_id))
        for uscc, (grade, _updated_at) in final.items():
            assert (uscc in self.current) == (uscc in stored)
            self.current[uscc] = grade

    def lock(self, uscc: str) -> None:
        self.locked.add(uscc)  # one caller at a time in the fake: nothing to wait for

    def touch(self, as_of_by_uscc: dict[str, datetime]) -> None:
        for uscc, as_of in as_of_by_uscc.items():
            if uscc in self.current:
                self.current[uscc] = replace(self.current[uscc], as_of=as_of)

    def move_as_of(self, usccs: Sequence[str], as_of: datetime) -> None:
        self.touch(dict.fromkeys(usccs, as_of))


@dataclass
class FakeGradeReads:
    """The use cases' GradeReads port (adapters/read_models.SqlGradeReads) over grades and projections in
    memory: the filter and the risk order spelled out in Python."""

    grades: Mapping[str, Grade]
    enterprises: Mapping[str, ProjectedEnterprise]

    def grade_and_region(self, uscc: str) -> tuple[Grade | None, str | None]:
        enterprise = self.enterprises.get(uscc)
        return self.grades.get(uscc), None if enterprise is None else enterprise.region_code

    def risk_entries(self, risk_filter: RiskFilter, limit: int, after: RiskCursor | None) -> list[RiskEntry]:
        entries = [
            RiskEntry(uscc, e.display_name, e.region_code, e.industry_code, grade)
            for uscc, grade in self.grades.items()
            if (e := self.enterprises.get(uscc)) is not None and _matches(risk_filter, e, grade)
        ]
        entries.sort(key=lambda entry: entry.cursor.sort_key())
        if after is not None:
            entries = [e for e in entries if e.cursor.sort_key() > after.sort_key()]
        return entries[:limit]


def _matches(risk_filter: RiskFilter, enterprise: ProjectedEnterprise, grade: Grade) -> bool:
    region, industry = risk_filter.region_code, risk_filter.industry_code
    return (
        (region is None or enterprise.region_code.startswith(region_prefix(region)))
        and (industry is None or enterprise.industry_code.startswith(industry))
        and risk_filter.level in (None, grade.level)
        and risk_filter.subject_type in (None, enterprise.subject_type)
        and risk_filter.provisional in (None, grade.provisional)
    )


@dataclass
class FakeScoringUnitOfWork:
    """Entering copies the committed state into the repositories; `commit` copies it back and publishes
    the staged events (`published`, in order); leaving rolls back what was not committed. Like the SQL
    unit of work, it can be entered again once left."""

    enterprises_rows: dict[str, ProjectedEnterprise] = field(default_factory=dict)
    history_rows: dict[str, tuple[str, HistoryEntry]] = field(default_factory=dict)
    grade_rows: dict[str, Grade] = field(default_factory=dict)
    grade_history: list[tuple[GradeChange, str]] = field(default_factory=list)
    appeal_rows: dict[str, Appeal] = field(default_factory=dict)
    review_rows: dict[str, list[OverrideReview]] = field(default_factory=dict)
    repair_rows: dict[str, CreditRepair] = field(default_factory=dict)
    application_rows: dict[str, RepairApplication] = field(default_factory=dict)
    listing_rows: dict[str, DishonestyListing] = field(default_factory=dict)
    published: list[tuple[str, Event]] = field(default_factory=list)
    committed_events: int = 0
    entered: int = 0
    commits: int = 0

    def __enter__(self) -> Self:
        self.entered += 1
        self._open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.rollback()

    def _open(self) -> None:
        enterprises = dict(self.enterprises_rows)
        self.enterprises = FakeEnterpriseRepository(enterprises)
        self.history = FakeHistoryRepository(dict(self.history_rows))
        self.grades = FakeGradeRepository(dict(self.grade_rows), list(self.grade_history), enterprises)
        self.appeals = FakeAppealRepository(dict(self.appeal_rows), dict(self.review_rows), enterprises)
        self.repairs = FakeCreditRepairRepository(dict(self.repair_rows))
        self.applications = FakeRepairApplicationRepository(dict(self.application_rows), enterprises)
        self.listings = FakeDishonestyListingRepository(dict(self.listing_rows), enterprises)
        self._staged: list[tuple[str, Event]] = []

    def add_event(self, topic: str, event: Event) -> None:
        self._staged.append((topic, event))

    def add_events(
        self, topic: str, events: Sequence[Event], trace_contexts: Sequence[str | None] | None = None
    ) -> None:
        self._staged.extend((topic, event) for event in events)

    def trace_context(self) -> str | None:
        return None  # no tracing in the unit tests

    def present_event_ids(self, event_ids: Collection[str]) -> set[str]:
        ids = {event.id for _, event in (*self.published, *self._staged)}
        return ids.intersection(event_ids)

    def commit(self) -> None:
        outbox = [event.id for _, event in (*self.published, *self._staged)]
        if len(outbox) != len(set(outbox)):
            self.rollback()
            raise StorageConflict("duplicate event id in the outbox")
        self.enterprises_rows = dict(self.enterprises.rows)
        self.history_rows = dict(self.history.rows)
        self.grade_rows = dict(self.grades.current)
        self.grade_history = list(self.grades.history)
        self.appeal_rows = dict(self.appeals.rows)
        self.review_rows = dict(self.appeals.reviews)
        self.repair_rows = dict(self.repairs.rows)
        self.application_rows = dict(self.applications.rows)
        self.listing_rows = dict(self.listings.rows)
        self.published.extend(self._staged)
        self.committed_events += len(self._staged)
        self.commits += 1
        self._staged = []

    def rollback(self) -> None:
        self._open()

    def published_kinds(self) -> list[str | None]:
        """The payload kinds of the published events, in order (e.g. "grade_changed")."""
        return [event.WhichOneof("payload") for _, event in self.published]


# --- test data ----------------------------------------------------------------------------------------


def uscc(serial: int, region: str = "610112") -> str:
    """A valid USCC registered in `region`, distinct per serial."""
    return with_check_character(f"91{region}MA{serial:07d}")


def registration(
    code: str,
    *,
    region: str = "610112",
    industry: str = "F5265",
    name: str = "西安市某某加油站有限公司",
    occurred_at: datetime | None = None,
    subject: str | None = None,
) -> Event:
    enterprise = enterprises_pb2.Enterprise(
        name=f"enterprises/{code}",
        uscc=code,
        display_name=name,
        region_code=region,
        industry_code=industry,
        subject_type=enterprises_pb2.SubjectType.SUBJECT_TYPE_TRADE_INSTRUMENT_USER,
        registered_date="2020-05-01",
    )
    payload = events_pb2.EnterpriseRegistered(enterprise=enterprise)
    return new_event("//integrity/enterprises", subject or code, payload, occurred_at=occurred_at)


ENTERPRISES_SOURCE = "//integrity/enterprises"
COMPLAINTS_SOURCE = "//integrity/complaints"
INSPECTIONS_SOURCE = "//integrity/inspections"
Outcome = inspections_pb2.InspectionOutcome
# The outcomes a stream of inspections draws from, best first.
OUTCOMES = (
    Outcome.INSPECTION_OUTCOME_COMPLIANT,
    Outcome.INSPECTION_OUTCOME_MINOR_VIOLATION,
    Outcome.INSPECTION_OUTCOME_MAJOR_VIOLATION,
    Outcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION,
)


def inspection(
    code: str,
    at: datetime,
    outcome: int = Outcome.INSPECTION_OUTCOME_COMPLIANT,
    name: str | None = None,
    **summary: object,
) -> Event:
    payload = events_pb2.InspectionCompleted(
        inspection=name or f"inspections/{uuid.uuid4()}",
        outcome=outcome,  # type: ignore[arg-type]
        summary=events_pb2.InspectionFindingSummary(**summary),  # type: ignore[arg-type]
    )
    return new_event(INSPECTIONS_SOURCE, code, payload, occurred_at=at)


def complaint_filed(code: str, at: datetime, name: str | None = None) -> Event:
    payload = events_pb2.ComplaintFiled(
        complaint=name or f"complaints/{uuid.uuid4()}",
        category=complaints_pb2.COMPLAINT_CATEGORY_SHORT_WEIGHT_OR_MEASURE,
        channel=complaints_pb2.COMPLAINT_CHANNEL_PLATFORM_12315,
        anonymous=True,
        region_code=code[2:8],
    )
    return new_event(COMPLAINTS_SOURCE, code, payload, occurred_at=at)


def complaint_resolved(code: str, at: datetime, name: str, substantiated: bool) -> Event:
    payload = events_pb2.ComplaintResolved(
        complaint=name,
        category=complaints_pb2.COMPLAINT_CATEGORY_SHORT_WEIGHT_OR_MEASURE,
        substantiated=substantiated,
    )
    return new_event(COMPLAINTS_SOURCE, code, payload, occurred_at=at)


def serious_violation_at_d(policy: Policy) -> Policy:
    """The policy with its SERIOUS_VIOLATION rule at D (the shipped policy puts it at C): tests of appeals
    and repairs start from an enterprise a rule holds at D."""
    rules = tuple(
        replace(rule, level=GradeLevel.D) if rule.code == "SERIOUS_VIOLATION" else rule
        for rule in policy.hard_rules
    )
    return replace(policy, hard_rules=rules)
