"""The API's lean reads (adapters/read_models.py: one statement, no ORM session, reasons parsed once per
distinct text) answer exactly what the unit of work's repositories answer (the risk list: as the fake
reads filter and order the repositories' grades and projections), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import Engine

from operations import catalogue
from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.read_models import SqlGradeReads
from services.scoring.adapters.tables import TABLES
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
from services.scoring.domain.grades import GradeLevel
from services.scoring.domain.risk_list import RiskFilter
from services.scoring.entrypoints.consumer import ScoringEventHandler
from shared.db import create_tables, make_engine
from shared.sql_tracing import instrument_engine
from shared.tracing import use_provider
from tests.unit.scoring.fakes import FakeGradeReads, Outcome, inspection, registration, uscc

T0 = datetime(2024, 3, 1, tzinfo=UTC)
OUTCOMES = [
    Outcome.INSPECTION_OUTCOME_COMPLIANT,
    Outcome.INSPECTION_OUTCOME_MINOR_VIOLATION,
    Outcome.INSPECTION_OUTCOME_MAJOR_VIOLATION,
    Outcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION,
]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    create_tables(engine, TABLES)
    handler = ScoringEventHandler(load_policy())
    events = []
    for n in range(24):  # two regions, every outcome, several grades of each level
        region = "610112" if n % 3 else "610302"
        code = uscc(n, region=region)
        industry = "F5265" if n % 2 else "C4014"
        events.append(registration(code, region=region, industry=industry, occurred_at=T0))
        for k in range(n % 4):
            events.append(inspection(code, T0 + timedelta(days=10 + k), OUTCOMES[(n + k) % 4]))
    for event in events:
        with ScoringUnitOfWork(engine) as uow:
            handler(uow, event, catalogue.ENTERPRISES.publishes)
            uow.commit()
    yield engine
    engine.dispose()


def test_a_grade_and_its_region_read_as_the_repositories_read_them(engine: Engine) -> None:
    reads = SqlGradeReads(engine)
    for code in [uscc(n, region="610112" if n % 3 else "610302") for n in range(24)]:
        with ScoringUnitOfWork(engine) as uow:
            expected = (uow.grades.get(code), uow.enterprises.get(code).region_code)  # type: ignore[union-attr]
        for _ in range(2):  # the second time from the cached statement and reasons
            assert reads.grade_and_region(code) == expected
        assert expected[0] is not None and expected[0].as_of.tzinfo is not None
    assert reads.grade_and_region(uscc(999)) == (None, None)  # neither graded nor projected


def test_the_risk_list_reads_as_the_repository_reads_it(engine: Engine) -> None:
    reads = SqlGradeReads(engine)
    filters = [
        RiskFilter(),
        RiskFilter(region_code="610100"),
        RiskFilter(region_code="610302", industry_code="C40"),
        RiskFilter(level=GradeLevel.D),
        RiskFilter(provisional=False, subject_type="SUBJECT_TYPE_TRADE_INSTRUMENT_USER"),
    ]
    codes = [uscc(n, region="610112" if n % 3 else "610302") for n in range(24)]
    with ScoringUnitOfWork(engine) as uow:
        stored = FakeGradeReads(uow.grades.get_many(codes), uow.enterprises.get_many(codes))
    for risk_filter in filters:
        whole = stored.risk_entries(risk_filter, 100, None)
        assert reads.risk_entries(risk_filter, 100, None) == whole
        # Page by page, each after the last entry of the one before: the same entries in the same order.
        paged, after = [], None
        while page := reads.risk_entries(risk_filter, 5, after):
            paged += page
            after = page[-1].cursor
        assert paged == whole
    assert len(whole) > 0


def test_with_sql_traced_the_reads_go_through_sqlalchemy_and_answer_the_same(engine: Engine) -> None:
    lean = SqlGradeReads(engine)
    code, everything = uscc(5), RiskFilter(region_code="610100")
    expected = (lean.grade_and_region(code), lean.risk_entries(everything, 7, None))
    instrument_engine(engine)  # a SQL span per statement: the DBAPI shortcut would skip them
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    use_provider(provider)
    try:
        traced = SqlGradeReads(engine)
        assert (traced.grade_and_region(code), traced.risk_entries(everything, 7, None)) == expected
    finally:
        use_provider(None)
    assert [span.name.split()[0] for span in spans.get_finished_spans()] == ["SELECT", "SELECT"]
