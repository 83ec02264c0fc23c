"""The scorecard: hierarchical categories, reasons per bin, missing values, and its table in a policy."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.scoring.adapters.policy_file import load_policy
from services.scoring.domain.checker import Checker
from services.scoring.domain.scorecard import OTHER, NumericBins, parent_code, render_bin
from services.scoring.domain.scorecard_table import parse_scorecard

TABLE: dict[str, Any] = {
    "version": "scorecard-test",
    "base_points": 500,
    "label": "major_or_worse",
    "features": [
        {
            "feature": "days_since_last_inspection",
            "risk": "increasing",
            "upper_bounds": [30.0, 120.5, math.inf],
            "points": [0, -4, -9],
            "code": "LAST_INSPECTION",
            "text": "Last inspection {bin} days ago.",
            "text_zh": "上次检查在 {bin} 天前。",
        },
        {
            "feature": "industry",
            "categories": {"F5265": -12, "F52": -5, "C": 3},
            "default": 1,
            "hierarchy": [4, 3, 1],
            "labels": {"F52": "retail"},
            "code": "INDUSTRY",
            "text": "Base risk of its industry ({category}).",
            "text_zh": "所属行业（{category}）的基础风险。",
        },
        {
            "feature": "district",
            "categories": {"610100": -2},
            "default": 0,
            "hierarchy": [4],
            "code": "DISTRICT",
            "text": "District {category}.",
            "text_zh": "区县 {category}。",
        },
    ],
}


def scorecard(table: dict[str, Any] = TABLE):  # type: ignore[no-untyped-def]
    check = Checker()
    card = parse_scorecard(check, table)
    assert check.problems == []
    return card


def test_parent_codes_of_industries_and_divisions() -> None:
    assert [parent_code("F5265", n) for n in (4, 3, 1)] == ["F526", "F52", "F"]
    assert parent_code("610112", 4) == "610100"  # a county's city keeps the six digits


@pytest.mark.parametrize(
    ("code", "category", "points"),
    [
        ("F5265", "F5265", -12),  # its own points
        ("F5261", "F52", -5),  # the nearest coarser code with points: its division
        ("C4012", "C", 3),  # its section
        ("H6210", OTHER, 1),  # nothing on the way up: the default
    ],
)
def test_a_code_scores_as_its_nearest_ancestor_with_points(code: str, category: str, points: int) -> None:
    industry = scorecard().characteristics[1]
    assert industry.category_of(code) == category  # type: ignore[union-attr]
    assert industry.points_for(code) == points


def test_reasons_name_the_enterprises_bin_and_category() -> None:
    card = scorecard()
    total, contributions = card.score(
        {"days_since_last_inspection": 45.0, "industry": "F5261", "district": "610112"}
    )
    assert total == 500 - 4 - 5 - 2
    by_feature = {c.feature: c for c in contributions}
    gap = by_feature["days_since_last_inspection"]
    assert (gap.loss, gap.reason.text, gap.reason.text_zh) == (  # type: ignore[union-attr]
        4,
        "Last inspection 30-120 days ago.",
        "上次检查在 30-120 天前。",
    )
    assert by_feature["industry"].reason.text == "Base risk of its industry (retail)."  # type: ignore[union-attr]
    assert by_feature["district"].reason.text == "District 610100."  # type: ignore[union-attr]
    assert [c.feature for c in contributions][:2] == ["industry", "days_since_last_inspection"]


def test_a_missing_value_earns_nothing_and_gives_no_reason() -> None:
    total, contributions = scorecard().score({})
    assert total == 500
    assert all(c.points == 0 and c.loss == 0 and c.reason is None for c in contributions)


def test_bins_in_words() -> None:
    assert render_bin(-math.inf, 30.0) == "below 30"
    assert render_bin(365.0, math.inf) == "365 or more"
    assert render_bin(0.05, 0.25) == "0.05-0.25"
    assert render_bin(365.0, math.inf, chinese=True) == "365 及以上"


def test_cutoffs_and_hierarchy_in_the_table_are_checked() -> None:
    broken = {
        **TABLE,
        "label": "any violation",
        "cutoffs": {"A": 500, "B": 510, "C": 490},
        "features": [{**TABLE["features"][1], "hierarchy": [1, 3]}],
    }
    check = Checker()
    parse_scorecard(check, broken)
    problems = dict(check.problems)
    assert problems["scorecard.label"].startswith("must be one of ['major_or_worse', 'non_compliant']")
    assert problems["scorecard.cutoffs"].startswith("must strictly decrease A > B > C")
    assert problems["scorecard.features[0] (industry).hierarchy"].startswith(
        "must be decreasing positive prefix lengths"
    )


@st.composite
def feature_values(draw: st.DrawFn) -> dict[str, float | str | None]:
    """Values for the policy scorecard's features: missing, numbers around and on the bin bounds, its
    categories, coarser and finer codes of them, unknown ones, and the odd number for a category."""
    values: dict[str, float | str | None] = {}
    for characteristic in load_policy().scorecard.characteristics:
        if isinstance(characteristic, NumericBins):
            bound = st.sampled_from([b for b in characteristic.upper_bounds if b != float("inf")] or [0.0])
            value = draw(
                st.one_of(st.none(), bound, st.floats(-10, 5000, allow_nan=False), st.text(max_size=2))
            )
        else:
            known = [*characteristic.points_by_category, "F5265", "F52", "610112", "610100", "X9"]
            value = draw(st.one_of(st.none(), st.sampled_from(known), st.text(max_size=4), st.floats(0, 3)))
        values[characteristic.feature] = value
    return values


@given(feature_values())
def test_score_and_reasons_agree_with_the_contributions(values: dict[str, float | str | None]) -> None:
    card = load_policy().scorecard
    total, contributions = card.score(values)
    shown = [c.reason for c in contributions if c.loss > 0 and c.reason is not None]
    assert card.score_and_reasons(values) == (total, shown)
    assert card.score_and_reasons(values) == (total, shown)  # again, from the memo of categories
