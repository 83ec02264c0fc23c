"""The scoring consumer's handler (the ingest use case) against a real SQLite database (no broker)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from integrity.events.v1 import events_pb2
from integrity.scoring.v1 import scoring_pb2
from operations import catalogue
from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.tables import TABLES, EnterpriseProjection, GradeHistoryRow, GradeRow
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
from services.scoring.domain.features import compute_features
from services.scoring.domain.grading import EVENT_GRAIN
from services.scoring.entrypoints.consumer import ScoringEventHandler
from services.scoring.use_cases.ingest import SOURCE
from shared.db import create_tables, make_engine
from shared.events import Event, InvalidEvent, decode, new_event
from shared.outbox import OutboxRecord
from tests.unit.scoring.fakes import inspection, registration, uscc

REGISTERED_AT = datetime(2023, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'scoring.db'}")
    create_tables(engine, TABLES)
    yield engine
    engine.dispose()


@pytest.fixture
def handler() -> ScoringEventHandler:
    return ScoringEventHandler(load_policy())


def handle(
    engine: Engine, handler: ScoringEventHandler, event: Event, topic: str = catalogue.ENTERPRISES.publishes
) -> None:
    with ScoringUnitOfWork(engine) as uow:
        handler(uow, event, topic)
        uow.commit()


def rows(engine: Engine, model: type) -> list:
    with ScoringUnitOfWork(engine) as uow:
        found = list(uow.session.exec(select(model)))
        uow.session.expunge_all()  # keep the loaded values past the unit of work's closing rollback
        return found


def test_registration_gets_a_provisional_grade_and_one_grade_changed(engine, handler) -> None:
    code = uscc(1)
    event = registration(code, occurred_at=REGISTERED_AT)
    handle(engine, handler, event)

    with ScoringUnitOfWork(engine) as uow:
        grade = uow.grades.get(code)
        projection = uow.session.get(EnterpriseProjection, code)
        uow.session.expunge_all()
    assert grade is not None and grade.provisional and grade.level.name == "B"
    # Point in time: the instant after the registration, not wall-clock.
    assert grade.as_of == REGISTERED_AT + EVENT_GRAIN
    assert projection is not None and projection.region_code == "610112"
    assert projection.subject_type == "SUBJECT_TYPE_TRADE_INSTRUMENT_USER"

    history = rows(engine, GradeHistoryRow)
    assert [(h.uscc, h.level, h.previous_level, h.cause_event_id) for h in history] == [
        (code, 2, None, event.id)
    ]

    [outbox] = rows(engine, OutboxRecord)
    assert outbox.topic == catalogue.SCORING.publishes and outbox.key == code
    published = decode(outbox.value)
    assert published.source == SOURCE and published.subject == code
    assert published.type == "integrity.events.v1.GradeChanged"
    assert published.occurred_at.ToDatetime(tzinfo=UTC) == REGISTERED_AT + EVENT_GRAIN
    changed = published.grade_changed
    assert changed.previous_level == scoring_pb2.GRADE_LEVEL_UNSPECIFIED
    assert changed.region_code == "610112"
    assert changed.grade.name == f"enterprises/{code}/grade"
    assert changed.grade.level == scoring_pb2.GRADE_LEVEL_B
    assert changed.grade.provisional and changed.grade.reasons[0].code == "NO_HISTORY"


def test_second_registration_of_the_same_enterprise_announces_nothing(engine, handler) -> None:
    code = uscc(2)
    handle(engine, handler, registration(code, occurred_at=REGISTERED_AT))
    later = datetime(2024, 1, 1, tzinfo=UTC)
    handle(engine, handler, registration(code, name="改名后的公司", occurred_at=later))

    assert len(rows(engine, OutboxRecord)) == 1
    assert len(rows(engine, GradeHistoryRow)) == 1
    [grade] = rows(engine, GradeRow)
    assert grade.as_of.replace(tzinfo=UTC) == later + EVENT_GRAIN  # same grade, as of the later event
    [projection] = rows(engine, EnterpriseProjection)
    assert projection.display_name == "改名后的公司"


def test_an_older_registration_arriving_late_does_not_undo_a_newer_one(engine, handler) -> None:
    code = uscc(3)
    handle(engine, handler, registration(code, name="新名称", occurred_at=datetime(2024, 1, 1, tzinfo=UTC)))
    handle(engine, handler, registration(code, name="旧名称", occurred_at=datetime(2020, 1, 1, tzinfo=UTC)))
    [projection] = rows(engine, EnterpriseProjection)
    assert projection.display_name == "新名称"


def test_payload_uscc_must_match_the_subject(engine, handler) -> None:
    event = registration(uscc(4), subject=uscc(5))
    with pytest.raises(InvalidEvent, match="differs from event subject"):
        handle(engine, handler, event)
    assert rows(engine, EnterpriseProjection) == [] and rows(engine, OutboxRecord) == []


def test_registration_with_a_malformed_region_is_invalid(engine, handler) -> None:
    with pytest.raises(InvalidEvent, match="region_code '6101'"):
        handle(engine, handler, registration(uscc(6), region="6101"))


def test_industry_code_is_stored_in_canonical_form(engine, handler) -> None:
    handle(engine, handler, registration(uscc(7), industry="5265"))
    [projection] = rows(engine, EnterpriseProjection)
    assert projection.industry_code == "F5265"


def test_event_types_it_does_not_grade_yet_are_ignored(engine, handler) -> None:
    code = uscc(8)
    other = new_event(SOURCE, code, events_pb2.GradeChanged(region_code="610112"))
    handle(engine, handler, other, catalogue.SCORING.publishes)
    assert rows(engine, GradeRow) == [] and rows(engine, OutboxRecord) == []


def test_grade_changed_id_derives_from_its_cause(tmp_path: Path, handler) -> None:
    event = registration(uscc(9), occurred_at=REGISTERED_AT)
    ids = []
    for name in ("first", "rebuilt"):
        engine = make_engine(f"sqlite:///{tmp_path / name}.db")
        create_tables(engine, TABLES)
        handle(engine, handler, event)
        ids.extend(row.event_id for row in rows(engine, OutboxRecord))
        engine.dispose()
    assert len(ids) == 2 and ids[0] == ids[1] != event.id


def test_enum_numbers_from_a_newer_registry_are_kept_and_graded_as_unknown(engine, handler) -> None:
    """The enterprises service upgraded first: a SubjectType and a SizeClass scoring's protos lack, and an
    inspection outcome it lacks. Nothing is refused; the unknown category earns the default points."""
    code, known = uscc(7), uscc(8)
    for serial, subject_type, size_class in ((code, 99, 42), (known, 7, 0)):  # 7: SUBJECT_TYPE_OTHER
        event = registration(serial, occurred_at=REGISTERED_AT)
        event.enterprise_registered.enterprise.subject_type = subject_type  # type: ignore[assignment]
        event.enterprise_registered.enterprise.size_class = size_class  # type: ignore[assignment]
        handle(engine, handler, decode(event.SerializeToString()))  # through the wire format
        later = inspection(serial, REGISTERED_AT + timedelta(days=30), 9)  # 9: no such outcome yet
        handle(engine, handler, later, catalogue.INSPECTIONS.publishes)

    with ScoringUnitOfWork(engine) as uow:
        projection = uow.session.get(EnterpriseProjection, code)
        assert projection is not None and projection.subject_type == "SUBJECT_TYPE_UNKNOWN_99"
        unknown, other = uow.grades.get(code), uow.grades.get(known)
        history = uow.history.events(code)
    assert unknown is not None and other is not None
    # Graded as an unknown category: the scorecard's default points, like a type it has no points for.
    assert (unknown.level, unknown.score) == (other.level, other.score)
    assert compute_features(history, unknown.as_of).values["size_class"] == "SIZE_CLASS_UNKNOWN_42"
