"""ListEnterprises parsing: AIP-160 filter, AIP-158 page size and opaque page tokens."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.enterprises.use_cases.queries import (
    EnterpriseQuery,
    decode_page_token,
    encode_page_token,
    page_size_of,
    parse_filter,
)
from shared.errors import ErrorKind, IntegrityError
from tests.unit.enterprises.fakes import make_uscc


def violation(call, *args) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(IntegrityError) as caught:
        call(*args)
    assert caught.value.kind == ErrorKind.INVALID_ARGUMENT
    [v] = caught.value.field_violations
    return v.field, v.description


@pytest.mark.parametrize(("requested", "size"), [(0, 50), (1, 1), (50, 50), (1000, 1000), (5000, 1000)])
def test_page_size_defaults_to_50_and_is_capped_at_1000(requested: int, size: int) -> None:
    assert page_size_of(requested) == size


def test_negative_page_size_is_a_violation_on_page_size() -> None:
    assert violation(page_size_of, -1)[0] == "page_size"


def test_page_token_round_trips_for_the_same_filter() -> None:
    query = parse_filter('region_code = "610100"')
    token = encode_page_token(make_uscc(9), query)
    assert decode_page_token(token, parse_filter("region_code=610100")) == make_uscc(9)
    assert decode_page_token("", query) is None


def test_page_token_with_another_filter_is_a_violation_on_page_token() -> None:
    token = encode_page_token(make_uscc(9), parse_filter('region_code = "610100"'))
    field, description = violation(decode_page_token, token, parse_filter('region_code = "610200"'))
    assert field == "page_token" and "different filter" in description


@pytest.mark.parametrize(
    "token",
    [
        "garbage!",
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(
            json.dumps({"after": "x", "filter": EnterpriseQuery().fingerprint()}).encode()
        ).decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_forged_page_tokens_are_a_violation_on_page_token(token: str) -> None:
    assert violation(decode_page_token, token, EnterpriseQuery())[0] == "page_token"


@given(st.text(max_size=80))
def test_arbitrary_page_tokens_never_raise_anything_but_invalid_argument(token: str) -> None:
    try:
        decode_page_token(token, EnterpriseQuery())
    except IntegrityError as err:
        assert [v.field for v in err.field_violations] == ["page_token"]


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("", EnterpriseQuery()),
        ("   ", EnterpriseQuery()),
        ('region_code = "610100"', EnterpriseQuery(region_code="610100")),
        ("region_code=610112", EnterpriseQuery(region_code="610112")),
        ("industry_code = 5265", EnterpriseQuery(industry_code="F5265")),
        ("industry_code = 'f52'", EnterpriseQuery(industry_code="F52")),
        ("status = ENTERPRISE_STATUS_ACTIVE", EnterpriseQuery(status=1)),
        ('status = "SUSPENDED"', EnterpriseQuery(status=2)),
        ("subject_type = SUBJECT_TYPE_UTILITY", EnterpriseQuery(subject_type=6)),
        (
            'region_code = "610100" AND status = ENTERPRISE_STATUS_ACTIVE'
            " AND subject_type = MEDICAL_INSTITUTION AND industry_code = Q8411",
            EnterpriseQuery(region_code="610100", status=1, subject_type=5, industry_code="Q8411"),
        ),
    ],
)
def test_filters_parse_to_queries(text: str, query: EnterpriseQuery) -> None:
    assert parse_filter(text) == query


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("name = x", "unknown field 'name'"),
        ("region_code", "expected '='"),
        ("region_code =", "expected a value"),
        ("region_code != 610100", "only '='"),
        ("region_code > 610100", "only '='"),
        ("region_code : 610100", "only '='"),
        ("region_code = 610100 OR status = ACTIVE", "OR is not supported"),
        ("NOT status = ACTIVE", "NOT is not supported"),
        ("region_code = 610100 and status = ACTIVE", "expected AND"),
        ("region_code = 610100 AND", "ends with AND"),
        ("region_code = 610100 status = ACTIVE", "expected AND"),
        ("region_code = 6101", "six digits"),
        ("industry_code = A52", "section F"),
        ("status = 1", "not a value of EnterpriseStatus"),
        ("status = ENTERPRISE_STATUS_UNSPECIFIED", "not a value"),
        ("subject_type = SHOP", "SUBJECT_TYPE_TRADE_INSTRUMENT_USER"),
        ("region_code = 610100 AND region_code = 610200", "more than once"),
        ('region_code = "610100', "unterminated"),
        ("(region_code = 610100)", "expected a field name"),
        ("region_code = (", "expected a value"),
        ("-status = ACTIVE", "expected a field name"),
    ],
)
def test_bad_filters_are_a_violation_on_filter_naming_the_problem(text: str, words: str) -> None:
    field, description = violation(parse_filter, text)
    assert field == "filter" and words in description


@given(st.text(max_size=60))
def test_arbitrary_filters_never_raise_anything_but_invalid_argument(text: str) -> None:
    try:
        parse_filter(text)
    except IntegrityError as err:
        assert [v.field for v in err.field_violations] == ["filter"]


@given(
    st.lists(st.sampled_from(["region_code = 610100", "status = ACTIVE", "industry_code = F52"]), unique=True)
)
def test_equivalent_filters_share_page_tokens(terms: list[str]) -> None:
    forwards, backwards = " AND ".join(terms), "  AND  ".join(reversed(terms))
    token = encode_page_token(make_uscc(1), parse_filter(forwards))
    assert decode_page_token(token, parse_filter(backwards)) == make_uscc(1)
