"""ScoringServicer called directly (no server) as different principals, on a real SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine

from integrity.scoring.v1 import scoring_pb2
from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.tables import TABLES
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
from services.scoring.domain.features import FEATURE_VERSION
from services.scoring.domain.grades import Grade, GradeChange, GradeLevel
from services.scoring.entrypoints.consumer import ScoringEventHandler
from services.scoring.entrypoints.grpc import ScoringServicer
from shared.auth import Principal, Role, acting_as
from shared.db import create_tables, make_engine
from shared.errors import ErrorKind, IntegrityError
from tests.unit.scoring.fakes import registration, uscc

SYSTEM = Principal("gov-registry", Role.SYSTEM)
XIAN_REGULATOR = Principal("xian", Role.REGULATOR, region="610100")
AS_OF = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'scoring.db'}")
    create_tables(engine, TABLES)
    yield engine
    engine.dispose()


@pytest.fixture
def servicer(engine: Engine) -> ScoringServicer:
    return ScoringServicer(partial(ScoringUnitOfWork, engine), load_policy())


def register(engine: Engine, code: str, region: str = "610112", industry: str = "F5265") -> None:
    with ScoringUnitOfWork(engine) as uow:
        ScoringEventHandler(load_policy())(uow, registration(code, region=region, industry=industry), "t")
        uow.commit()


def regrade(engine: Engine, code: str, level: GradeLevel, probability: float) -> None:
    grade = Grade(level, 500, False, (), AS_OF, probability, "policy-v0")
    with ScoringUnitOfWork(engine) as uow:
        uow.grades.save([GradeChange(code, grade, uow.grades.get(code), code[2:8])], "test", AS_OF)
        uow.commit()


def error_of(call) -> IntegrityError:
    with pytest.raises(IntegrityError) as caught:
        call()
    return caught.value


def get_grade(servicer: ScoringServicer, principal: Principal, name: str) -> scoring_pb2.Grade:
    with acting_as(principal):
        return servicer.GetGrade(scoring_pb2.GetGradeRequest(name=name), None).grade  # type: ignore[arg-type]


def list_risks(
    servicer: ScoringServicer, principal: Principal, **request
) -> scoring_pb2.ListRiskEntriesResponse:
    with acting_as(principal):
        return servicer.ListRiskEntries(scoring_pb2.ListRiskEntriesRequest(**request), None)  # type: ignore[arg-type]


def test_get_grade(servicer, engine) -> None:
    code = uscc(1)
    register(engine, code)
    grade = get_grade(servicer, SYSTEM, f"enterprises/{code}/grade")
    assert grade.name == f"enterprises/{code}/grade"
    assert grade.level == scoring_pb2.GRADE_LEVEL_B and grade.provisional
    assert grade.reasons[0].code == "NO_HISTORY" and grade.reasons[0].text_zh
    assert grade.policy_version == "policy-v3" and grade.model_version == "scorecard-v2-expert"
    assert grade.feature_version == FEATURE_VERSION and grade.label == "major_or_worse"
    assert grade.violation_probability == pytest.approx(1 / (1 + 50 * 2 ** ((grade.score - 600) / 20)))
    assert grade.as_of.seconds > 0


@pytest.mark.parametrize("name", ["", "enterprises/x/grade", f"enterprises/{uscc(1)}", f"grades/{uscc(1)}"])
def test_malformed_name(servicer, name: str) -> None:
    error = error_of(lambda: get_grade(servicer, SYSTEM, name))
    assert error.kind == ErrorKind.INVALID_ARGUMENT
    assert [v.field for v in error.field_violations] == ["name"]


def test_missing_grade_says_the_registration_may_be_in_flight(servicer) -> None:
    error = error_of(lambda: get_grade(servicer, SYSTEM, f"enterprises/{uscc(2)}/grade"))
    assert error.kind == ErrorKind.NOT_FOUND and "in flight" in error.message


def test_enterprise_reads_only_itself_and_existence_does_not_leak(servicer, engine) -> None:
    own, other, absent = uscc(3), uscc(4), uscc(5)
    register(engine, own)
    register(engine, other)
    me = Principal("me", Role.ENTERPRISE, uscc=own)
    assert get_grade(servicer, me, f"enterprises/{own}/grade").level == scoring_pb2.GRADE_LEVEL_B
    denied_existing = error_of(lambda: get_grade(servicer, me, f"enterprises/{other}/grade"))
    denied_absent = error_of(lambda: get_grade(servicer, me, f"enterprises/{absent}/grade"))
    assert denied_existing.kind == denied_absent.kind == ErrorKind.PERMISSION_DENIED
    assert denied_existing.message.replace(other, "?") == denied_absent.message.replace(absent, "?")


def test_regulator_reads_grades_in_their_region_only(servicer, engine) -> None:
    inside, outside = uscc(6, "610112"), uscc(7, "610200")
    register(engine, inside, region="610112")
    register(engine, outside, region="610202")
    assert get_grade(servicer, XIAN_REGULATOR, f"enterprises/{inside}/grade").provisional
    assert error_of(lambda: get_grade(servicer, XIAN_REGULATOR, f"enterprises/{outside}/grade")).kind == (
        ErrorKind.PERMISSION_DENIED
    )


def test_risk_list_orders_by_level_then_violation_probability(servicer, engine) -> None:
    # Hysteresis, a hard rule or an override can leave a level whose probability a lower level beats:
    # the level a regulator sees comes first.
    codes = [uscc(n) for n in range(40, 43)]
    for code in codes:
        register(engine, code)
    regrade(engine, codes[0], GradeLevel.D, 0.2)
    regrade(engine, codes[1], GradeLevel.C, 0.5)
    regrade(engine, codes[2], GradeLevel.D, 0.3)
    listed = [e.enterprise.removeprefix("enterprises/") for e in list_risks(servicer, SYSTEM).risk_entries]
    assert listed == [codes[2], codes[0], codes[1]]
    page = list_risks(servicer, SYSTEM, page_size=1)
    after = list_risks(servicer, SYSTEM, page_size=2, page_token=page.next_page_token)
    assert [e.enterprise.removeprefix("enterprises/") for e in after.risk_entries] == [codes[0], codes[1]]


def test_risk_list_orders_by_violation_probability_then_uscc(servicer, engine) -> None:
    codes = [uscc(n) for n in range(10, 16)]
    for code in codes:
        register(engine, code)
    regrade(engine, codes[4], GradeLevel.D, 0.6)
    regrade(engine, codes[2], GradeLevel.C, 0.2)
    expected = [codes[4], codes[2], *sorted(set(codes) - {codes[4], codes[2]})]
    listed = [e.enterprise.removeprefix("enterprises/") for e in list_risks(servicer, SYSTEM).risk_entries]
    assert listed == expected


def test_risk_list_pages_through_ties_without_gaps_or_repeats(servicer, engine) -> None:
    codes = sorted(uscc(n) for n in range(20, 27))
    for code in codes:
        register(engine, code)  # all provisional: equal probabilities, the USCC breaks the tie
    regrade(engine, codes[3], GradeLevel.C, 0.3)
    seen, token = [], ""
    while True:
        page = list_risks(servicer, SYSTEM, page_size=3, page_token=token)
        seen.extend(e.enterprise for e in page.risk_entries)
        token = page.next_page_token
        if not token:
            break
    assert seen == [f"enterprises/{c}" for c in [codes[3], *(c for c in codes if c != codes[3])]]


def test_risk_list_filters(servicer, engine) -> None:
    xian, baoji, retail_xian = uscc(30, "610112"), uscc(31, "610302"), uscc(32, "610113")
    register(engine, xian, region="610112", industry="C4012")
    register(engine, baoji, region="610302", industry="F5265")
    register(engine, retail_xian, region="610113", industry="F5261")
    regrade(engine, xian, GradeLevel.D, 0.7)

    def names(filter_text: str) -> set[str]:
        return {
            e.enterprise.removeprefix("enterprises/")
            for e in list_risks(servicer, SYSTEM, filter=filter_text).risk_entries
        }

    assert names('region_code = "610100"') == {xian, retail_xian}
    assert names('region_code = "610000"') == {xian, baoji, retail_xian}
    assert names('industry_code = "F52"') == {baoji, retail_xian}
    assert names("level = GRADE_LEVEL_D") == {xian}
    assert names('region_code = "610100" AND level = GRADE_LEVEL_B') == {retail_xian}
    assert names("subject_type = SUBJECT_TYPE_TRADE_INSTRUMENT_USER") == {xian, baoji, retail_xian}
    assert names("subject_type = SUBJECT_TYPE_UTILITY") == set()
    # Registration alone grades provisionally; the regrade above is a graded one.
    assert names("provisional = true") == {baoji, retail_xian}
    assert names('provisional = false AND region_code = "610100"') == {xian}


def test_regulator_risk_list_is_scoped_to_their_region(servicer, engine) -> None:
    xian, baoji = uscc(40, "610112"), uscc(41, "610302")
    register(engine, xian, region="610112")
    register(engine, baoji, region="610302")
    listed = list_risks(servicer, XIAN_REGULATOR).risk_entries
    assert [e.enterprise for e in listed] == [f"enterprises/{xian}"]
    assert len(list_risks(servicer, XIAN_REGULATOR, filter='region_code = "610112"').risk_entries) == 1
    error = error_of(lambda: list_risks(servicer, XIAN_REGULATOR, filter='region_code = "610300"'))
    assert error.kind == ErrorKind.PERMISSION_DENIED
    error = error_of(lambda: list_risks(servicer, XIAN_REGULATOR, filter='region_code = "610000"'))
    assert error.kind == ErrorKind.PERMISSION_DENIED


def test_enterprises_cannot_list_risks(servicer) -> None:
    me = Principal("me", Role.ENTERPRISE, uscc=uscc(50))
    assert error_of(lambda: list_risks(servicer, me)).kind == ErrorKind.PERMISSION_DENIED


def test_bad_risk_list_requests(servicer) -> None:
    assert (
        error_of(lambda: list_risks(servicer, SYSTEM, page_size=-1)).field_violations[0].field == "page_size"
    )
    assert (
        error_of(lambda: list_risks(servicer, SYSTEM, filter="level = X")).field_violations[0].field
        == "filter"
    )
    token_error = error_of(lambda: list_risks(servicer, SYSTEM, page_token="nope"))
    assert token_error.field_violations[0].field == "page_token"
