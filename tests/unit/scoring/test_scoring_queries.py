"""Risk-list request parsing: filter grammar, page size and page tokens."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.scoring.domain.grades import GradeLevel
from services.scoring.domain.risk_list import RiskCursor, RiskFilter
from services.scoring.use_cases.queries import (
    decode_page_token,
    encode_page_token,
    page_size_of,
    parse_filter,
)
from shared.errors import ErrorKind, IntegrityError


def violation_of(call) -> tuple[str, str]:
    with pytest.raises(IntegrityError) as caught:
        call()
    assert caught.value.kind == ErrorKind.INVALID_ARGUMENT
    [violation] = caught.value.field_violations
    return violation.field, violation.description


def test_empty_filter_means_everything() -> None:
    assert parse_filter("") == RiskFilter()
    assert parse_filter("   ") == RiskFilter()


def test_full_filter() -> None:
    parsed = parse_filter('region_code = "610100" AND industry_code = "5265" AND level = GRADE_LEVEL_D')
    assert parsed == RiskFilter(region_code="610100", industry_code="F5265", level=GradeLevel.D)


def test_subject_type_filter() -> None:
    parsed = parse_filter("subject_type = SUBJECT_TYPE_UTILITY AND level = GRADE_LEVEL_C")
    assert parsed == RiskFilter(level=GradeLevel.C, subject_type="SUBJECT_TYPE_UTILITY")
    assert parsed.canonical() == "level = GRADE_LEVEL_C AND subject_type = SUBJECT_TYPE_UTILITY"
    with pytest.raises(IntegrityError) as caught:
        parse_filter("subject_type = SUBJECT_TYPE_UNSPECIFIED")
    assert "must be one of SUBJECT_TYPE_TRADE_INSTRUMENT_USER" in str(caught.value.field_violations)


def test_spacing_quotes_and_order_do_not_matter() -> None:
    assert parse_filter("level=GRADE_LEVEL_A AND region_code=610112") == parse_filter(
        "region_code = '610112'   AND   level = \"GRADE_LEVEL_A\""
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("score = 5", "unknown field 'score'"),
        ("level > GRADE_LEVEL_B", "only '=' is supported"),
        ('region_code = "610100" OR level = GRADE_LEVEL_D', "OR is not supported"),
        ("level = GRADE_LEVEL_A AND", "ends with AND"),
        ("level = GRADE_LEVEL_A AND level = GRADE_LEVEL_B", "appears more than once"),
        ("level = D", "must be one of GRADE_LEVEL_A, GRADE_LEVEL_B, GRADE_LEVEL_C, GRADE_LEVEL_D"),
        ("level = GRADE_LEVEL_UNSPECIFIED", "must be one of"),
        ('region_code = "6101"', "must be six digits"),
        ('industry_code = "Z99"', "industry_code 'Z99'"),
        ("= 5", "expected a field name"),
        ("level = GRADE_LEVEL_A level = GRADE_LEVEL_B", "expected AND"),
    ],
)
def test_bad_filters_name_the_problem(text: str, expected: str) -> None:
    field, description = violation_of(lambda: parse_filter(text))
    assert field == "filter"
    assert expected in description


def test_page_size() -> None:
    assert page_size_of(0) == 50
    assert page_size_of(7) == 7
    assert page_size_of(5000) == 1000
    field, description = violation_of(lambda: page_size_of(-1))
    assert field == "page_size" and "negative" in description


@given(
    st.floats(min_value=0, max_value=1, allow_nan=False),
    st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=18, max_size=18),
)
def test_page_token_round_trips(probability: float, code: str) -> None:
    risk_filter = RiskFilter(region_code="610100", level=GradeLevel.C)
    token = encode_page_token(RiskCursor(3, probability, code), risk_filter)
    assert decode_page_token(token, risk_filter) == RiskCursor(3, probability, code)


def test_page_token_is_bound_to_its_filter() -> None:
    token = encode_page_token(RiskCursor(2, 0.5, "X"), parse_filter('region_code = "610100"'))
    # The same filter spelt differently still matches ...
    assert decode_page_token(token, parse_filter("region_code=610100")) == RiskCursor(2, 0.5, "X")
    # ... a different one does not.
    field, description = violation_of(
        lambda: decode_page_token(token, parse_filter('region_code = "610200"'))
    )
    assert field == "page_token" and "different filter" in description


@pytest.mark.parametrize("token", ["garbage!", "e30", "bm90IGpzb24"])
def test_foreign_page_tokens_are_rejected(token: str) -> None:
    field, description = violation_of(lambda: decode_page_token(token, RiskFilter()))
    assert field == "page_token" and "not a token this service issued" in description
