"""Importing inspection events (`use_cases/history.py`) against the in-memory unit of work: an imported result
is held to CompleteInspection's rules in its words, names are checked, and only accepted events are staged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from integrity.events.v1 import events_pb2
from integrity.inspections.v1 import inspections_pb2 as P
from services.inspections.domain.findings import Findings
from services.inspections.domain.inspections import Inspection, complete
from services.inspections.manifest import TOPIC
from services.inspections.use_cases.history import stage_imported
from shared.errors import IntegrityError
from shared.events import Event, new_event
from shared.history_import import IMPORTED, PRESENT, ImportOutcome, Outcome
from tests.helpers import valid_uscc
from tests.unit.inspections.fakes import FakeUnitOfWork

USCC = valid_uscc(3)
NAME = "inspections/0194b2c3d4e5f6a7b8c9d0e1"
WHEN = datetime(2024, 3, 5, 9, 30, tzinfo=UTC)


def event(payload: object) -> Event:
    return new_event("//integrity/inspections", USCC, payload, occurred_at=WHEN)  # type: ignore[arg-type]


def completed(**fields: object) -> Event:
    payload = events_pb2.InspectionCompleted(inspection=NAME, **fields)  # type: ignore[arg-type]
    return event(payload)


def staged(events: list[Event], uow: FakeUnitOfWork) -> list[ImportOutcome]:
    with uow:
        outcomes = stage_imported(uow, events, TOPIC)
        uow.commit()
    return outcomes


def test_valid_events_are_staged_once() -> None:
    deadline = events_pb2.InspectionCompleted().rectification_deadline
    deadline.FromDatetime(WHEN + timedelta(days=30))
    events = [
        event(events_pb2.InspectionPlanned(inspection=NAME, plan="inspectionPlans/0194b2c3d4e5f6a7b8c9d0e2")),
        completed(
            outcome=P.INSPECTION_OUTCOME_MINOR_VIOLATION,
            summary=events_pb2.InspectionFindingSummary(instruments_checked=2, instruments_overdue=1),
            rectification_deadline=deadline,
        ),
        # A legacy result may lack the deadline that CompleteInspection requires.
        completed(outcome=P.INSPECTION_OUTCOME_MAJOR_VIOLATION),
        # Findings counted by severity: the outcome is the worst one counted.
        completed(
            outcome=P.INSPECTION_OUTCOME_MAJOR_VIOLATION,
            summary=events_pb2.InspectionFindingSummary(minor_findings=4, major_findings=2),
        ),
        event(events_pb2.RectificationOverdue(inspection=NAME)),
        event(events_pb2.RectificationCompleted(inspection=NAME)),
    ]
    uow = FakeUnitOfWork()
    assert staged(events, uow) == [IMPORTED] * 6
    assert [(topic, e.id) for topic, e in uow.published] == [(TOPIC, e.id) for e in events]
    assert staged(events, uow) == [PRESENT] * 6 and len(uow.published) == 6


@pytest.mark.parametrize(
    ("imported", "expected"),
    [
        (event(events_pb2.RectificationCompleted(inspection="i")), "inspection: must be inspections/{id}"),
        (
            event(events_pb2.InspectionPlanned(inspection=NAME, plan="p")),
            "plan: must be inspectionPlans/{id}",
        ),
        (completed(outcome=0), "outcome: is required: COMPLIANT, MINOR, MAJOR or SERIOUS_VIOLATION"),
        (
            completed(
                outcome=P.INSPECTION_OUTCOME_COMPLIANT,
                summary=events_pb2.InspectionFindingSummary(net_content_samples=3, net_content_short=1),
            ),
            "outcome: cannot be COMPLIANT when the findings show a violation",
        ),
        (
            completed(outcome=P.INSPECTION_OUTCOME_COMPLIANT, penalty_reference="罚"),
            "penalty_reference: must be empty for a COMPLIANT outcome",
        ),
        (
            completed(
                outcome=P.INSPECTION_OUTCOME_MINOR_VIOLATION,
                summary=events_pb2.InspectionFindingSummary(instruments_checked=1, instruments_failed=2),
            ),
            "summary.instruments_checked: must be at least instruments_overdue + instruments_failed",
        ),
        (
            completed(
                outcome=P.INSPECTION_OUTCOME_MINOR_VIOLATION,
                rectification_deadline=events_pb2.InspectionCompleted().rectification_deadline,
            ),
            "rectification_deadline: must be after the inspection (time)",
        ),
        (
            completed(
                outcome=P.INSPECTION_OUTCOME_MAJOR_VIOLATION,
                summary=events_pb2.InspectionFindingSummary(minor_findings=3, serious_findings=1),
            ),
            "summary.serious_findings: must be 0 when the outcome is MAJOR_VIOLATION: the outcome is the "
            "worst violation found",
        ),
        (
            completed(
                outcome=P.INSPECTION_OUTCOME_MAJOR_VIOLATION,
                summary=events_pb2.InspectionFindingSummary(minor_findings=2),
            ),
            "summary.major_findings: must be at least 1 when the outcome is MAJOR_VIOLATION and findings "
            "are counted",
        ),
        (
            completed(
                outcome=P.INSPECTION_OUTCOME_COMPLIANT,
                summary=events_pb2.InspectionFindingSummary(minor_findings=1),
            ),
            "summary.minor_findings: must be 0 when the outcome is COMPLIANT",
        ),
        (
            completed(
                outcome=P.INSPECTION_OUTCOME_MINOR_VIOLATION,
                summary=events_pb2.InspectionFindingSummary(minor_findings=-1),
            ),
            "summary.minor_findings: must not be negative",
        ),
    ],
)
def test_what_the_api_would_refuse_is_refused_and_not_staged(imported: Event, expected: str) -> None:
    uow = FakeUnitOfWork()
    [outcome] = staged([imported], uow)
    assert outcome.outcome == Outcome.REFUSED and expected in outcome.message, outcome.message
    assert uow.published == []


def test_an_imported_result_and_complete_inspection_refuse_the_same_result_in_the_same_words() -> None:
    refused = completed(
        outcome=P.INSPECTION_OUTCOME_MINOR_VIOLATION,
        summary=events_pb2.InspectionFindingSummary(inspection_refused=True),
    )
    [outcome] = staged([refused], FakeUnitOfWork())
    planned = Inspection(NAME.removeprefix("inspections/"), "p", USCC, "610100", ("a", "b"), "", 1, WHEN)
    with pytest.raises(IntegrityError) as caught:
        complete(
            planned,
            outcome=P.INSPECTION_OUTCOME_MINOR_VIOLATION,
            findings=Findings(inspection_refused=True),
            penalty_reference="",
            rectification_deadline=WHEN + timedelta(days=30),
            inspector_id="a",
            now=WHEN,
            publication_working_days=5,
        )
    assert outcome.message == f"InspectionCompleted: {caught.value.message}"
