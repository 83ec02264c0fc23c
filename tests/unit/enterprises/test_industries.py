"""GB/T 4754-2017 industry codes: structure, section ranges, canonical form."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.industries import (
    SECTION_DIVISIONS,
    industry_problem,
    is_valid_industry,
    normalize_industry,
    section_of,
)


@pytest.mark.parametrize(
    ("code", "canonical"),
    [
        ("F5265", "F5265"),  # 机动车燃油零售
        ("5265", "F5265"),
        ("f5265", "F5265"),
        ("F52", "F52"),
        ("526", "F526"),
        ("0111", "A0111"),  # 稻谷种植
        ("A05", "A05"),
        ("0610", "B0610"),  # class = group + 0 when a group is not subdivided
        ("C4011", "C4011"),
        ("4411", "D4411"),
        ("K7010", "K7010"),
        ("8411", "Q8411"),
        ("T97", "T97"),
    ],
)
def test_valid_codes_normalize_to_letter_and_digits(code: str, canonical: str) -> None:
    assert industry_problem(code) is None
    assert normalize_industry(code) == canonical
    assert section_of(code) == canonical[0]


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("", "required"),
        ("5", "2-4 digits"),
        ("52655", "2-4 digits"),
        ("F", "2-4 digits"),
        ("F 52", "2-4 digits"),
        ("52a", "2-4 digits"),
        ("５２", "2-4 digits"),  # full-width digits are not GB/T 4754 codes
        ("U01", "not a section"),
        ("A52", "belongs to section F"),
        ("C05", "belongs to section A"),
        ("00", "does not exist"),
        ("98", "does not exist"),
        ("5205", "group digit"),
        ("FF52", "2-4 digits"),
    ],
)
def test_invalid_codes_say_why(code: str, words: str) -> None:
    problem = industry_problem(code)
    assert problem is not None and words in problem
    with pytest.raises(ValueError):
        normalize_industry(code)


@given(st.integers(1, 97), st.text("0123456789", max_size=2))
def test_every_division_belongs_to_the_section_whose_range_holds_it(division: int, rest: str) -> None:
    digits = f"{division:02d}{rest}"
    if len(digits) >= 3 and digits[2] == "0":
        assert industry_problem(digits) is not None
        return
    letter = section_of(digits)
    first, last = SECTION_DIVISIONS[letter]
    assert first <= division <= last
    assert normalize_industry(digits) == letter + digits
    assert normalize_industry(letter.lower() + digits) == letter + digits
    for other in set(SECTION_DIVISIONS) - {letter}:
        assert industry_problem(other + digits) is not None


@given(st.text(max_size=8))
def test_arbitrary_text_never_raises_and_normalizing_is_idempotent(code: str) -> None:
    if industry_problem(code) is None:
        canonical = normalize_industry(code)
        assert is_valid_industry(canonical) and normalize_industry(canonical) == canonical
    else:
        with pytest.raises(ValueError):
            normalize_industry(code)
