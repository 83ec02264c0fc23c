"""Registration rules: every field checked, all violations reported with their request paths."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.enterprises.domain.enterprise import (
    EnterpriseDraft,
    parse_enterprise_name,
    register,
    validate_registration,
)
from shared.errors import ErrorKind, IntegrityError
from shared.events import utcnow
from shared.uscc import ALPHABET, with_check_character
from tests.unit.enterprises.fakes import make_draft, make_uscc

TODAY = date(2025, 3, 1)
FIELDS = {
    "enterprise.uscc",
    "enterprise.display_name",
    "enterprise.region_code",
    "enterprise.industry_code",
    "enterprise.subject_type",
    "enterprise.size_class",
    "enterprise.registered_date",
    "request_id",
}


def violations_of(draft: EnterpriseDraft, request_id: str = "") -> dict[str, str]:
    with pytest.raises(IntegrityError) as caught:
        validate_registration(draft, request_id, today=TODAY)
    assert caught.value.kind == ErrorKind.INVALID_ARGUMENT
    return {v.field: v.description for v in caught.value.field_violations}


def test_a_valid_registration_comes_back_in_canonical_form() -> None:
    registration = validate_registration(
        make_draft(display_name="  西安市某某加油站有限公司 ", industry_code="5265"), today=TODAY
    )
    assert registration.display_name == "西安市某某加油站有限公司"
    assert registration.industry_code == "F5265"
    assert registration.registered_date == date(2015, 6, 30)


def test_every_violation_is_reported_at_once() -> None:
    draft = EnterpriseDraft(
        uscc="91610112MA6TXXXX0Y",
        display_name=" ",
        region_code="999999",
        industry_code="A52",
        subject_type=0,
        size_class=42,
        registered_date="2030-01-01",
    )
    assert set(violations_of(draft, "not-a-uuid")) == FIELDS


def test_optional_fields_may_be_empty() -> None:
    registration = validate_registration(make_draft(size_class=0, registered_date=""), today=TODAY)
    assert registration.size_class == 0 and registration.registered_date is None


@given(st.integers(0, 16), st.sampled_from(ALPHABET), st.integers(1, 10**9 - 1))
def test_a_single_changed_character_of_a_valid_uscc_is_caught(position: int, new: str, serial: int) -> None:
    valid = make_uscc(serial)
    changed = valid[:position] + new + valid[position + 1 :]
    if changed == valid:
        return
    assert "enterprise.uscc" in violations_of(make_draft(uscc=changed))


def test_a_changed_check_character_is_caught_with_the_expected_one_named() -> None:
    valid = make_uscc(7)
    wrong = ALPHABET[(ALPHABET.index(valid[-1]) + 1) % len(ALPHABET)]
    description = violations_of(make_draft(uscc=valid[:-1] + wrong))["enterprise.uscc"]
    assert repr(valid[-1]) in description


@pytest.mark.parametrize(
    ("display_name", "words"),
    [
        ("", "required"),
        (" \t ", "required"),
        ("x" * 201, "at most 200"),
        ("某某\x07公司", "control"),
        ("某某\n公司", "control"),
        ("某某\u2028公司", "line breaks"),
    ],
)
def test_display_name_rules(display_name: str, words: str) -> None:
    assert words in violations_of(make_draft(display_name=display_name))["enterprise.display_name"]


def test_display_name_of_200_characters_is_accepted() -> None:
    assert len(validate_registration(make_draft(display_name="公" * 200), today=TODAY).display_name) == 200


@pytest.mark.parametrize(
    ("registered_date", "words"),
    [
        ("2025-03-02", "future"),
        ("1949-09-30", "1949-10-01"),
        ("2020-02-30", "not a calendar date"),
        ("2020/01/01", "YYYY-MM-DD"),
        ("20200101", "YYYY-MM-DD"),
        ("2020-1-1", "YYYY-MM-DD"),
        ("２０２０-01-01", "YYYY-MM-DD"),
    ],
)
def test_registered_date_rules(registered_date: str, words: str) -> None:
    assert words in violations_of(make_draft(registered_date=registered_date))["enterprise.registered_date"]


@pytest.mark.parametrize("registered_date", ["1949-10-01", "2025-03-01", "2024-02-29"])
def test_registered_date_bounds_are_inclusive(registered_date: str) -> None:
    validate_registration(make_draft(registered_date=registered_date), today=TODAY)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"subject_type": 0}, "enterprise.subject_type", "required"),
        ({"subject_type": 99}, "enterprise.subject_type", "not a known"),
        ({"size_class": -1}, "enterprise.size_class", "not a known"),
        ({"region_code": "61011"}, "enterprise.region_code", "six digits"),
        ({"industry_code": "A52"}, "enterprise.industry_code", "section F"),
    ],
)
def test_field_rules(changes: dict[str, object], field: str, words: str) -> None:
    assert words in violations_of(make_draft(**changes))[field]


@pytest.mark.parametrize(
    "request_id", ["abc", "3f1c2a9e8d4b4c6f9a1e2b7d5c0e4f81", "{3f1c2a9e-8d4b-4c6f-9a1e-2b7d5c0e4f81}"]
)
def test_request_id_must_be_a_uuid(request_id: str) -> None:
    assert "UUID" in violations_of(make_draft(), request_id)["request_id"]


@given(
    uscc=st.text(max_size=24),
    display_name=st.text(max_size=210),
    region_code=st.text(max_size=8),
    industry_code=st.text(max_size=6),
    subject_type=st.integers(-(2**31), 2**31 - 1),
    size_class=st.integers(-(2**31), 2**31 - 1),
    registered_date=st.text(max_size=12),
    request_id=st.text(max_size=40),
)
def test_arbitrary_input_is_accepted_or_rejected_as_invalid_argument_never_anything_else(
    uscc: str,
    display_name: str,
    region_code: str,
    industry_code: str,
    subject_type: int,
    size_class: int,
    registered_date: str,
    request_id: str,
) -> None:
    draft = EnterpriseDraft(
        uscc, display_name, region_code, industry_code, subject_type, size_class, registered_date
    )
    try:
        registration = validate_registration(draft, request_id, today=TODAY)
    except IntegrityError as err:
        assert err.kind == ErrorKind.INVALID_ARGUMENT
        assert err.field_violations and {v.field for v in err.field_violations} <= FIELDS
        assert all(v.description for v in err.field_violations)
    else:
        # Whatever passes is canonical: validating it again changes nothing.
        again = EnterpriseDraft(
            registration.uscc,
            registration.display_name,
            registration.region_code,
            registration.industry_code,
            registration.subject_type,
            registration.size_class,
            registration.registered_date.isoformat() if registration.registered_date else "",
        )
        assert validate_registration(again, today=TODAY) == registration


def test_registering_makes_an_active_enterprise_with_an_etag() -> None:
    enterprise = register(validate_registration(make_draft(), today=TODAY), utcnow())
    assert enterprise.status == 1 and enterprise.etag and enterprise.create_time == enterprise.update_time
    assert enterprise.name == f"enterprises/{enterprise.uscc}"


def test_resource_names_parse_to_the_uscc() -> None:
    uscc = make_uscc(3)
    assert parse_enterprise_name(f"enterprises/{uscc}") == uscc


@pytest.mark.parametrize(
    "name",
    [
        "",
        "91610112000000003X",
        "enterprise/x",
        "enterprises/",
        "enterprises/91610112000000003",
        "enterprises/a/b",
    ],
)
def test_malformed_resource_names_are_a_violation_on_name(name: str) -> None:
    with pytest.raises(IntegrityError) as caught:
        parse_enterprise_name(name)
    assert caught.value.kind == ErrorKind.INVALID_ARGUMENT
    assert [v.field for v in caught.value.field_violations] == ["name"]


def test_with_check_character_samples_are_valid() -> None:
    assert validate_registration(make_draft(uscc=with_check_character("91610112MA6TXXXX0")), today=TODAY)
