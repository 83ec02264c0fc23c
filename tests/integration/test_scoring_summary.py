"""SummarizeGrades and ListGradeHistory on SQLite and PostgreSQL: a regulator's dashboard aggregates, scoped
to the caller's region, and one enterprise's grade history, refused to other enterprises."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy import Engine

from integrity.scoring.v1 import scoring_pb2
from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.tables import TABLES
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
from services.scoring.domain.grades import Grade, GradeChange, GradeLevel
from services.scoring.entrypoints.consumer import ScoringEventHandler
from services.scoring.entrypoints.grpc import ScoringServicer
from shared.auth import Principal, Role, acting_as
from shared.db import create_tables, make_engine
from shared.errors import ErrorKind, IntegrityError
from tests.unit.scoring.fakes import registration, uscc

pytestmark = pytest.mark.integration

SHAANXI = Principal("shaanxi", Role.REGULATOR, region="610000")
XIAN = Principal("xian", Role.REGULATOR, region="610100")
NOW = datetime.now(UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    create_tables(engine, TABLES)
    yield engine
    engine.dispose()


@pytest.fixture
def servicer(engine: Engine) -> ScoringServicer:
    return ScoringServicer(partial(ScoringUnitOfWork, engine), load_policy())


def grade(engine: Engine, code: str, level: GradeLevel, as_of: datetime, provisional: bool = False) -> None:
    """Makes `level` the enterprise's current grade as of `as_of` (a history row with the previous one)."""
    new = Grade(level, 500, provisional, (), as_of, 0.1 * int(level), "policy-v0")
    with ScoringUnitOfWork(engine) as uow:
        uow.grades.save([GradeChange(code, new, uow.grades.get(code), code[2:8])], "test", as_of)
        uow.commit()


def register(engine: Engine, code: str, region: str) -> None:
    with ScoringUnitOfWork(engine) as uow:
        ScoringEventHandler(load_policy())(uow, registration(code, region=region), "t")
        uow.commit()


def summarize(
    servicer: ScoringServicer, principal: Principal, **request
) -> scoring_pb2.SummarizeGradesResponse:
    with acting_as(principal):
        return servicer.SummarizeGrades(scoring_pb2.SummarizeGradesRequest(**request), None)  # type: ignore[arg-type]


def same(a: scoring_pb2.SummarizeGradesResponse, b: scoring_pb2.SummarizeGradesResponse) -> bool:
    """Equal but for the window's start (each call's own now)."""
    a, b = scoring_pb2.SummarizeGradesResponse.FromString(a.SerializeToString()), b
    a.change_window_start.CopyFrom(b.change_window_start)
    return a == b


def counts(message) -> dict[str, int]:
    return {scoring_pb2.GradeLevel.Name(c.level)[-1]: c.count for c in message.counts}


def test_summary_by_city_county_month_and_recent_changes(servicer, engine) -> None:
    xian_a, xian_b, baoji = uscc(1, "610113"), uscc(2, "610112"), uscc(3, "610302")
    yanan = uscc(4, "610602")
    for code, region in ((xian_a, "610113"), (xian_b, "610112"), (baoji, "610302"), (yanan, "610602")):
        register(engine, code, region)
    # Registration graded each provisionally (B) as of its event; move them on from there.
    long_ago = NOW - timedelta(days=400)
    grade(engine, xian_a, GradeLevel.C, long_ago)
    grade(engine, xian_a, GradeLevel.D, NOW - timedelta(days=3))  # a change inside the 30 days
    grade(engine, xian_b, GradeLevel.A, long_ago)
    grade(engine, baoji, GradeLevel.D, NOW - timedelta(days=40))  # outside them
    grade(engine, baoji, GradeLevel.D, NOW - timedelta(days=2))  # a regrade at the same level: no change

    province = summarize(servicer, SHAANXI)
    assert province.region_code == "610000"
    assert counts(province) == {"A": 1, "B": 1, "D": 2}
    assert {r.region_code: counts(r) for r in province.regions} == {
        "610100": {"A": 1, "D": 1},
        "610300": {"D": 1},
        "610600": {"B": 1},
    }
    assert [(c.from_level, c.to_level, c.count) for c in province.recent_changes] == [
        (scoring_pb2.GRADE_LEVEL_C, scoring_pb2.GRADE_LEVEL_D, 1)
    ]
    assert [c.enterprise for c in province.latest_changes] == [f"enterprises/{xian_a}"]
    assert len(province.months) == 12
    assert counts(province.months[-1]) == {"A": 1, "B": 1, "D": 2}  # the month's end: today's levels

    # A city regulator sees its counties, and only its own enterprises.
    city = summarize(servicer, XIAN, months=-1)
    assert {r.region_code: counts(r) for r in city.regions} == {"610112": {"A": 1}, "610113": {"D": 1}}
    assert list(city.months) == []
    narrowed = summarize(servicer, SHAANXI, filter='region_code = "610300"', change_days=-1)
    assert counts(narrowed) == {"D": 1} and list(narrowed.recent_changes) == []

    # From the snapshot the worker takes (what a dashboard reads at scale), the same answers.
    servicer.snapshots.direct_below_seconds = 0.0  # as if counting took long: answer from the snapshot
    servicer.snapshots.refresh(ScoringUnitOfWork(engine), datetime.now(UTC))
    assert servicer.snapshots.current is not None
    assert same(summarize(servicer, SHAANXI), province)
    assert same(summarize(servicer, XIAN, months=-1), city)
    assert same(summarize(servicer, SHAANXI, filter='region_code = "610300"', change_days=-1), narrowed)
    industry = summarize(servicer, SHAANXI, filter='industry_code = "F52"', months=-1, change_days=-1)
    assert counts(industry) == {"A": 1, "B": 1, "D": 2}  # read from the tables: the snapshot has no industry


def test_summary_outside_the_region_is_refused(servicer) -> None:
    with pytest.raises(IntegrityError) as caught:
        summarize(servicer, XIAN, filter='region_code = "610300"')
    assert caught.value.kind == ErrorKind.PERMISSION_DENIED
    with pytest.raises(IntegrityError) as caught:
        summarize(servicer, XIAN, months=61)
    assert caught.value.kind == ErrorKind.INVALID_ARGUMENT


def test_grade_history_pages_oldest_first_and_only_to_whom_it_concerns(servicer, engine) -> None:
    code, other = uscc(5, "610113"), uscc(6, "610113")
    register(engine, code, "610113")
    for days, level in ((300, GradeLevel.C), (200, GradeLevel.D), (100, GradeLevel.B)):
        grade(engine, code, level, NOW - timedelta(days=days))

    def history(principal: Principal, **request) -> scoring_pb2.ListGradeHistoryResponse:
        with acting_as(principal):
            request.setdefault("parent", f"enterprises/{code}")
            return servicer.ListGradeHistory(scoring_pb2.ListGradeHistoryRequest(**request), None)  # type: ignore[arg-type]

    own = Principal(f"enterprise@{code}", Role.ENTERPRISE, uscc=code)
    first = history(own, page_size=2)
    second = history(own, page_size=2, page_token=first.next_page_token)
    levels = [scoring_pb2.GradeLevel.Name(e.grade.level)[-1] for e in [*first.entries, *second.entries]]
    assert levels == ["B", "C", "D", "B"]  # the provisional grade at registration, then the regrades
    assert second.next_page_token == ""
    assert first.entries[1].previous_level == scoring_pb2.GRADE_LEVEL_B

    for stranger in (
        Principal(f"enterprise@{other}", Role.ENTERPRISE, uscc=other),
        Principal("baoji", Role.REGULATOR, region="610300"),
    ):
        with pytest.raises(IntegrityError) as caught:
            history(stranger)
        assert caught.value.kind == ErrorKind.PERMISSION_DENIED
