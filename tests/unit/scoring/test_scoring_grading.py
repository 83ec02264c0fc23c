"""Grades from event histories: handler, scorecard, hard rules and hysteresis, on a real SQLite database."""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import select

from integrity.enterprises.v1 import enterprises_pb2
from integrity.events.v1 import events_pb2
from operations import catalogue
from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.tables import TABLES, EnterpriseEventRow, GradeHistoryRow
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
from services.scoring.domain.features import UNSUBSTANTIATED_CAP, compute_features
from services.scoring.domain.grades import Grade, GradeLevel
from services.scoring.domain.grading import EVENT_GRAIN, move_with_hysteresis, replay
from services.scoring.entrypoints.consumer import ScoringEventHandler
from services.scoring.use_cases.recompute import recompute_all
from shared.db import create_tables, make_engine
from shared.events import Event, decode, new_event
from shared.outbox import OutboxRecord
from tests.unit.scoring.fakes import (
    Outcome,
    complaint_filed,
    complaint_resolved,
    inspection,
    registration,
    serious_violation_at_d,
    uscc,
)

POLICY = load_policy()
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def new_engine(directory: Path) -> Engine:
    engine = make_engine(f"sqlite:///{directory / 'scoring.db'}")
    create_tables(engine, TABLES)
    return engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = new_engine(tmp_path)
    yield engine
    engine.dispose()


def handle_all(engine: Engine, events: list[Event]) -> None:
    handler = ScoringEventHandler(POLICY)
    for event in events:
        with ScoringUnitOfWork(engine) as uow:
            handler(uow, event, catalogue.INSPECTIONS.publishes)
            uow.commit()


def grade_of(engine: Engine, code: str) -> Grade:
    with ScoringUnitOfWork(engine) as uow:
        grade = uow.grades.get(code)
    assert grade is not None
    return grade


def count(engine: Engine, model: type) -> int:
    with ScoringUnitOfWork(engine) as uow:
        return len(list(uow.session.exec(select(model))))


def level_changes(engine: Engine) -> list[tuple[int, int]]:
    with ScoringUnitOfWork(engine) as uow:
        values = [decode(row.value) for row in uow.session.exec(select(OutboxRecord))]
    return [(e.grade_changed.previous_level, e.grade_changed.grade.level) for e in values]


# -- must show -----------------------------------------------------------------------------------------


def test_200_anonymous_unsubstantiated_complaints_alone_keep_an_enterprise_at_a_or_b(engine) -> None:
    code = uscc(1)
    filed = [complaint_filed(code, T0 + timedelta(days=1, minutes=n)) for n in range(200)]
    # Half were investigated and found unsubstantiated; the rest were never resolved.
    resolved = [
        complaint_resolved(code, T0 + timedelta(days=20, minutes=n), event.complaint_filed.complaint, False)
        for n, event in enumerate(filed[::2])
    ]
    events = [registration(code, occurred_at=T0), *filed, *resolved]
    handle_all(engine, events)
    grade = grade_of(engine, code)
    assert grade.level in (GradeLevel.A, GradeLevel.B)


def test_a_complaint_flood_cannot_sink_an_inspected_clean_enterprise(engine) -> None:
    code = uscc(2)
    events = [registration(code, occurred_at=T0), inspection(code, T0 + timedelta(days=1))]
    events += [complaint_filed(code, T0 + timedelta(days=2, minutes=n)) for n in range(200)]
    handle_all(engine, events)
    grade = grade_of(engine, code)
    assert not grade.provisional and grade.level in (GradeLevel.A, GradeLevel.B)
    with ScoringUnitOfWork(engine) as uow:
        history = uow.history.events(code)
    features = compute_features(history, grade.as_of)
    assert features.values["unsubstantiated_complaints"] == UNSUBSTANTIATED_CAP


def test_substantiated_complaints_do_count(engine) -> None:
    code = uscc(3)
    events = [registration(code, occurred_at=T0), inspection(code, T0 + timedelta(days=1))]
    for n in range(3):
        filed = complaint_filed(code, T0 + timedelta(days=10 + n))
        name = filed.complaint_filed.complaint
        events += [filed, complaint_resolved(code, T0 + timedelta(days=30 + n), name, True)]
    handle_all(engine, events)
    grade = grade_of(engine, code)
    assert grade.level >= GradeLevel.C
    assert "SUBSTANTIATED_COMPLAINTS" in [r.code for r in grade.reasons]


def test_a_serious_violation_holds_the_enterprise_at_c_or_worse_with_a_reason_naming_it(engine) -> None:
    code = uscc(4)
    serious = inspection(code, T0 + timedelta(days=60), Outcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION)
    events = [registration(code, occurred_at=T0), inspection(code, T0 + timedelta(days=400)), serious]
    handle_all(engine, events)
    grade = grade_of(engine, code)
    # The rule's level is C (policy-v3); the scorecard's own score is C too, above D's cut-off.
    assert POLICY.hard_rule("SERIOUS_VIOLATION").level == GradeLevel.C
    assert grade.level == GradeLevel.C and not grade.provisional
    assert grade.reasons[0].code == "SERIOUS_VIOLATION" and grade.reasons[0].text_zh
    assert len(grade.reasons) <= 4
    # Score, grade and probability tell the same story: the score is capped inside C's band.
    assert POLICY.grade_cutoffs.level_for(grade.score) == GradeLevel.C
    assert grade.as_of == events[1].occurred_at.ToDatetime(tzinfo=UTC) + EVENT_GRAIN
    assert (2, 3) in level_changes(engine)  # B -> C announced
    # Under a policy that puts the rule at D, the same history is D.
    at_d = serious_violation_at_d(POLICY)
    assert replay(at_d, events)[0].level == GradeLevel.D  # type: ignore[union-attr]


def test_a_cheating_device_is_a_serious_violation_whatever_the_outcome_says(engine) -> None:
    code = uscc(5)
    found = inspection(
        code, T0 + timedelta(days=5), Outcome.INSPECTION_OUTCOME_MINOR_VIOLATION, tampering_found=True
    )
    handle_all(engine, [registration(code, occurred_at=T0), found])
    assert grade_of(engine, code).reasons[0].code == "SERIOUS_VIOLATION"


@pytest.mark.parametrize(
    ("summary", "code", "worst_allowed"),
    [
        ({"inspection_refused": True}, "REFUSED_INSPECTION", GradeLevel.D),
        (
            {"capability_declaration": events_pb2.CAPABILITY_DECLARATION_CHECK_FALSE},
            "FALSE_CAPABILITY_DECLARATION",
            GradeLevel.D,
        ),
        ({"instruments_checked": 6, "instruments_overdue": 3}, "MANY_OVERDUE_INSTRUMENTS", GradeLevel.C),
    ],
)
def test_hard_rules(engine, summary, code, worst_allowed) -> None:
    enterprise = uscc(6)
    handle_all(
        engine,
        [
            registration(enterprise, occurred_at=T0),
            inspection(enterprise, T0 + timedelta(days=1)),
            inspection(enterprise, T0 + timedelta(days=2), **summary),
        ],
    )
    grade = grade_of(engine, enterprise)
    assert grade.level >= worst_allowed
    assert grade.reasons[0].code == code


def test_a_serious_violation_lapses_after_its_period_on_recompute(engine) -> None:
    code = uscc(7)
    serious = T0 + timedelta(days=1)
    handle_all(
        engine,
        [
            registration(code, occurred_at=T0),
            inspection(code, serious, Outcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION),
        ],
    )
    recompute_all(ScoringUnitOfWork(engine), POLICY, serious + timedelta(days=365 * 2))
    assert grade_of(engine, code).level == GradeLevel.C
    recompute_all(ScoringUnitOfWork(engine), POLICY, serious + timedelta(days=365 * 3 + 2))
    grade = grade_of(engine, code)
    assert "SERIOUS_VIOLATION" not in [r.code for r in grade.reasons]


def test_recompute_with_no_new_events_and_no_time_passed_changes_no_grade(engine) -> None:
    codes = [uscc(10 + n) for n in range(3)]
    events = []
    for n, code in enumerate(codes):
        events += [
            registration(code, occurred_at=T0),
            inspection(code, T0 + timedelta(days=1), OUTCOMES[n]),
        ]
    handle_all(engine, events)
    as_of = T0 + timedelta(days=400)
    first = recompute_all(ScoringUnitOfWork(engine), POLICY, as_of)
    assert first.enterprises == 3
    before = {code: grade_of(engine, code) for code in codes}
    history_rows, outbox_rows = count(engine, GradeHistoryRow), count(engine, OutboxRecord)

    again = recompute_all(ScoringUnitOfWork(engine), POLICY, as_of)
    assert (again.changed, again.level_changed, again.already_later) == (0, 0, 3)
    assert {code: grade_of(engine, code) for code in codes} == before
    assert (count(engine, GradeHistoryRow), count(engine, OutboxRecord)) == (history_rows, outbox_rows)


def test_a_recompute_of_an_up_to_date_grade_changes_nothing(engine) -> None:
    code = uscc(20)
    handle_all(engine, [registration(code, occurred_at=T0), inspection(code, T0 + timedelta(days=1))])
    before = grade_of(engine, code)
    summary = recompute_all(
        ScoringUnitOfWork(engine), POLICY, before.as_of
    )  # no time passed since the last event
    assert summary.changed == 0 and grade_of(engine, code) == before


def test_duplicates_change_nothing(engine) -> None:
    code = uscc(21)
    events = [registration(code, occurred_at=T0), inspection(code, T0 + timedelta(days=1))]
    handle_all(engine, events)
    before = (grade_of(engine, code), count(engine, GradeHistoryRow), count(engine, OutboxRecord))
    handle_all(engine, events)
    assert (grade_of(engine, code), count(engine, GradeHistoryRow), count(engine, OutboxRecord)) == before
    assert count(engine, EnterpriseEventRow) == 2


def test_events_before_the_registration_are_kept_and_graded_once_it_arrives(engine) -> None:
    code = uscc(22)
    serious = inspection(code, T0 + timedelta(days=3), Outcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION)
    handle_all(engine, [serious])
    with ScoringUnitOfWork(engine) as uow:
        assert uow.grades.get(code) is None
    handle_all(engine, [registration(code, occurred_at=T0)])
    grade = grade_of(engine, code)
    assert grade.level >= GradeLevel.C and grade.reasons[0].code == "SERIOUS_VIOLATION"


def test_features_read_only_events_before_as_of() -> None:
    code = uscc(23)
    at = T0 + timedelta(days=10)
    events = [inspection(code, at, Outcome.INSPECTION_OUTCOME_MAJOR_VIOLATION)]
    assert compute_features(events, at).values["major_decayed"] == 0
    assert compute_features(events, at + EVENT_GRAIN).values["major_decayed"] == pytest.approx(1.0)


def test_hysteresis_moves_only_past_the_margin() -> None:
    a, margin = POLICY.grade_cutoffs.a, POLICY.hysteresis_margin
    assert move_with_hysteresis(POLICY, GradeLevel.B, a) == GradeLevel.B
    assert move_with_hysteresis(POLICY, GradeLevel.B, a + margin) == GradeLevel.A
    assert move_with_hysteresis(POLICY, GradeLevel.A, a - 1) == GradeLevel.A
    assert move_with_hysteresis(POLICY, GradeLevel.A, a - margin - 1) == GradeLevel.B
    assert move_with_hysteresis(POLICY, None, a) == GradeLevel.A


# -- order independence (property) ---------------------------------------------------------------------

OUTCOMES = [
    Outcome.INSPECTION_OUTCOME_COMPLIANT,
    Outcome.INSPECTION_OUTCOME_MINOR_VIOLATION,
    Outcome.INSPECTION_OUTCOME_MAJOR_VIOLATION,
    Outcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION,
]


@st.composite
def histories(draw: st.DrawFn) -> list[Event]:
    """One enterprise's events: a registration, inspections and complaints on a few days (ties included)."""
    code = uscc(99)
    day = st.integers(min_value=0, max_value=1500)
    events = [registration(code, occurred_at=T0 + timedelta(days=draw(day)))]
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        outcome = draw(st.sampled_from(OUTCOMES))
        events.append(inspection(code, T0 + timedelta(days=draw(day)), outcome))
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        filed = complaint_filed(code, T0 + timedelta(days=draw(day)))
        events.append(filed)
        if draw(st.booleans()):
            name = filed.complaint_filed.complaint
            resolved_at = T0 + timedelta(days=draw(day))
            events.append(complaint_resolved(code, resolved_at, name, draw(st.booleans())))
    return events


def final_grade(events: list[Event]) -> Grade:
    with tempfile.TemporaryDirectory() as directory:
        engine = new_engine(Path(directory))
        try:
            handle_all(engine, events)
            return grade_of(engine, events[0].subject)
        finally:
            engine.dispose()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.randoms(use_true_random=False), st.integers(min_value=0, max_value=5))
def test_the_same_events_in_any_order_and_with_duplicates_give_the_same_grade(
    events: list[Event], shuffler: random.Random, duplicates: int
) -> None:
    in_time_order = sorted(events, key=lambda e: (e.occurred_at.ToDatetime(), e.id))
    shuffled = events + [shuffler.choice(events) for _ in range(duplicates)]
    shuffler.shuffle(shuffled)
    assert final_grade(shuffled) == final_grade(in_time_order)


def instrument_registered(code: str, serial: int, at: datetime, next_due: str, failed: bool = False) -> Event:
    result = enterprises_pb2.VERIFICATION_RESULT_FAIL if failed else enterprises_pb2.VERIFICATION_RESULT_PASS
    instrument = enterprises_pb2.Instrument(
        name=f"enterprises/{code}/instruments/{serial}",
        serial_number=str(serial),
        usage=enterprises_pb2.INSTRUMENT_USAGE_IN_USE,
        last_verification=enterprises_pb2.Verification(
            verification_date="2023-01-01", result=result, next_due_date=next_due
        ),
    )
    payload = events_pb2.InstrumentRegistered(instrument=instrument)
    return new_event("//integrity/enterprises", code, payload, occurred_at=at)


def test_overdue_instruments_in_the_registry_put_the_enterprise_at_c_or_worse(engine) -> None:
    code = uscc(30)
    at = T0 + timedelta(days=1)
    events = [registration(code, occurred_at=T0), inspection(code, at)]
    events += [instrument_registered(code, n, at, next_due="2023-12-01") for n in range(3)]  # overdue
    events += [instrument_registered(code, 10, at, next_due="2024-12-01", failed=True)]  # failed
    events += [instrument_registered(code, 11, at, next_due="2024-12-01")]  # fine
    handle_all(engine, events)
    grade = grade_of(engine, code)
    assert grade.level >= GradeLevel.C and grade.reasons[0].code == "MANY_OVERDUE_INSTRUMENTS"
    with ScoringUnitOfWork(engine) as uow:
        features = compute_features(uow.history.events(code), grade.as_of)
    assert features.values["registry_instruments_bad_share"] == pytest.approx(4 / 5)


def enterprise_event(code: str, at: datetime, payload) -> Event:
    return new_event("//integrity/enterprises", code, payload, occurred_at=at)


def test_commitments_and_capability_declarations() -> None:
    code = uscc(40)
    commitment = enterprises_pb2.Commitment(
        name=f"enterprises/{code}/commitments/1", valid_until="2024-06-30"
    )
    certified = enterprises_pb2.CapabilityDeclaration(iso10012_certificate_number="CMS-2023-001")
    events = [
        enterprise_event(code, T0, events_pb2.CommitmentDeclared(commitment=commitment)),
        enterprise_event(code, T0, events_pb2.CapabilityDeclared(declaration=certified)),
    ]
    values = compute_features(events, T0 + timedelta(days=1)).values
    assert (values["commitment_active"], values["commitment_breached"], values["capability_declaration"]) == (
        1,
        0,
        2,
    )
    assert (
        compute_features(events, datetime(2024, 7, 1, tzinfo=UTC)).values["commitment_active"] == 0
    )  # expired

    events.append(inspection(code, T0 + timedelta(days=5), Outcome.INSPECTION_OUTCOME_MAJOR_VIOLATION))
    assert compute_features(events, T0 + timedelta(days=6)).values["commitment_breached"] == 1
    events.append(
        enterprise_event(code, T0 + timedelta(days=7), events_pb2.CommitmentWithdrawn(commitment=commitment))
    )
    assert compute_features(events, T0 + timedelta(days=8)).values["commitment_active"] == 0


def test_a_substantiated_repeat_counts_once() -> None:
    code = uscc(41)
    first = complaint_filed(code, T0)
    name = first.complaint_filed.complaint
    repeat = events_pb2.ComplaintResolved(complaint="complaints/other", duplicate_of=name, substantiated=True)
    events = [
        first,
        complaint_resolved(code, T0 + timedelta(days=1), name, True),
        new_event("//integrity/complaints", code, repeat, occurred_at=T0 + timedelta(days=2)),
    ]
    values = compute_features(events, T0 + timedelta(days=3)).values
    assert values["substantiated_complaints"] == pytest.approx(1.0, abs=0.01)
    assert values["unsubstantiated_complaints"] == 0
