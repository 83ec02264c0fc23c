"""The one AIP-160 conjunction parser every List method uses."""

from __future__ import annotations

import pytest

from integrity.enterprises.v1 import enterprises_pb2
from shared.errors import IntegrityError
from shared.filtering import enum_value, parse_conjunction

FIELDS = ("region_code", "status", "name")


def test_terms_are_read_with_quotes_and_escapes() -> None:
    text = """region_code = 610100 AND name = "西安 \\"诚信\\" 加油站" AND status='ACTIVE'"""
    assert parse_conjunction(text, FIELDS) == {
        "region_code": "610100",
        "name": '西安 "诚信" 加油站',
        "status": "ACTIVE",
    }
    assert parse_conjunction("   ", FIELDS) == {}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("colour = red", "unknown field 'colour'; filterable fields are region_code, status, name"),
        ("status != ACTIVE", "only '=' is supported"),
        ("status = ACTIVE OR status = SUSPENDED", "OR is not supported"),
        ("NOT status = ACTIVE", "NOT is not supported"),
        ("status = ACTIVE AND", "ends with AND"),
        ("status = ACTIVE status = SUSPENDED", "expected AND between terms"),
        ("status = ACTIVE AND status = SUSPENDED", "appears more than once"),
        ('name = "open', "unterminated string starting at character 8"),
        ("status =", "expected a value after 'status ='"),
    ],
)
def test_what_the_grammar_does_not_allow_is_named(text: str, problem: str) -> None:
    with pytest.raises(IntegrityError) as caught:
        parse_conjunction(text, FIELDS)
    [violation] = caught.value.field_violations
    assert violation.field == "filter"
    assert problem in violation.description


def test_enum_values_with_or_without_prefix_and_never_unspecified() -> None:
    status = enterprises_pb2.EnterpriseStatus
    prefix = "ENTERPRISE_STATUS_"
    assert enum_value("status", "ACTIVE", status, prefix) == enterprises_pb2.ENTERPRISE_STATUS_ACTIVE
    assert enum_value("status", "ENTERPRISE_STATUS_ACTIVE", status, prefix) == 1
    with pytest.raises(IntegrityError, match="status"):
        enum_value("status", "UNSPECIFIED", status, prefix)
