"""The ingest and recompute use cases on the in-memory unit of work (their SQL twins:
test_scoring_handlers.py and test_scoring_grading.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.tables import TABLES
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
from services.scoring.domain.grades import Grade, GradeLevel
from services.scoring.domain.grading import EVENT_GRAIN
from services.scoring.manifest import TOPIC
from services.scoring.use_cases.ingest import SOURCE, ingest
from services.scoring.use_cases.recompute import recompute_all
from services.scoring.use_cases.unit_of_work import ScoringUoW
from shared.db import create_tables, make_engine
from shared.events import Event, InvalidEvent
from tests.unit.scoring.fakes import (
    FakeScoringUnitOfWork,
    Outcome,
    complaint_filed,
    complaint_resolved,
    inspection,
    registration,
    uscc,
)

POLICY = load_policy()
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def ingest_all(uow: ScoringUoW, events: list[Event]) -> None:
    """Each event in its own transaction, as a consumer with one event per poll would."""
    for event in events:
        with uow:
            ingest(uow, POLICY, event)
            uow.commit()


def grade_of(uow: FakeScoringUnitOfWork, code: str) -> Grade:
    grade = uow.grade_rows.get(code)
    assert grade is not None
    return grade


def test_a_registration_is_projected_graded_and_announced_once_committed() -> None:
    uow = FakeScoringUnitOfWork()
    code = uscc(1)
    event = registration(code, industry="5265", occurred_at=T0)
    with uow:
        ingest(uow, POLICY, event)
        assert uow.published == []  # staged, not yet committed
        uow.commit()

    projection = uow.enterprises_rows[code]
    assert (projection.region_code, projection.industry_code) == ("610112", "F5265")
    grade = grade_of(uow, code)
    assert grade.provisional and grade.level == GradeLevel.B and grade.as_of == T0 + EVENT_GRAIN
    [(change, cause)] = uow.grade_history
    assert (change.previous, cause) == (None, event.id)
    [(topic, announced)] = uow.published
    assert topic == TOPIC and announced.source == SOURCE and announced.subject == code
    assert announced.grade_changed.region_code == "610112"
    rebuilt = FakeScoringUnitOfWork()
    ingest_all(rebuilt, [event])
    assert rebuilt.published[0][1].id == announced.id != event.id  # derived from the cause


def test_a_duplicate_changes_nothing() -> None:
    uow = FakeScoringUnitOfWork()
    code = uscc(2)
    events = [registration(code, occurred_at=T0), inspection(code, T0 + timedelta(days=1))]
    ingest_all(uow, events)
    before = (dict(uow.grade_rows), list(uow.grade_history), list(uow.published), dict(uow.history_rows))
    ingest_all(uow, events)
    assert (uow.grade_rows, uow.grade_history, uow.published, uow.history_rows) == before


def test_events_before_the_registration_are_kept_and_graded_once_it_arrives() -> None:
    uow = FakeScoringUnitOfWork()
    code = uscc(3)
    ingest_all(uow, [inspection(code, T0 + timedelta(days=3), Outcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION)])
    assert len(uow.history_rows) == 1 and uow.grade_rows == {} and uow.published == []
    ingest_all(uow, [registration(code, occurred_at=T0)])
    assert grade_of(uow, code).reasons[0].code == "SERIOUS_VIOLATION"


def test_an_invalid_registration_is_refused_and_leaves_nothing() -> None:
    uow = FakeScoringUnitOfWork()
    with pytest.raises(InvalidEvent, match="differs from event subject"):
        ingest_all(uow, [registration(uscc(4), subject=uscc(5))])
    with pytest.raises(InvalidEvent, match="region_code '6101'"):
        ingest_all(uow, [registration(uscc(6), region="6101")])
    assert uow.commits == 0 and uow.history_rows == {} and uow.enterprises_rows == {}


def test_an_older_registration_arriving_late_does_not_undo_a_newer_one() -> None:
    uow = FakeScoringUnitOfWork()
    code = uscc(7)
    ingest_all(uow, [registration(code, name="新名称", occurred_at=T0 + timedelta(days=30))])
    ingest_all(uow, [registration(code, name="旧名称", occurred_at=T0)])
    assert uow.enterprises_rows[code].display_name == "新名称"


def test_a_late_event_regrades_from_its_own_time() -> None:
    uow = FakeScoringUnitOfWork()
    code = uscc(8)
    ingest_all(uow, [registration(code, occurred_at=T0), inspection(code, T0 + timedelta(days=10))])
    assert grade_of(uow, code).level < GradeLevel.C
    late = inspection(code, T0 + timedelta(days=5), Outcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION)
    ingest_all(uow, [late])
    grade = grade_of(uow, code)
    # Stepped up to the current grade's time, never back: the grade stays as of the latest event.
    assert grade.level >= GradeLevel.C and grade.as_of == T0 + timedelta(days=10) + EVENT_GRAIN
    assert grade.reasons[0].code == "SERIOUS_VIOLATION"
    levels = {entry.event_id: entry.level_after for _, entry in uow.history_rows.values()}
    assert levels[late.id] >= GradeLevel.C


def test_the_fake_and_the_database_grade_the_same_history(tmp_path: Path) -> None:
    """The fake keeps the SQL unit of work's contract: the same events give the same grades."""
    code = uscc(9)
    filed = complaint_filed(code, T0 + timedelta(days=2))
    events = [
        registration(code, occurred_at=T0),
        inspection(code, T0 + timedelta(days=1)),
        filed,
        complaint_resolved(code, T0 + timedelta(days=20), filed.complaint_filed.complaint, True),
        inspection(code, T0 + timedelta(days=40), Outcome.INSPECTION_OUTCOME_MAJOR_VIOLATION),
    ]
    fake = FakeScoringUnitOfWork()
    ingest_all(fake, events)
    recompute_all(fake, POLICY, T0 + timedelta(days=400))

    engine = make_engine(f"sqlite:///{tmp_path / 'scoring.db'}")
    create_tables(engine, TABLES)
    sql = ScoringUnitOfWork(engine)
    ingest_all(sql, events)
    recompute_all(sql, POLICY, T0 + timedelta(days=400))
    with sql:
        stored = sql.grades.get(code)
    engine.dispose()
    assert stored == grade_of(fake, code)
    assert sql.committed_events == fake.committed_events


def test_recompute_lets_a_serious_violation_lapse_and_commits_batch_by_batch() -> None:
    uow = FakeScoringUnitOfWork()
    codes = [uscc(n) for n in range(20, 25)]
    serious = T0 + timedelta(days=1)
    for code in codes:
        ingest_all(
            uow,
            [
                registration(code, occurred_at=T0),
                inspection(code, serious, Outcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION),
            ],
        )
    commits = uow.commits
    summary = recompute_all(uow, POLICY, serious + timedelta(days=365 * 3 + 2), batch_size=2)
    assert uow.commits == commits + 3  # 5 enterprises in batches of 2
    assert (summary.enterprises, summary.changed) == (5, 5)
    assert all("SERIOUS_VIOLATION" not in [r.code for r in grade_of(uow, c).reasons] for c in codes)
    again = recompute_all(uow, POLICY, serious + timedelta(days=365 * 3 + 2))
    assert (again.changed, again.already_later) == (0, 5)
